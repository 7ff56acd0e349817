"""The dashboard widget, in-process: press its buttons from Python and check the
cluster and the bokeh data sources. No browser (tests/test_browser_* does that)."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from typing import Any

import pytest

pytest.importorskip("jupyter_bokeh")

import ipywidgets as widgets
from bokeh.models import ColumnDataSource

import luminous_edu as le
from luminous_edu.viz import viewmodels as vm
from luminous_edu.viz.dashboard import Dashboard


def find(widget: Any, kind: type, **attrs: Any) -> list[Any]:
    found = []
    if isinstance(widget, kind) and all(getattr(widget, k, None) == v for k, v in attrs.items()):
        found.append(widget)
    for child in getattr(widget, "children", ()):
        found.extend(find(child, kind, **attrs))
    return found


def button(dashboard: Dashboard, description: str) -> Any:
    (found,) = find(dashboard, widgets.Button, description=description)
    return found


def source(dashboard: Dashboard, name: str) -> ColumnDataSource:
    found = dashboard.sources[name]
    (same,) = dashboard.models[view_of(dashboard, name)]._model.select({"name": name})
    assert same is found
    return found


def view_of(dashboard: Dashboard, source_name: str) -> str:
    return next(n for n, v in dashboard.views.items() if source_name in v.sources)


def open_panel(dashboard: Dashboard, name: str) -> None:
    dashboard.tabs.selected_index = dashboard.panels.index(name)


def rows(dashboard: Dashboard, name: str) -> list[dict[str, Any]]:
    data = source(dashboard, name).data
    return [dict(zip(data, values, strict=True)) for values in zip(*data.values(), strict=True)]


def status(dashboard: Dashboard) -> str:
    return str(dashboard.status.value)


@pytest.fixture(scope="module")
def shared() -> Dashboard:
    """One dashboard for many tests, every tab's controls built (as if each was opened
    once; the tests press their buttons from Python)."""
    board = le.Dashboard(le.Cluster(servers=5, seed=7))
    for name in board.panels:
        board._ensure_panel(name)
    return board


@pytest.fixture
def dashboard(shared: Dashboard) -> Dashboard:
    """A dashboard showing a fresh cluster (building one costs ~1 s of bokeh)."""
    shared.attach(le.Cluster(servers=5, seed=7))
    shared.tabs.selected_index = 0
    shared.groups.value = ""
    return shared


def test_the_stable_names(dashboard: Dashboard) -> None:
    assert isinstance(dashboard, widgets.Box)
    for name in ("Step", "Back", "Run", "Reset"):
        button(dashboard, name)
    for name in ("servers", "timers", "log", "messages", "terms", "commits", "clock"):
        assert isinstance(source(dashboard, name), ColumnDataSource)
    assert "step 0" in status(dashboard) and "t=0 ms" in status(dashboard)
    assert len(rows(dashboard, "servers")) == 5


def test_the_css_classes_for_tests_outside(dashboard: Dashboard) -> None:
    assert "luminous-dashboard" in dashboard._dom_classes
    for part, widget in (
        ("controls", find(dashboard, widgets.HBox)[0]),
        ("status", dashboard.status),
        ("ring", dashboard.models["ring"]),
        ("log", dashboard.models["log"]),
        ("narration", dashboard.narration),
    ):
        assert f"luminous-{part}" in widget._dom_classes, part
    (controls,) = [
        w for w in find(dashboard, widgets.HBox) if "luminous-controls" in w._dom_classes
    ]
    assert button(dashboard, "Step") in controls.children


def test_panels_are_chosen_and_their_plots_built_when_first_opened() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    board = le.Dashboard(cluster, panels=["safety", "spacetime", "manual"])
    assert [board.tabs.get_title(k) for k in range(3)] == ["Safety", "Space-time", "Manual"]
    assert list(board.views) == ["ring", "log"]  # the Safety tab is open: no more plots
    assert "terms" not in board.sources
    # The other tabs' controls are built when first opened, not before.
    assert board._built == {"safety"} and board.panel_boxes["manual"].children == ()
    open_panel(board, "manual")
    assert board._built == {"safety", "manual"} and board.pending.options
    for _ in range(30):
        board.on_step()
    open_panel(board, "spacetime")
    assert list(board.views) == ["ring", "log", "spacetime"]
    assert exact(board)
    with pytest.raises(ValueError, match=r"unknown \['clock'\]"):
        le.Dashboard(cluster, panels=["clock"])
    with pytest.raises(ValueError, match="at most once"):
        le.Dashboard(cluster, panels=["safety", "safety"])
    with pytest.raises(ValueError, match="give a list of panel names"):
        le.Dashboard(cluster, panels="timelines")
    assert le.Dashboard(cluster, panels=[]).children[-1] is not None  # no tabs at all


def test_a_hidden_panel_is_not_updated_and_catches_up_when_shown(dashboard: Dashboard) -> None:
    open_panel(dashboard, "safety")  # the timelines are hidden now
    terms = dashboard.sources["terms"]
    before = dict(terms.data)
    for _ in range(40):
        button(dashboard, "Step").click()
    assert dict(terms.data) == before and "timelines" in dashboard._stale
    open_panel(dashboard, "timelines")
    assert "timelines" not in dashboard._stale
    assert exact(dashboard)


def sorted_rows(data: dict[str, list[Any]]) -> list[tuple[Any, ...]]:
    """A source's rows without blank slots (line, text or fill invisible), sorted."""
    table = [dict(zip(data, values, strict=True)) for values in zip(*data.values(), strict=True)]
    blank = [
        r
        for r in table
        if r.get("status") == "" or r.get("line_alpha") == 0 or (r.get("alpha") == 0 and "x0" in r)
    ]
    return sorted(tuple(sorted(r.items())) for r in table if r not in blank)


