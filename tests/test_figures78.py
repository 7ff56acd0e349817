"""The paper's Figure 7 and Figure 8, rebuilt by ``luminous_edu.exercises.lesson03``'s
builders (the instructor's playground shows them): each stage holds the logs the paper
draws, term by term, whatever the seed, and no Figure 3 property breaks."""

from __future__ import annotations

import pytest

from luminous_edu import Role
from luminous_edu.exercises.lesson03 import FIGURE_7_NAMES, figure7, figure8
from luminous_edu.sim import Cluster

SEEDS = [1, 2, 7, 123_456]

# Figure 7 (§5.3): the terms of each server's entries, the leader-to-be first.
FIGURE_7 = {
    "leader": "1 1 1 4 4 5 5 6 6 6",
    "(a)": "1 1 1 4 4 5 5 6 6",
    "(b)": "1 1 1 4",
    "(c)": "1 1 1 4 4 5 5 6 6 6 6",
    "(d)": "1 1 1 4 4 5 5 6 6 6 7 7",
    "(e)": "1 1 1 4 4 4 4",
    "(f)": "1 1 1 2 2 2 3 3 3 3 3",
}

# Figure 8 (§5.4.2), panel by panel: each server's log terms, and who is down or leads.
FIGURE_8 = {
    "(a)": {1: "1 2", 2: "1 2", 3: "1", 4: "1", 5: "1"},
    "(b)": {1: "1 2", 2: "1 2", 3: "1", 4: "1", 5: "1 3"},
    "(c)": {1: "1 2 4", 2: "1 2", 3: "1 2", 4: "1", 5: "1 3"},
    "(d)": {1: "1 2 4", 2: "1 3", 3: "1 3", 4: "1 3", 5: "1 3"},
    "(e)": {1: "1 2 4", 2: "1 2 4", 3: "1 2 4", 4: "1", 5: "1 3"},
}
FIGURE_8_DOWN = {"(a)": set(), "(b)": {1}, "(c)": {5}, "(d)": {1}, "(e)": {1}}
FIGURE_8_LEADER = {"(a)": (1, 2), "(b)": (5, 3), "(c)": (1, 4), "(d)": (5, 5), "(e)": None}


def terms(cluster: Cluster, server: int) -> str:
    return " ".join(str(entry.term) for entry in cluster.servers[server].log)


@pytest.mark.parametrize("seed", SEEDS)
def test_figure_7_holds_the_papers_logs(seed: int) -> None:
    """§5.3: "a follower may be missing entries that are present on the leader, it may
    have extra entries that are not present on the leader, or both" (Figure 7)."""
    built = figure7(seed)
    cluster = built.cluster
    shown = {FIGURE_7_NAMES[i]: terms(cluster, i) for i in cluster.ids}
    assert shown == FIGURE_7
    assert all(cluster.servers[i].alive for i in cluster.ids)
    assert list(built.stages) == ["term 1", "terms 2-3", "term 4", "Figure 7"]
    assert built.stages["Figure 7"] == cluster.step_count
    assert cluster.violations == []


def test_figure_7s_stages_are_its_terms() -> None:
    built = figure7()
    cluster = built.cluster
    cluster.seek(built.stages["term 1"])
    assert {terms(cluster, i) for i in cluster.ids} == {"1 1 1"}
    cluster.seek(built.stages["terms 2-3"])
    assert terms(cluster, 7) == "1 1 1 2 2 2 3 3 3 3 3" and not cluster.servers[7].alive
    cluster.seek(built.stages["term 4"])
    assert terms(cluster, 6) == "1 1 1 4 4 4 4" and terms(cluster, 3) == "1 1 1 4"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ending", ["d", "e"])
def test_figure_8_panel_by_panel(seed: int, ending: str) -> None:
    """§5.4.2: "a leader cannot immediately conclude that an entry from a previous term
    is committed once it is stored on a majority of servers" (Figure 8)."""
    built = figure8(ending, seed)
    cluster = built.cluster
    panels = ["(a)", "(b)", "(c)", f"({ending})"]
    assert list(built.stages) == panels
    for panel in panels:
        cluster.seek(built.stages[panel])
        assert {i: terms(cluster, i) for i in cluster.ids} == FIGURE_8[panel], panel
        down = {i for i in cluster.ids if not cluster.servers[i].alive}
        assert down == FIGURE_8_DOWN[panel], panel
        leading = FIGURE_8_LEADER[panel]
        if leading is None:
            assert cluster.leader is None, panel
        else:
            leader, term = leading
            assert cluster.leader == leader, panel
            assert cluster.servers[leader].current_term == term, panel
    assert cluster.violations == []


def test_in_c_the_old_entry_on_a_majority_is_not_committed() -> None:
    built = figure8("d")
    cluster = built.cluster
    cluster.seek(built.stages["(c)"])
    assert cluster.servers[1].commit_index == 0  # index 2 is on S1, S2, S3, but of term 2


def test_in_e_the_entry_of_the_leaders_term_commits_and_s5_cannot_win() -> None:
    cluster = figure8("e").cluster
    assert cluster.servers[5].role is not Role.LEADER
    # S1 committed index 3 (term 4), and with it index 2, before it crashed.
    assert cluster.servers[1].commit_index == 3
    refusals = [e for e in cluster.trace if e.rule == "RV.2.log" and e.server in (2, 3)]
    assert refusals, "S2 and S3 refuse S5: their logs are more up to date (§5.4.1)"


def test_figure_8_has_two_endings_only() -> None:
    with pytest.raises(ValueError, match="ends with panel 'd' or 'e'"):
        figure8("f")
