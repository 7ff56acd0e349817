"""The instructor's playground: one cluster and its dashboard, and the settings an
instructor changes in front of a class.

``Playground()`` is an ``ipywidgets.VBox``: a row of settings (the scenario, the number
of servers, the seed, and buttons that jump to the scenario's stages, such as Figure 8's
panels (a)-(e)), a line that says what the scenario shows and what to ask, and under
them the dashboard (``Dashboard``) with its own controls: Step, Back, Run, Reset and the
history slider; crash, restart and time out servers (the Servers tab, open at the
start); cut the network, or make it slow, lossy or duplicating (the Network tab). CSS
classes for tests outside: ``luminous-playground``, ``luminous-scenario``,
``luminous-servers``, ``luminous-seed``, ``luminous-stages``, ``luminous-about``.

Changing a setting starts a new run in the same dashboard (``Dashboard.attach``). A
scenario is a function of the number of servers and the seed that returns the cluster
at its interesting moment, with its history recorded: Back, the slider and Reset replay
it, and Step after Reset plays it again. The scenarios come from the lessons' builders
(``luminous_edu.sim.scenarios``, ``luminous_edu.exercises.lesson03`` and ``lesson08``).

``notebooks/playground.ipynb`` shows one with ``projector=True``; ``luminous-edu app``
serves that notebook with Voila, as a web page without code (``luminous_edu.app``).
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from ..exercises import lesson03, lesson08
from ..sim import Cluster
from ..sim.scenarios import bug_scenario, pending_message, single_change_bug_scenario
from ..storage.gallery import GALLERY
from .bokehjs import LoadsBokehJS
from .dashboard import PANELS, Dashboard

#: The tabs under the picture, the Servers tab first: crashing a server is what an
#: instructor does most.
PLAYGROUND_PANELS = ("servers", "network", *(p for p in PANELS if p not in ("servers", "network")))
#: The settings' bounds (the ring is drawn for up to 9 servers).
MAX_SERVERS = 9
MAX_SEED = 2**31 - 1

STYLE = """
<style>
.luminous-playground.luminous-projector .luminous-settings {
  --jp-widgets-font-size: 18px;
  --jp-widgets-inline-height: 34px;
}
.luminous-playground .luminous-settings select, .luminous-playground .luminous-settings input,
.luminous-playground .luminous-settings .widget-label,
.luminous-playground .luminous-settings .jupyter-button {
  font-size: var(--jp-widgets-font-size);
}
</style>
"""


class Built:
    """What a scenario builds: the cluster at its interesting moment and the steps at
    which its stages are drawn (name -> step)."""

    def __init__(self, cluster: Cluster, stages: dict[str, int] | None = None) -> None:
        self.cluster = cluster
        # By default one stage: the moment the scenario built, to come back to it after
        # Back, Reset or the slider.
        self.stages = {"the situation": cluster.step_count} if stages is None else stages


@dataclass(frozen=True)
class Scenario:
    """A situation to show: ``build(servers, seed)`` makes it. ``servers`` and ``seed``
    say whether those settings change it (some stories need their own)."""

    title: str
    about: str
    build: Callable[[int, int], Built]
    servers: bool = True
    seed: bool = True


def _fresh(servers: int, seed: int) -> Built:
    return Built(Cluster(servers=servers, seed=seed), stages={})


def _elected(servers: int, seed: int) -> tuple[Cluster, int]:
    """A cluster run until it has a leader; the leader's id."""
    cluster = Cluster(servers=servers, seed=seed)
    if not cluster.run_until(lambda c: c.leader is not None, max_ms=5_000, warn=False):
        raise RuntimeError(f"no leader within 5 s with seed {seed}; try another seed")
    leader = cluster.leader
    assert leader is not None
    return cluster, leader


def _with_leader(servers: int, seed: int) -> Built:
    cluster, _leader = _elected(servers, seed)
    for command in ("x = 1", "y = 2", "z = 3"):
        cluster.propose(command)
    cluster.run(100)
    return Built(cluster)


