"""The instructor's playground, in-process: change its settings from Python as the page
would, and check the cluster its dashboard shows. No browser
(tests/browser/test_voila_browser.py drives it in Voila)."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("jupyter_bokeh")

import ipywidgets as widgets

import luminous_edu as le
from luminous_edu.exercises.lesson03 import figure8
from luminous_edu.sim.scenarios import bug_scenario
from luminous_edu.viz.playground import PLAYGROUND_PANELS, SCENARIOS, Playground


@pytest.fixture(scope="module")
def shared() -> Playground:
    return Playground()  # building the dashboard's views costs ~1 s


@pytest.fixture
def playground(shared: Playground) -> Playground:
    """The shared playground, back on a fresh 5-server cluster with seed 7."""
    shared.load("fresh", servers=5, seed=7)
    return shared


def stage_buttons(playground: Playground) -> dict[str, Any]:
    return {b.description: b for b in playground.stages.children if isinstance(b, widgets.Button)}


def test_it_starts_on_a_fresh_cluster_with_the_servers_tab_open(playground: Playground) -> None:
    cluster = playground.cluster
    assert (list(cluster.servers), cluster.step_count) == ([1, 2, 3, 4, 5], 0)
    assert cluster.trace_digest() == le.Cluster(servers=5, seed=7).trace_digest()
    dashboard = playground.dashboard
    assert dashboard.panels == PLAYGROUND_PANELS and dashboard.panels[0] == "servers"
    assert sorted(PLAYGROUND_PANELS) == sorted(le.viz.dashboard.PANELS)
    assert playground.dashboard.projector and "luminous-projector" in playground._dom_classes
    assert stage_buttons(playground) == {}  # a new cluster: Reset is its start


def test_the_seed_box_starts_a_new_run_with_that_seed(playground: Playground) -> None:
    playground.dashboard.on_step()
    playground.seed.value = 8  # as the page sends it
    cluster = playground.cluster
    assert cluster.step_count == 0 and playground.shown == ("fresh", 5, 8)
    expected = le.Cluster(servers=5, seed=8)
    cluster.step()
    expected.step()
    assert cluster.trace_digest() == expected.trace_digest()
    assert "step 1 " not in playground.dashboard.status.value  # shown: step 0


def test_the_servers_box_changes_the_number_of_servers(playground: Playground) -> None:
    playground.servers.value = 3
    assert list(playground.cluster.servers) == [1, 2, 3]
    assert playground.dashboard.ids == [1, 2, 3]
    assert [r for r in playground.dashboard.sources["servers"].data["id"]] == [1, 2, 3]


def test_every_scenario_builds_and_shows_its_cluster(playground: Playground) -> None:
    for key, scenario in SCENARIOS.items():
        playground.scenario.value = key
        assert playground.notice.value == "", (key, playground.notice.value)
        assert playground.shown[0] == key
        assert playground.dashboard.cluster is playground.built.cluster
        assert playground.servers.disabled is not scenario.servers, key
        assert playground.seed.disabled is not scenario.seed, key
        assert scenario.about[:40] in playground.about.value.replace("&#x27;", "'"), key
        assert list(stage_buttons(playground)) == list(playground.built.stages), key


def test_figure_8_goes_to_its_panels(playground: Playground) -> None:
    playground.scenario.value = "figure8"
    expected = figure8("d", 7)
    assert playground.cluster.trace_digest() == expected.cluster.trace_digest()
    buttons = stage_buttons(playground)
    assert list(buttons) == ["(a)", "(b)", "(c)", "(d)"]
    buttons["(c)"].click()
    assert playground.cluster.step_count == expected.stages["(c)"]
    assert "step " + str(expected.stages["(c)"]) in playground.dashboard.status.value
    buttons["(d)"].click()  # forward again: the recorded future
    assert playground.cluster.step_count == expected.stages["(d)"]
    playground.go_to("(a)")
    assert playground.cluster.step_count == expected.stages["(a)"]
    with pytest.raises(ValueError, match=r"this scenario has \['\(a\)'"):
        playground.go_to("(z)")


def test_a_storage_bug_is_the_galleries_scenario(playground: Playground) -> None:
    playground.scenario.value = "bug:ForgetsVote"
    assert playground.cluster.trace_digest() == bug_scenario("ForgetsVote").trace_digest()
    assert playground.cluster.violations  # two leaders in one term
    assert "sets its own servers and seed" in playground.about.value


def test_a_setting_that_cannot_work_says_why_and_keeps_the_run(playground: Playground) -> None:
    playground.scenario.value = "partition"
    before = playground.cluster
    playground.servers.value = 2
    assert playground.cluster is before
    assert "at least 3 servers" in playground.notice.value
    assert playground.servers.value == 5 and playground.shown == ("partition", 5, 7)
    playground.seed.value = 9  # the next good setting clears the message
    assert playground.notice.value == "" and playground.shown == ("partition", 5, 9)


def test_the_dashboards_own_controls_act_on_the_scenarios_cluster(
    playground: Playground,
) -> None:
    playground.scenario.value = "leader"
    leader = playground.cluster.leader
    assert leader is not None
    playground.dashboard._on_server("crash", leader)
    assert not playground.cluster.servers[leader].alive
    playground.dashboard.on_reset()
    assert playground.cluster.step_count == 0
    stage_buttons(playground)["the situation"].click()
    assert playground.cluster.servers[leader].alive  # the crash forked; the story replays


def test_bad_arguments_are_refused_with_what_to_do() -> None:
    with pytest.raises(ValueError, match=r"scenario='nope': choose one of \['fresh'"):
        Playground("nope")
    with pytest.raises(ValueError, match="servers=0: give a whole number from 1 to 9"):
        Playground(servers=0)
    with pytest.raises(ValueError, match="seed=-1"):
        Playground(seed=-1)


def test_displaying_it_loads_bokehjs_first(
    playground: Playground, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython.display

    shown: list[dict[str, Any]] = []
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw: shown.append(bundle))
    playground._ipython_display_()
    assert "luminous_edu/bokehjs" in shown[0]["application/javascript"]
    assert shown[1]["application/vnd.jupyter.widget-view+json"]["model_id"] == playground.model_id