def exact(board: Dashboard) -> bool:
    """Everything ``board`` shows equals what a dashboard built now on the same cluster
    (with the same tab open) shows: data (blank slots aside), ranges, the header."""
    twin = le.Dashboard(board.cluster, panels=board.panels, projector=board.projector)
    twin._on_log_width("inner_width", None, board._log_cells * board.sizes.log_cell)
    if board.open_panel is not None:
        open_panel(twin, board.open_panel)
    problems = []
    for name in board._visible():
        for source_name, source in board.views[name].sources.items():
            if source_name == "clock":
                continue  # its jump counter differs by construction
            mine, theirs = sorted_rows(source.data), sorted_rows(twin.sources[source_name].data)
            if mine != theirs:
                problems.append(f"{source_name}: {len(mine)} rows, a fresh board {len(theirs)}")
        for range_name, shown in board.views[name].ranges.items():
            fresh = twin.views[name].ranges[range_name]
            if (shown.start, shown.end) != (fresh.start, fresh.end):
                problems.append(
                    f"range {range_name}: {shown.start}..{shown.end}, fresh "
                    f"{fresh.start}..{fresh.end}"
                )
    if board.status.value != twin.status.value:
        problems.append(f"status {board.status.value} != {twin.status.value}")
    twin.close()
    assert not problems, problems
    return True


def test_cluster_show_is_the_dashboard_and_projector_mode_is_larger(
    dashboard: Dashboard,
) -> None:
    shown = le.Cluster(servers=5, seed=7).show(projector=True)
    assert isinstance(shown, Dashboard) and shown.projector
    assert "luminous-projector" in shown._dom_classes
    assert "luminous-projector" not in dashboard._dom_classes
    for size in ("small", "normal", "large"):
        assert int(getattr(shown.sizes, size)[:-2]) > int(getattr(dashboard.sizes, size)[:-2])
    # Every widget font too (tabs, slider labels, the pending list): a CSS variable.
    (style,) = [w for w in shown.children if "<style>" in getattr(w, "value", "")]
    assert "--jp-widgets-font-size: 18px" in style.value and ".lm-TabBar-tab" in style.value


def test_attach_another_size_builds_new_plots(dashboard: Dashboard) -> None:
    old = dashboard.bokeh
    dashboard.attach(le.Cluster(servers=3, seed=2))
    assert dashboard.ids == [1, 2, 3] and dashboard.bokeh is not old
    assert dashboard.bokeh in dashboard.picture.children
    assert old not in dashboard.picture.children and old._closed
    assert [r["name"] for r in rows(dashboard, "servers")] == ["S1", "S2", "S3"]
    with pytest.raises(TypeError, match=r"needs a le\.Cluster"):
        dashboard.attach("not a cluster")  # type: ignore[arg-type]


def test_step_moves_the_cluster_and_the_sources(dashboard: Dashboard) -> None:
    cluster = dashboard.cluster
    for _ in range(25):
        button(dashboard, "Step").click()
    assert cluster.step_count == 25
    assert "step 25" in status(dashboard) and f"t={cluster.now} ms" in status(dashboard)
    assert {r["id"]: r["term"] for r in rows(dashboard, "servers")} == {
        i: cluster.servers[i].current_term for i in cluster.servers
    }
    shown = {r["id"] for r in rows(dashboard, "messages") if r["alpha"] > 0}
    assert shown == {e.id for e in cluster.pending() if e.kind == "deliver"}
    assert dashboard.slider.value == 25 and dashboard.slider.max == 25


def test_back_then_step_replays_the_same_future(dashboard: Dashboard) -> None:
    cluster = dashboard.cluster
    for _ in range(40):
        button(dashboard, "Step").click()
    after = rows(dashboard, "servers"), cluster.trace_digest()
    button(dashboard, "Back").click()
    assert cluster.step_count == 39 and "step 39" in status(dashboard)
    button(dashboard, "Step").click()
    assert cluster.step_count == 40
    assert (rows(dashboard, "servers"), cluster.trace_digest()) == after


def test_log_source_matches_the_cluster(dashboard: Dashboard) -> None:
    cluster = dashboard.cluster
    cluster.run_until(lambda c: c.leader is not None, 5000)
    dashboard.refresh()
    dashboard.request.value = "x=1"
    button(dashboard, "Propose").click()
    assert "Accepted at index 2" in dashboard.last_notice
    for _ in range(30):
        button(dashboard, "Step").click()
    shown = {(r["server"], r["index"]): r for r in rows(dashboard, "log") if r["line_alpha"]}
    assert shown == vm.log_rows(cluster)