def _split_vote(_servers: int, seed: int) -> Built:
    """Four servers; S1 and S2 time out at the same moment and each gets one vote before
    the other's requests arrive (the instructor's guide, section 3)."""
    cluster = Cluster(servers=4, seed=seed)
    cluster.timeout(1)
    cluster.timeout(2)  # two candidates in term 1
    cluster.fire(pending_message(cluster, 1, 3, "RequestVote"))  # S3 votes for S1
    cluster.fire(pending_message(cluster, 2, 4, "RequestVote"))  # S4 votes for S2
    return Built(cluster)


def _partitioned_leader(servers: int, seed: int) -> Built:
    """Lesson 05: the leader and one follower cut off from the rest; a client sends a
    command to the old leader, and a second passes."""
    if servers < 3:
        raise ValueError("a partition with a majority on one side needs at least 3 servers")
    cluster, old = _elected(servers, seed)
    minority = {old, min(i for i in cluster.ids if i != old)}
    cluster.partition(minority, set(cluster.ids) - minority)
    cluster.propose("lost?", server=old)
    cluster.run(1_000)
    return Built(cluster)


def _figure7(_servers: int, seed: int) -> Built:
    figure = lesson03.figure7(seed)
    return Built(figure.cluster, figure.stages)


def _figure8(ending: str, _servers: int, seed: int) -> Built:
    figure = lesson03.figure8(ending, seed)
    return Built(figure.cluster, figure.stages)


def _rejoin(prevote: bool, _servers: int, seed: int) -> Built:
    return Built(lesson08.rejoin(prevote=prevote, seed=seed).cluster)


def _cut_off_leader(_servers: int, seed: int) -> Built:
    return Built(lesson08.cut_off_leader(check_quorum=True, seed=seed).cluster)


def _single_change_bug(_servers: int, _seed: int) -> Built:
    return Built(single_change_bug_scenario(bug=True))


def _gallery(name: str, _servers: int, _seed: int) -> Built:
    return Built(bug_scenario(name))


def _scenarios() -> dict[str, Scenario]:
    found = {
        "fresh": Scenario(
            "A new cluster",
            "Every server a follower, every election timer running: what happens first? "
            "Step to see the first election (§5.2).",
            _fresh,
        ),
        "leader": Scenario(
            "A leader and three commands",
            "An elected leader has committed x, y and z. Crash it in the Servers tab: who "
            "can win the next election, and what happens to the log (§5.2, §5.4.1)?",
            _with_leader,
        ),
        "split_vote": Scenario(
            "A split vote (§5.2)",
            "Four servers; S1 and S2 stood at the same moment and got one vote each: 2 of "
            "3 needed. Who wins term 1? Run on: randomized timeouts end it.",
            _split_vote,
            servers=False,
        ),
        "partition": Scenario(
            "A partitioned leader (§5.4, lesson 05)",
            "The old leader and one follower are cut off; the majority elected a new "
            "leader. Is 'lost?' committed? Heal in the Network tab and watch.",
            _partitioned_leader,
        ),
        "figure7": Scenario(
            "Figure 7: logs a new leader may find (§5.3)",
            "Seven servers: S1 is the leader-to-be, S2..S7 are (a)..(f). Which of them "
            "could be elected (§5.4.1)? Time S1 out in the Servers tab, then Run: it "
            "repairs every log.",
            _figure7,
            servers=False,
        ),
        "figure8": Scenario(
            "Figure 8 (a)-(d): a majority is not enough (§5.4.2)",
            "Panel by panel: (c) S1 leads term 4 and its term-2 entry is on a majority, "
            "yet not committed; (d) S5 overwrites it. Go to (c) and ask: can S5 win?",
            functools.partial(_figure8, "d"),
            servers=False,
        ),
        "figure8e": Scenario(
            "Figure 8 (a)-(c), (e): committed in its own term (§5.4.2)",
            "From (c), S1 replicates its term-4 entry to a majority before it crashes: "
            "indexes 2 and 3 commit, and S5 can no longer win (§5.4.1).",
            functools.partial(_figure8, "e"),
            servers=False,
        ),
        "disruptive": Scenario(
            "A rejoining server deposes the leader (thesis §9.6)",
            "A follower cut off for two seconds kept timing out; back, its higher term "
            "deposes a healthy leader. Compare with the next scenario, PreVote.",
            functools.partial(_rejoin, False),
            servers=False,
        ),
        "prevote": Scenario(
            "The same with PreVote (thesis §9.6)",
            "With PreVote the cut-off follower never raised its term: it rejoins without "
            "disrupting the leader.",
            functools.partial(_rejoin, True),
            servers=False,
        ),
        "check_quorum": Scenario(
            "A cut-off leader steps down: CheckQuorum (thesis §6.2)",
            "The leader and one follower are cut off from the other three. With "
            "CheckQuorum the old leader steps down by itself within an election timeout.",
            _cut_off_leader,
            servers=False,
        ),
        "single_change_bug": Scenario(
            "The 2015 membership bug: two leaders in one term",
            "A new leader changed the configuration before committing an entry of its "
            "term (thesis §4.1): two majorities that do not overlap. See the Safety tab.",
            _single_change_bug,
            servers=False,
            seed=False,
        ),
    }
    for name in GALLERY:
        found[f"bug:{name}"] = Scenario(
            f"Storage bug: {name} (lesson 04)",
            f"Each server's storage handler is {name}, which has a real persistence bug. "
            "What broke? See the Safety tab, then go to the step it names.",
            functools.partial(_gallery, name),
            servers=False,
            seed=False,
        )
    return found


#: Every scenario by key, in the order of the menu.
SCENARIOS = _scenarios()


class Playground(LoadsBokehJS, widgets.VBox):  # type: ignore[misc]
    """A cluster and its dashboard, with the settings an instructor changes on a
    projector: the scenario, the number of servers and the seed (module docstring).
    ``scenario`` is a key of ``SCENARIOS``; ``projector`` is passed to the dashboard."""

    def __init__(
        self, scenario: str = "fresh", *, servers: int = 5, seed: int = 7, projector: bool = True
    ) -> None:
        self.projector = projector
        self.built = build(scenario, servers, seed)
        self.dashboard = Dashboard(
            self.built.cluster, projector=projector, panels=PLAYGROUND_PANELS
        )
        self.scenario = widgets.Dropdown(
            options=[(s.title, key) for key, s in SCENARIOS.items()],
            value=scenario,
            description="scenario",
            style={"description_width": "auto"},
            layout=widgets.Layout(width="auto", max_width="46em"),
        )
        text = {"style": {"description_width": "auto"}, "continuous_update": False}
        self.servers = widgets.BoundedIntText(
            value=servers, min=1, max=MAX_SERVERS, description="servers",
            layout=widgets.Layout(width="9em"), **text,
        )  # fmt: skip
        self.seed = widgets.BoundedIntText(
            value=seed, min=0, max=MAX_SEED, description="seed",
            layout=widgets.Layout(width="11em"), **text,
        )  # fmt: skip
        self.scenario.add_class("luminous-scenario")
        self.servers.add_class("luminous-servers")
        self.seed.add_class("luminous-seed")
        # The scenario's stages, on the settings' row: the picture needs the height.
        self.stages = widgets.HBox([], layout=widgets.Layout(align_items="center"))
        self.stages.add_class("luminous-stages")
        settings = widgets.HBox(
            [self.scenario, self.servers, self.seed, self.stages],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        settings.add_class("luminous-settings")
        self.about = widgets.HTML(value="")
        self.about.add_class("luminous-about")
        self.notice = widgets.HTML(value="")
        #: The settings of the run shown: (scenario, servers, seed).
        self.shown = (scenario, servers, seed)
        self._quiet = False  # True while the settings follow a run, not the reverse
        for control in (self.scenario, self.servers, self.seed):
            control.observe(self._on_setting, names="value")
        style = widgets.HTML(STYLE, layout=widgets.Layout(height="0px", margin="0px"))
        classes = ["luminous-playground"] + (["luminous-projector"] if projector else [])
        super().__init__(
            children=[style, settings, self.about, self.notice, self.dashboard],
            _dom_classes=classes,
        )
        self._show_settings()

    @property
    def cluster(self) -> Cluster:
        """The cluster shown now."""
        return self.dashboard.cluster

    def load(self, scenario: str, servers: int | None = None, seed: int | None = None) -> None:
        """Start a new run of ``scenario`` (with these settings, or the ones shown) in
        the dashboard. If it cannot be built, this raises and the run shown stays (from
        the page, the settings say why instead)."""
        servers = self.servers.value if servers is None else servers
        seed = self.seed.value if seed is None else seed
        built = build(scenario, servers, seed)
        self.built = built
        self.dashboard.attach(built.cluster)
        self._set_quietly(scenario, servers, seed)
        self._show_settings()
        self.notice.value = ""

    def go_to(self, stage: str) -> None:
        """Show the step at which the scenario's ``stage`` is drawn."""
        if stage not in self.built.stages:
            raise ValueError(f"stage={stage!r}: this scenario has {list(self.built.stages)}")
        self.dashboard.seek(self.built.stages[stage])

    # ------------------------------------------------------------- the widgets

    def _on_setting(self, _change: dict[str, Any]) -> None:
        if self._quiet:
            return
        shown = self.shown
        try:
            self.load(self.scenario.value, self.servers.value, self.seed.value)
        except Exception as error:  # a setting must never break the playground
            self._set_quietly(*shown)  # the settings of the run still shown
            self._show_settings()
            self.notice.value = (
                f"<span style='color:#D55E00'>{html.escape(type(error).__name__)}: "
                f"{html.escape(str(error))}. The settings are back to the run shown.</span>"
            )

    def _set_quietly(self, scenario: str, servers: int, seed: int) -> None:
        self.shown = (scenario, servers, seed)
        self._quiet = True
        try:
            self.scenario.value = scenario
            self.servers.value = servers
            self.seed.value = seed
        finally:
            self._quiet = False

    def _show_settings(self) -> None:
        scenario = SCENARIOS[self.scenario.value]
        self.servers.disabled = not scenario.servers
        self.seed.disabled = not scenario.seed
        fixed = [name for name in ("servers", "seed") if not getattr(scenario, name)]
        own = f" (this story sets its own {' and '.join(fixed)})" if fixed else ""
        size = "18px" if self.projector else "13px"
        self.about.value = (
            f"<div style='font-size:{size}; line-height:1.3'>{html.escape(scenario.about)}"
            f"<span style='color:#666666'>{html.escape(own)}</span></div>"
        )
        for old in self.stages.children:  # the previous scenario's
            old.close()
        go_to = widgets.HTML("go to:", layout=widgets.Layout(margin="0 0.2em 0 1em"))
        buttons = [go_to] if self.built.stages else []
        for stage in self.built.stages:
            button = widgets.Button(description=stage, layout=widgets.Layout(width="auto"))
            button.on_click(functools.partial(self._on_stage, stage))
            buttons.append(button)
        self.stages.children = buttons

    def _on_stage(self, stage: str, _button: Any = None) -> None:
        self.go_to(stage)

    def __repr__(self) -> str:
        return f"<luminous_edu Playground: {SCENARIOS[self.scenario.value].title}>"


def build(scenario: str, servers: int, seed: int) -> Built:
    """Scenario ``scenario`` (a key of ``SCENARIOS``) with these settings; a ValueError
    that names what is wrong for a setting out of bounds."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario={scenario!r}: choose one of {list(SCENARIOS)}")
    for name, value, low, high in (
        ("servers", servers, 1, MAX_SERVERS),
        ("seed", seed, 0, MAX_SEED),
    ):
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"{name}={value!r}: give a whole number from {low} to {high}")
    return SCENARIOS[scenario].build(servers, seed)