def test_reset_goes_back_to_step_0(dashboard: Dashboard) -> None:
    for _ in range(10):
        button(dashboard, "Step").click()
    full = dashboard.updates["full"]
    button(dashboard, "Reset").click()
    assert dashboard.cluster.step_count == 0 and "step 0" in status(dashboard)
    assert dashboard.updates["full"] == full + 1
    assert rows(dashboard, "log") == []


def test_a_step_sends_patches_and_streams_not_replacements(dashboard: Dashboard) -> None:
    for _ in range(5):
        button(dashboard, "Step").click()
    sent: Counter[str] = Counter()

    def counting(original: Any, event: Any) -> None:
        sent.update([type(event).__name__])
        original(event)

    for model in dashboard.models.values():  # what reaches the browser, by kind
        model._document_patched = functools.partial(counting, model._document_patched)
    full = dashboard.updates["full"]
    button(dashboard, "Step").click()
    assert dashboard.updates["full"] == full
    assert sent["ColumnsPatchedEvent"] + sent["ColumnsStreamedEvent"] >= 1
    assert sent["ColumnsPatchedEvent"] <= len(dashboard.sources)
    assert sent["ColumnsStreamedEvent"] <= len(dashboard.sources)
    assert sent["ColumnDataChangedEvent"] == 0
    button(dashboard, "Back").click()  # a history jump: whole replacements
    shown = [s for v in dashboard._visible() for s in dashboard.views[v].sources]
    assert sent["ColumnDataChangedEvent"] == len(shown)


def test_a_step_that_only_passes_time_leaves_the_servers_source_alone(
    dashboard: Dashboard,
) -> None:
    """The draining election timers have a source of their own: a heartbeat step moves
    the timer bars and leaves the servers' row (seven glyphs, text among them) as is."""
    cluster = dashboard.cluster
    cluster.run_until(lambda c: c.leader is not None, 5000)
    cluster.run(100)
    dashboard.refresh()
    button(dashboard, "Step").click()  # the update after a refresh replaces everything
    patched: Counter[str] = Counter()
    send = dashboard._send_table

    def spy(name: str, table: Any, jump: bool) -> None:
        mirror = dashboard.mirrors[name]
        before = mirror.table()
        send(name, table, jump)
        if mirror.table() != before:
            patched[name] += 1

    dashboard._send_table = spy  # type: ignore[method-assign]
    try:
        quiet = 0
        for _ in range(40):
            before = rows(dashboard, "servers")
            timers_before = rows(dashboard, "timers")
            patched.clear()
            button(dashboard, "Step").click()
            if rows(dashboard, "servers") == before:
                assert patched["servers"] == 0
                if rows(dashboard, "timers") != timers_before:
                    quiet += 1
                    assert patched["timers"] == 1
    finally:
        del dashboard._send_table
    assert quiet >= 5, "expected heartbeat steps that only move the timers"
    for row in rows(dashboard, "timers"):
        truth = vm.timer_rows(cluster)[row["id"]]
        assert row == truth


def test_per_step_cost_does_not_grow_with_the_log(dashboard: Dashboard) -> None:
    """Bytes sent by one step with a short and a long log: patch, do not resend."""

    def bytes_per_step(entries: int) -> float:
        cluster = le.Cluster(servers=5, seed=1, checks=False)
        cluster.run_until(lambda c: c.leader is not None, 5000)
        for n in range(entries):
            cluster.propose(n)
            if n % 50 == 0:
                cluster.run(20)
        cluster.run(500)
        dashboard.attach(cluster)
        before = sum(m.bytes_sent for m in dashboard.models.values())
        for _ in range(20):
            dashboard.on_step()
        return (sum(m.bytes_sent for m in dashboard.models.values()) - before) / 20

    short, long = bytes_per_step(20), bytes_per_step(2000)
    assert long < 2 * short + 500


@pytest.mark.parametrize(("press", "expected"), [("restart S1", "S1 is running")])
def test_control_errors_are_shown_not_raised(
    dashboard: Dashboard, press: str, expected: str
) -> None:
    steps = dashboard.cluster.step_count
    dashboard.server_buttons[(int(press[-1]), press.split()[0])].click()
    assert expected in dashboard.last_notice
    assert dashboard.cluster.step_count == steps


def test_connecting_a_connected_server_does_nothing(dashboard: Dashboard) -> None:
    """DESIGN.md: "connect(i) / disconnect(i) of a server already in that state do
    nothing" (it raised before issue 13)."""
    steps = dashboard.cluster.step_count
    dashboard.server_buttons[(2, "connect")].click()
    assert dashboard.cluster.step_count == steps
    assert dashboard.cluster.disconnected == frozenset()


def test_crash_twice_shows_an_error(dashboard: Dashboard) -> None:
    dashboard.server_buttons[(3, "crash")].click()
    assert not dashboard.cluster.servers[3].alive
    assert {r["id"]: r["role"] for r in rows(dashboard, "servers")}[3] == "down"
    dashboard.server_buttons[(3, "crash")].click()
    assert "cannot crash S3" in dashboard.last_notice
    dashboard.server_buttons[(3, "restart")].click()
    assert dashboard.cluster.servers[3].alive and dashboard.last_notice == ""


def test_partition_heal_and_network_controls(dashboard: Dashboard) -> None:
    dashboard.groups.value = "1,2 | 3,4,5"
    button(dashboard, "Partition").click()
    cut = {(r["a"], r["b"]) for r in rows(dashboard, "links") if r["cut"]}
    assert (1, 3) in cut and (1, 2) not in cut
    dashboard.groups.value = "1,2 | 2"
    button(dashboard, "Partition").click()
    assert "S2 is in two partition groups" in dashboard.last_notice
    button(dashboard, "Heal").click()
    assert not any(r["cut"] for r in rows(dashboard, "links"))
    dashboard.drop_rate.value = 0.25
    dashboard.delay.value = (10, 40)
    button(dashboard, "Apply network").click()
    assert dashboard.cluster.network == le.Network(delay_ms=(10, 40), drop_rate=0.25)


def test_the_network_tab_shows_the_attached_clusters_network(dashboard: Dashboard) -> None:
    lossy = le.Network(delay_ms=(20, 60), drop_rate=0.3, duplicate_rate=0.1)
    dashboard.attach(le.Cluster(servers=5, seed=7, network=lossy))
    assert (tuple(dashboard.delay.value), dashboard.drop_rate.value) == ((20, 60), 0.3)
    assert dashboard.duplicate_rate.value == 0.1
    button(dashboard, "Apply network").click()  # applying what it shows changes nothing
    assert dashboard.cluster.network == lossy
    dashboard.attach(le.Cluster(servers=5, seed=7))
    assert (tuple(dashboard.delay.value), dashboard.drop_rate.value) == ((5, 15), 0.0)


def test_timeout_and_proposal_without_leader(dashboard: Dashboard) -> None:
    button(dashboard, "Propose").click()
    assert "Not accepted" in dashboard.last_notice
    dashboard.server_buttons[(4, "timeout")].click()
    assert dashboard.cluster.servers[4].role is le.Role.CANDIDATE
    assert {r["id"]: r["votes"] for r in rows(dashboard, "servers")}[4] == 1


def test_manual_mode_fires_and_drops_the_chosen_event(dashboard: Dashboard) -> None:
    cluster = dashboard.cluster
    dashboard.server_buttons[(2, "timeout")].click()
    open_panel(dashboard, "manual")
    options = dict((v, k) for k, v in dashboard.pending.options)
    assert set(options) == {e.id for e in cluster.pending()}
    messages = [e for e in cluster.pending() if e.kind == "deliver"]
    dashboard.pending.value = messages[-1].id
    button(dashboard, "Fire").click()
    assert messages[-1].id not in {e.id for e in cluster.pending()}
    dashboard.pending.value = messages[0].id
    button(dashboard, "Drop").click()
    assert "USER.drop" in {e.rule for e in cluster.trace}
    timer = next(e for e in cluster.pending() if e.kind != "deliver")
    dashboard.pending.value = timer.id
    button(dashboard, "Drop").click()
    # The error shows next to the Drop button, in the Manual tab, not far above it.
    assert "not a message" in dashboard.last_notice
    assert "not a message" in dashboard.notice_of("manual")
    assert dashboard.notice_of("main") == ""


def test_the_slider_scrubs_through_history(dashboard: Dashboard) -> None:
    for _ in range(30):
        button(dashboard, "Step").click()
    dashboard.slider.value = 10
    assert dashboard.cluster.step_count == 10 and "step 10" in status(dashboard)
    dashboard.slider.value = 30
    assert dashboard.cluster.step_count == 30


def test_run_without_an_event_loop_explains_itself(dashboard: Dashboard) -> None:
    button(dashboard, "Run").click()
    assert "event loop" in dashboard.last_notice


def test_run_and_pause_in_an_event_loop(dashboard: Dashboard) -> None:
    async def play() -> None:
        button(dashboard, "Run").click()
        assert dashboard.run_button.description == "Pause"
        await asyncio.sleep(0.3)
        button(dashboard, "Pause").click()

    asyncio.run(play())
    assert dashboard.run_button.description == "Run"
    assert dashboard.cluster.now > 0
    assert dashboard.cluster.now <= 200 * 0.3 + 60  # speed 200 virtual ms per second


def play_for(dashboard: Dashboard, seconds: float, browser: Any = None) -> list[float]:
    """Run for ``seconds`` (with ``browser``, a coroutine acting as the page, beside it);
    returns the real seconds each tick folded."""
    folded: list[float] = []
    tick = dashboard.tick

    def counting_tick(elapsed: float) -> int:
        folded.append(elapsed)
        return tick(elapsed)

    async def play() -> None:
        helper = asyncio.ensure_future(browser()) if browser else None
        dashboard.on_run()
        await asyncio.sleep(seconds)
        dashboard.pause()
        if helper is not None:
            helper.cancel()

    dashboard.tick = counting_tick  # type: ignore[method-assign]
    try:
        asyncio.run(play())
    finally:
        del dashboard.tick
    return folded


def test_run_without_a_browser_view_keeps_its_beat(dashboard: Dashboard) -> None:
    assert dashboard.bokeh is not None and not dashboard.bokeh.heard_from_browser
    folded = play_for(dashboard, 0.5)
    # 25 updates per second at most, and nothing to wait for: about 12 in 0.5 s (fewer
    # on a loaded machine, but more than the window a waiting loop would stop at).
    assert 3 <= len(folded) <= 14


def test_run_waits_for_the_browser_to_acknowledge_updates(dashboard: Dashboard) -> None:
    """Backpressure: a browser that applies an update every 0.15 s gets about that many,
    at most MAX_UPDATES_IN_FLIGHT ahead of it, each folding more simulated time."""
    from luminous_edu.viz.dashboard import MAX_UPDATES_IN_FLIGHT

    bokeh = dashboard.bokeh
    assert bokeh is not None
    acks = []

    async def slow_browser() -> None:
        while True:
            await asyncio.sleep(0.15)
            if bokeh.render_sent > bokeh.render_applied:
                number = bokeh.render_applied + 1
                acks.append(number)
                bokeh._sync_model(bokeh, applied_echo(dashboard, number), [])

    bokeh.heard_from_browser = True
    try:
        folded = play_for(dashboard, 0.9, slow_browser)
    finally:
        bokeh.resync()
    assert bokeh.track_renders is False  # Pause stops tagging
    # Without waiting: ~22 updates. With it: the acks, plus the window ahead of them.
    assert len(folded) <= len(acks) + MAX_UPDATES_IN_FLIGHT
    assert len(folded) <= 10
    # Simulated time is not lost: later updates fold more than one beat of real time.
    assert max(folded[MAX_UPDATES_IN_FLIGHT:]) > 0.1


def test_run_stops_waiting_for_a_browser_that_went_silent(
    dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    from luminous_edu.viz import dashboard as module

    monkeypatch.setattr(module, "BROWSER_TIMEOUT_S", 0.2)
    bokeh = dashboard.bokeh
    assert bokeh is not None
    bokeh.heard_from_browser = True  # a view was there, then the notebook was closed
    try:
        folded = play_for(dashboard, 0.8)
    finally:
        bokeh.resync()
    assert not bokeh.heard_from_browser
    # Waiting on, it would stop at MAX_UPDATES_IN_FLIGHT (3) until the 2 s default
    # timeout; after the 0.2 s one it keeps its beat again (about 15 updates).
    assert len(folded) >= 3


def applied_echo(dashboard: Dashboard, number: int) -> dict[str, Any]:
    """The message BokehJS sends after applying the batch tagged ``render <number>``."""
    from luminous_edu.viz.bokeh_fixes import RENDER_TAG

    assert dashboard.bokeh is not None
    return {
        "event": "jsevent",
        "kind": "ModelChanged",
        "model": {"id": dashboard.bokeh.ack.id},
        "attr": "tags",
        "new": [f"{RENDER_TAG}{number}"],
    }


def test_tick_folds_many_steps_into_one_update(dashboard: Dashboard) -> None:
    before = dict(dashboard.updates)
    taken = dashboard.tick(1.0)  # 200 virtual ms: an election and more
    assert taken > 1
    assert dashboard.updates["full"] == before["full"]
    assert dashboard.updates["patch"] - before["patch"] <= len(dashboard.sources)


def test_a_safety_failure_offers_to_go_to_its_step(dashboard: Dashboard) -> None:
    class Forgetful(le.DiskStorage):  # forgets its vote: a classic student bug
        def save_hard_state(self, msg: Any) -> None:
            super().save_hard_state(type(msg)(current_term=msg.current_term, voted_for=None))

    cluster = le.Cluster(servers=5, seed=1, storage=Forgetful)
    cluster.timeout(1)
    cluster.run(30)
    voter = next(i for i in (2, 3, 4, 5) if cluster.servers[i].voted_for == 1)
    cluster.crash(voter)
    cluster.restart(voter)
    cluster.run(50)
    assert cluster.violations, "the forgotten vote is a Durability finding at restart"
    dashboard.attach(cluster)
    marks = [w.value for w in find(dashboard.safety, widgets.HTML)]
    assert any("✘" in m and "Durability" in m for m in marks)
    (go,) = [b for b in find(dashboard.safety, widgets.Button)]
    first = cluster.violations[0].step
    assert go.description == f"go to step {first}"
    go.click()
    assert cluster.step_count == first and f"step {first}" in status(dashboard)


# ------------------------------------------------------------ membership changes


def shown_ids(dashboard: Dashboard) -> dict[str, list[int]]:
    """The servers each view and control shows."""
    log_figure = dashboard.views["log"].figures["log"]
    open_panel(dashboard, "storage")
    return {
        "servers": sorted(r["id"] for r in rows(dashboard, "servers")),
        "log rows": sorted(log_figure.yaxis.ticker.ticks),
        "storage": sorted({r["server"] for r in rows(dashboard, "storage")}),
        "terms": sorted({r["server"] for r in rows(dashboard, "terms")}),
        "controls": sorted({sid for sid, _ in dashboard.server_buttons}),
        "client": sorted(v for _, v in dashboard.request_server.options if v),
    }


@pytest.fixture
def small(shared: Dashboard) -> Dashboard:
    """The shared dashboard on a 3-server cluster whose leader has committed in its
    term (so it may change the configuration, thesis §4.1)."""
    cluster = le.Cluster(servers=3, seed=1)
    assert cluster.run_until(lambda c: c.leader == 1, 5000)
    cluster.run(300)
    shared.attach(cluster)
    open_panel(shared, "membership")
    return shared


def test_a_server_that_joins_appears_in_every_view(small: Dashboard) -> None:
    cluster = small.cluster
    before = small.bokeh
    small.new_id.value = 4
    button(small, "Add server").click()
    assert small.last_notice == "Add S4: started."
    assert small.ids == [1, 2, 3, 4] and small.updates["rebuild"] >= 1
    # A new BokehModel replaced the old one, which was closed, not re-rendered.
    assert small.bokeh is not before and before._closed
    assert before not in small.picture.children and small.bokeh in small.picture.children
    assert all(ids == [1, 2, 3, 4] for ids in shown_ids(small).values()), shown_ids(small)
    assert cluster.run_until(lambda c: c.config is not None and 4 in c.config.voters, 5000)
    small.refresh()
    button(small, "Step").click()
    assert {r["id"]: r["role_text"] for r in rows(small, "servers")}[4] == "follower"
    log = {(r["server"], r["index"]) for r in rows(small, "log") if r["line_alpha"] > 0}
    assert {(4, e.index) for e in cluster.servers[4].log} <= log


def test_a_rewind_to_before_the_join_takes_the_server_away(small: Dashboard) -> None:
    cluster = small.cluster
    joined_at = cluster.step_count
    small.new_id.value = 4
    button(small, "Add learner").click()
    assert small.last_notice == "Add S4 as a learner: started."
    for _ in range(5):
        button(small, "Step").click()
    assert {r["id"]: r["role_text"] for r in rows(small, "servers")}[4] == "follower · learner"
    small.seek(joined_at - 1)
    assert small.last_notice == ""
    assert list(cluster.servers) == [1, 2, 3]
    assert all(ids == [1, 2, 3] for ids in shown_ids(small).values()), shown_ids(small)
    # Forward again through the recorded join: S4 comes back, step by step.
    for _ in range(3):
        button(small, "Step").click()
    assert small.last_notice == "" and small.ids == list(cluster.servers) == [1, 2, 3, 4]
    assert shown_ids(small)["servers"] == [1, 2, 3, 4]


def test_a_refused_change_says_why(small: Dashboard) -> None:
    steps = small.cluster.step_count
    small.server_buttons[(2, "promote")].click()
    assert small.last_notice.startswith("Promote S2: refused: ")
    assert "S2" in small.last_notice[len("Promote S2: refused: ") :]
    small.new_id.value = 0  # the box keeps ids in range: 0 becomes 1
    button(small, "Add server").click()
    assert small.last_notice == "Add S1: refused: S1 is already a voter."
    assert small.ids == [1, 2, 3] and small.cluster.step_count == steps


def test_remove_shows_the_server_removed(small: Dashboard) -> None:
    small.server_buttons[(3, "remove_server")].click()
    assert small.last_notice == "Remove S3: started."
    small.cluster.run(500)
    small.refresh()
    member = {r["id"]: (r["member"], r["fill_alpha"]) for r in rows(small, "servers")}
    assert member == {1: ("voter", 1.0), 2: ("voter", 1.0), 3: ("removed", 0.35)}
    assert "configuration {S1, S2}" in status(small)
    assert "{S1, S2}" in small.config_label.value


# ------------------------------------------------------- transfer, reads, legend


def test_transfer_here_sends_timeout_now(small: Dashboard) -> None:
    cluster = small.cluster
    small.server_buttons[(3, "transfer_leadership")].click()
    assert small.last_notice == "Transfer leadership to S3: started."
    for _ in range(200):
        button(small, "Step").click()
        timeout_now = [r for r in rows(small, "messages") if r["kind"] == "TimeoutNow"]
        if timeout_now:
            break
    assert timeout_now and timeout_now[0]["short"] == "TimeoutNow"
    assert timeout_now[0]["colour"] == "#D55E00"
    assert cluster.run_until(lambda c: c.leader == 3, 2000)
    small.server_buttons[(3, "transfer_leadership")].click()
    assert small.last_notice.startswith("Transfer leadership to S3: refused: ")


def test_read_button_reads_through_the_leader(small: Dashboard) -> None:
    cluster = small.cluster
    small.request.value = "y=2"
    button(small, "Propose").click()
    button(small, "Read").click()
    assert "confirming it still leads" in small.read_status.value
    assert cluster.run_until(lambda c: small.reads[-1].done, 2000)
    small.refresh()
    assert "&#x27;y=2&#x27;" in small.read_status.value
    small.request_server.value = 2
    button(small, "Read").click()
    assert "Read not accepted" in small.last_notice and "S1" in small.last_notice


def test_the_ring_legends_name_every_kind_and_shape(dashboard: Dashboard) -> None:
    from bokeh.models import Legend

    ring = dashboard.views["ring"].figures["ring"]
    labels = {item.label.value for legend in ring.select({"type": Legend}) for item in legend.items}
    assert {"AE", "RV", "pre-RV", "IS", "TimeoutNow"} <= labels
    assert {"request", "reply", "reply: no", "cut link"} <= labels


def test_a_server_that_joins_during_run_keeps_runs_backpressure(small: Dashboard) -> None:
    seen: dict[str, Any] = {}

    async def page() -> None:  # watches the dashboard while Run plays
        while True:
            await asyncio.sleep(0.02)
            if small.ids == [1, 2, 3, 4] and "tracking" not in seen:
                seen["tracking"] = small.bokeh.track_renders

    small.cluster.add_server(4)  # from code: the next Run update shows it
    play_for(small, 0.3, page)
    assert seen == {"tracking": True}
    assert small.bokeh.track_renders is False  # paused
    assert shown_ids(small)["servers"] == [1, 2, 3, 4]


# ------------------------------------------------------------ log compaction (§7)


def test_compaction_and_install_snapshot_step_by_step(shared: Dashboard) -> None:
    from luminous_edu.sim.scenarios import behind_the_snapshot

    shared.attach(behind_the_snapshot())
    open_panel(shared, "spacetime")
    cluster = shared.cluster
    labels: set[str] = set()
    for _ in range(120):
        button(shared, "Step").click()
        labels |= {r["label"] for r in rows(shared, "messages") if r["alpha"] > 0}
        labels |= {r["label"] for r in rows(shared, "spacetime") if r["alpha"] > 0}
    assert {"IS", "IS reply"} <= labels
    behind = max(s for s in cluster.servers if s != cluster.leader)
    assert any(e.rule == "IS.8" and e.args[0] == behind for e in cluster.trace)
    cells = sorted((r["server"], r["index"]) for r in rows(shared, "log") if r["line_alpha"] > 0)
    assert cells == sorted((s, e.index) for s in cluster.servers for e in cluster.servers[s].log)
    blocks = {r["server"]: r["text"] for r in rows(shared, "snapshots") if r["alpha"] > 0}
    assert blocks == {
        s: f"snapshot through {v.snapshot_index} (term {v.snapshot_term})"
        for s, v in cluster.servers.items()
        if v.snapshot_index
    }
    assert behind in blocks


# ------------------------------------------------------------- exact after every jump


@pytest.mark.parametrize(
    "jump",
    ["refresh", "seek", "attach", "back", "slider", "reset", "built later"],
)
def test_every_view_is_exact_after_a_jump(shared: Dashboard, jump: str) -> None:
    """After each kind of jump the sources, ranges and header equal those of a dashboard
    built afresh on the cluster as it is; the space-time history is rebuilt from the
    recorded steps, not only from the messages in flight."""
    cluster = le.Cluster(servers=5, seed=7)
    shared.attach(cluster)
    open_panel(shared, "spacetime")
    for _ in range(30):
        button(shared, "Step").click()
    cluster.run(2600)  # driven from code: 2.6 s later, hundreds of steps
    if jump == "refresh":
        shared.refresh()
    elif jump == "seek":
        shared.seek(cluster.step_count - 50)
    elif jump == "attach":
        shared.attach(cluster)
    elif jump == "back":
        shared.refresh()
        button(shared, "Back").click()
    elif jump == "slider":
        shared.refresh()
        shared.slider.value = cluster.step_count // 2
    elif jump == "reset":
        shared.refresh()
        button(shared, "Reset").click()
    else:
        shared = le.Dashboard(cluster, panels=["spacetime", "timelines"])
    assert exact(shared)
    if jump != "reset":
        arrows = [r for r in rows(shared, "spacetime") if r["alpha"] > 0]
        delivered = [a for a in arrows if a["status"] == "delivered"]
        assert len(delivered) > 20, "the history of the window, not just messages in flight"
        window = shared.views["spacetime"].ranges["time"]
        assert window.start <= cluster.now <= window.end
    open_panel(shared, "timelines")
    assert exact(shared)


def test_the_timelines_count_steps_when_time_stands_still(dashboard: Dashboard) -> None:
    """Manual scheduling at t=0 (as in the paper's figures): the x axis counts steps."""
    cluster = le.Cluster(servers=3, seed=1)
    dashboard.attach(cluster)
    cluster.timeout(1)
    for _ in range(6):
        cluster.fire(next(e.id for e in cluster.pending() if e.kind == "deliver"))
    dashboard.refresh()
    assert cluster.now == 0 and dashboard.axis.unit == "step"
    view = dashboard.views["timelines"]
    glyph = view.x_fields[0][0]
    assert (glyph.x0, glyph.x1) == ("s0", "s1")
    assert view.figures["terms"].xaxis.axis_label == "step"
    assert view.ranges["time"].start <= cluster.step_count <= view.ranges["time"].end
    assert view.cursors[0].location == cluster.step_count
    leading = [r for r in rows(dashboard, "terms") if r["role"] == "leader"]
    assert leading and all(r["s1"] > r["s0"] for r in leading)
    dashboard.axis_choice.value = "time"  # forced back to virtual time
    assert (glyph.x0, glyph.x1) == ("x0", "x1") and dashboard.axis.unit == "time"
    dashboard.axis_choice.value = "auto"


def test_the_time_window_can_be_widened_and_pinned(dashboard: Dashboard) -> None:
    cluster = dashboard.cluster
    cluster.run(3000)
    dashboard.refresh()
    time_range = dashboard.views["timelines"].ranges["time"]
    assert time_range.end - time_range.start == 1000
    dashboard.window_choice.value = 1  # 5 s
    assert time_range.end - time_range.start == 5000
    dashboard.pin.value = True
    where = (time_range.start, time_range.end)
    for _ in range(3):
        dashboard.tick(5.0)  # Run moves on 1 s of virtual time each
    assert (time_range.start, time_range.end) == where  # pinned
    dashboard.seek(cluster.step_count)  # a jump to a cursor outside: it follows
    assert time_range.start <= cluster.now <= time_range.end
    dashboard.pin.value = False
    dashboard.window_choice.value = 0


def test_run_sees_messages_sent_and_delivered_between_updates(dashboard: Dashboard) -> None:
    """Run plays a tick one step at a time: a message sent and delivered inside one
    update still gets its arrow, and the ring gets it for one update (``recent``)."""
    cluster = dashboard.cluster
    cluster.run_until(lambda c: c.leader is not None, 5000)
    dashboard.refresh()
    button(dashboard, "Step").click()  # the update after a refresh replaces everything
    open_panel(dashboard, "spacetime")
    before = {(r["id"], r["s0"]) for r in rows(dashboard, "spacetime") if r["alpha"] > 0}
    taken = dashboard.tick(1.0)  # 200 virtual ms in one update: many heartbeats
    assert taken > 20
    arrows = [r for r in rows(dashboard, "spacetime") if r["alpha"] > 0]
    new = [a for a in arrows if (a["id"], a["s0"]) not in before]
    inside = [a for a in new if a["status"] == "delivered"]
    assert len(inside) > 10  # born and delivered within the one update
    ring = [r for r in rows(dashboard, "messages") if r["status"] == "delivered"]
    assert ring and all(r["end"] >= r["sent"] for r in ring)
    clock = rows(dashboard, "clock")[0]
    assert (clock["now"], clock["step"]) == (cluster.now, cluster.step_count)
    assert clock["running"] == 0 and clock["speed"] == dashboard.speed.value


def test_the_header_names_every_leader(dashboard: Dashboard) -> None:
    from luminous_edu.sim.scenarios import forgets_vote

    class Forgetful(le.DiskStorage):  # forgets its vote: two leaders in one term
        def save_hard_state(self, msg: Any) -> None:
            super().save_hard_state(type(msg)(current_term=msg.current_term, voted_for=None))

    cluster = forgets_vote(Forgetful)
    dashboard.attach(cluster)
    leaders = [sid for sid, v in cluster.servers.items() if v.alive and v.role is le.Role.LEADER]
    assert len(leaders) == 2
    for sid in leaders:
        assert f"S{sid} (term {cluster.servers[sid].current_term})" in status(dashboard)
    assert "2 leaders" in status(dashboard)
    first = cluster.violations[0]
    assert f"✘ {first.property} broken at step {first.step} (and 1 more)" in status(dashboard)


def test_displaying_it_loads_bokehjs_first(
    dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython.display

    shown: list[dict[str, Any]] = []
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw: shown.append(bundle))
    dashboard._ipython_display_()
    assert [sorted(b) for b in shown] == [
        ["application/javascript", "text/plain"],
        ["application/vnd.jupyter.widget-view+json", "text/plain"],
    ]
    assert "luminous_edu/bokehjs" in shown[0]["application/javascript"]
    assert shown[1]["application/vnd.jupyter.widget-view+json"]["model_id"] == dashboard.model_id


def test_listeners_hear_of_every_new_picture_and_cannot_break_it(dashboard: Dashboard) -> None:
    heard: list[tuple[int, int]] = []
    dashboard.listeners.append(lambda d: heard.append((d.cluster.step_count, d.cluster.now)))
    try:
        dashboard.step_button.click()
        dashboard.step_button.click()
        dashboard.back_button.click()
        dashboard.seek(0)
        dashboard.refresh()
        assert [step for step, _ in heard] == [1, 2, 1, 0, 0]
        assert heard[-1][1] == dashboard.cluster.now
        dashboard.listeners.append(lambda d: 1 / 0)
        dashboard.step_button.click()  # raises nothing into the notebook
        assert dashboard.cluster.step_count == 1 and heard[-1][0] == 1
        assert "a listener failed: ZeroDivisionError" in dashboard.last_notice
    finally:
        dashboard.listeners.clear()


class Chatty(le.DiskStorage):
    """A student's handler that prints what it saves."""

    def save_log(self, msg: le.SaveLog) -> None:
        print(f"save_log {msg.index} (term {msg.term})")
        super().save_log(msg)


def test_a_jump_prints_a_handlers_output_only_as_its_own_seek_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Rebuilding the space-time history replays up to its window of recorded steps;
    what a student's handler prints in them was printed when they first ran, and the
    replay does not print it again: the dashboard's seek prints what ``cluster.seek``
    alone prints."""
    cluster = le.Cluster(servers=3, seed=7, storage=Chatty)
    cluster.run_until(lambda c: c.leader is not None)
    for command in "xyz":
        cluster.propose(command)
        cluster.run(400)
    alone = le.Cluster.load(cluster.export(), storage=Chatty)
    capsys.readouterr()
    alone.seek(cluster.step_count - 40)
    seek_alone = capsys.readouterr().out.count("save_log")

    dashboard = Dashboard(cluster, panels=["spacetime"])
    open_panel(dashboard, "spacetime")
    capsys.readouterr()
    dashboard.seek(cluster.step_count - 40)
    printed = capsys.readouterr().out.count("save_log")
    assert printed == seek_alone
    arrows = [r for r in rows(dashboard, "spacetime") if r["alpha"] > 0]
    assert any(a["status"] == "delivered" for a in arrows), "the history was still rebuilt"
