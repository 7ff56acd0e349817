"""View models: cluster state -> columns, without bokeh or a browser."""

from __future__ import annotations

import subprocess
import sys
from typing import NamedTuple

import pytest

import luminous_edu as le
from luminous_edu.core.membership import Configuration
from luminous_edu.sim.scenarios import behind_the_snapshot
from luminous_edu.viz import palette
from luminous_edu.viz import viewmodels as vm


def elected(servers: int = 3, seed: int = 1) -> le.Cluster:
    cluster = le.Cluster(servers=servers, seed=seed)
    assert cluster.run_until(lambda c: c.leader is not None, 5000)
    return cluster


def test_view_models_import_no_notebook_library() -> None:
    script = (
        "import sys, luminous_edu, luminous_edu.viz.viewmodels\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('bokeh', 'ipywidgets', 'jupyter_bokeh', 'IPython')))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_servers_sit_clockwise_around_a_ring_from_the_top() -> None:
    assert vm.ring_position(0, 4) == (0.0, 1.0)
    assert vm.ring_position(1, 4) == (1.0, 0.0)
    assert vm.ring_position(2, 4) == (0.0, -1.0)


def test_server_rows_of_a_fresh_cluster() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    rows = vm.server_rows(cluster)
    assert list(rows) == [1, 2, 3]
    first = rows[1]
    assert set(first) == set(vm.SERVER_COLUMNS)
    assert (first["name"], first["role"], first["term"], first["term_text"]) == (
        "S1",
        "follower",
        0,
        "term 0",
    )
    assert first["alive"] and first["connected"] and first["group"] == -1
    # Every follower's election timer is running: between 150/300 and 1 of the longest.
    timers = vm.timer_rows(cluster)
    assert list(timers) == [1, 2, 3] and set(timers[1]) == set(vm.TIMER_COLUMNS)
    assert all(0.5 <= r["timer"] <= 1.0 for r in timers.values())
    assert timers[1]["timer_y"] == first["timer_y"]  # the bar over its grey track
    assert first["votes"] == 0 and first["votes_text"] == ""


def test_server_rows_show_roles_votes_and_crashes() -> None:
    cluster = elected()
    leader = cluster.leader
    assert leader is not None
    rows = vm.server_rows(cluster)
    assert rows[leader]["role"] == "leader" and vm.timer_rows(cluster)[leader]["timer"] == 0.0
    other = next(i for i in rows if i != leader)
    cluster.crash(other)
    rows = vm.server_rows(cluster)
    assert rows[other]["role"] == "down" and rows[other]["colour"] == "#999999"
    assert not rows[other]["alive"]


def test_a_candidate_shows_the_votes_it_has() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    cluster.timeout(2)
    rows = vm.server_rows(cluster)
    assert rows[2]["role"] == "candidate" and rows[2]["term"] == 1
    assert rows[2]["votes"] == 1 and rows[2]["votes_text"] == "votes S2"


def test_links_and_partitions_come_from_the_cluster() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    cluster.partition({1}, {2, 3})
    rows = vm.link_rows(cluster)
    assert [k for k, r in rows.items() if r["cut"]] == [(1, 2), (1, 3)]
    servers = vm.server_rows(cluster)
    assert [servers[i]["group"] for i in (1, 2, 3)] == [0, 1, 1]
    cluster.heal()
    cluster.disconnect(3)
    servers = vm.server_rows(cluster)
    assert servers[3]["connected"] is False and servers[3]["group"] == -1
    assert [k for k, r in vm.link_rows(cluster).items() if r["cut"]] == [(1, 3), (2, 3)]


def test_log_rows_exact_columns() -> None:
    cluster = elected()
    leader = cluster.leader
    assert leader is not None
    assert cluster.propose("x=1").accepted
    rows = vm.log_rows(cluster)
    assert rows[(leader, 1)]["label"] == "no-op"
    assert rows[(leader, 1)]["data"].startswith("no-op")
    assert rows[(leader, 2)] == {
        "server": leader,
        "index": 2,
        "x": 2.0,
        "y": float(leader),
        "term": 1,
        "term_text": "1",
        "label": "x=1",
        "data": "x=1",
        "fill": "#56B4E9",
        "text_colour": "#000000",
        "committed": False,
        "fill_alpha": 0.35,
        "line_alpha": 1.0,
        "hatch": "/",
    }
    cluster.run(200)
    rows = vm.log_rows(cluster)
    assert all(rows[(s, 2)]["committed"] for s in (1, 2, 3))
    assert rows[(leader, 2)]["hatch"] == " " and rows[(leader, 2)]["fill_alpha"] == 0.95


def test_long_data_is_shortened() -> None:
    assert vm.short_label("abcdefgh") == "abcde…"
    assert vm.short_label({"k": 1}, width=20) == "{'k': 1}"
    assert vm.short_label(None, "noop") == "no-op"


def test_markers_show_commit_and_the_leaders_indexes() -> None:
    cluster = elected()
    cluster.run(100)
    leader = cluster.leader
    assert leader is not None
    rows = vm.marker_rows(cluster)
    follower = next(i for i in (1, 2, 3) if i != leader)
    assert rows[(follower, "commit")]["x"] == 1.5  # the no-op is committed
    assert rows[(follower, "next")]["text"] == f"next_index[S{follower}]=2"
    assert rows[(follower, "match")]["text"] == f"match_index[S{follower}]=1"
    assert (leader, "next") not in rows


def test_messages_move_from_source_to_target() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    cluster.timeout(1)  # S1 sends RequestVote to S2 and S3 at t=now
    sent = cluster.now
    pending = [e for e in cluster.pending() if e.kind == "deliver"]
    assert pending and all(e.sent == sent for e in pending)
    rows = vm.message_rows(cluster)
    row = rows[pending[0].id]
    assert row["kind"] == "RequestVote" and row["short"] == "RV"
    assert row["progress"] == 0.0 and row["sent"] == sent
    assert row["fields"].startswith("RequestVote(term=1, candidate_id=1")
    x0, _ = vm.ring_position(0, 3)
    x1, _ = vm.ring_position(pending[0].target - 1, 3)
    assert row["x"] == round(x0 + (x1 - x0) * 0.15, 6)
    # Halfway in time, halfway along the (shortened) path.
    half = pending[0]._replace(sent=sent - (pending[0].due - sent))
    assert vm.message_rows(cluster, [half])[half.id]["progress"] == 0.5


def test_flights_learn_send_times_and_draw_arrows() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    flights = vm.Flights()
    flights.reset(cluster, cluster.pending())
    seen = len(cluster.trace)
    cluster.timeout(1)
    events = cluster.trace[seen:]
    arrows, gone = flights.observe(cluster, cluster.pending(), events)
    assert gone == []
    assert sorted((a["y0"], a["y1"], a["status"]) for a in arrows.values()) == [
        (1.0, 2.0, "flight"),
        (1.0, 3.0, "flight"),
    ]
    assert all(a["x0"] == cluster.now for a in arrows.values())  # Event.sent
    while any(e.kind == "deliver" and e.source == 1 for e in cluster.pending()):
        seen = len(cluster.trace)
        cluster.step()
        flights.observe(cluster, cluster.pending(), cluster.trace[seen:])
    statuses = {a["id"]: a["status"] for a in flights.arrows.values() if a["y0"] == 1.0}
    assert set(statuses.values()) == {"delivered"}


def test_dropped_messages_are_marked() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    flights = vm.Flights()
    flights.reset(cluster, cluster.pending())
    cluster.timeout(1)
    seen = len(cluster.trace)
    flights.observe(cluster, cluster.pending(), [])
    message = next(e for e in cluster.pending() if e.kind == "deliver")
    cluster.drop(message.id)
    arrows, _ = flights.observe(cluster, cluster.pending(), cluster.trace[seen:])
    (arrow,) = [a for a in arrows.values() if a["id"] == message.id]
    assert arrow["status"] == "dropped" and arrow["marker"] == "x"


def test_terms_over_time_fold_the_trace() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    terms = vm.Timeline("term")
    terms.reset(cluster)
    cluster.run_until(lambda c: c.leader is not None, 5000)
    leader = cluster.leader
    terms.reset(cluster)
    periods = [r for r in terms.rows.values() if r["server"] == leader]
    assert [(p["value"], p["role"]) for p in periods] == [
        (0, "follower"),
        (1, "candidate"),
        (1, "leader"),
    ]
    assert periods[-1]["x1"] == cluster.now and periods[-1]["width"] == 8.0
    assert periods[0]["x1"] == periods[1]["x0"]


def test_commit_index_over_time() -> None:
    cluster = elected()
    commits = vm.Timeline("commit")
    commits.reset(cluster)
    cluster.propose("a")
    seen = len(cluster.trace)
    cluster.run(200)
    changed = commits.fold(cluster, cluster.trace[seen:])
    values = sorted({r["value"] for r in changed.values()})
    assert values[-1] == 2


def test_safety_panel_lists_figure_3_and_durability() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    rows = vm.safety_rows(cluster)
    assert [r.property for r in rows] == [*le.FIGURE_3, "Durability"]
    assert all(r.ok and r.first_step is None for r in rows)


def test_narration_and_status() -> None:
    cluster = elected()
    lines = vm.narration(cluster, last=3)
    assert len(lines) == 3 and lines[-1].step == cluster.step_count
    assert lines[-1].sentence == cluster.trace[-1].sentence
    text = vm.status_text(cluster)
    assert f"step {cluster.step_count}" in text and f"t={cluster.now} ms" in text


def test_mirror_patches_changed_cells_streams_new_rows_and_reuses_slots() -> None:
    mirror = vm.Mirror(("k", "v"), {"k": "", "v": 0})
    assert mirror.full({"a": {"k": "a", "v": 1}}) == {"k": ["a"], "v": [1]}
    update = mirror.update({"a": {"k": "a", "v": 2}, "b": {"k": "b", "v": 3}})
    assert update.patches == {"v": [(0, 2)]}
    assert update.stream == {"k": ["b"], "v": [3]}
    update = mirror.sync({"b": {"k": "b", "v": 3}})  # "a" goes: its slot is blanked
    assert update.patches == {"k": [(0, "")], "v": [(0, 0)]} and update.stream == {}
    update = mirror.update({"c": {"k": "c", "v": 4}})  # and reused
    assert update.patches == {"k": [(0, "c")], "v": [(0, 4)]} and update.empty is False
    assert mirror.table() == {"k": ["c", "b"], "v": [4, 3]}
    assert mirror.update({"c": {"k": "c", "v": 4}}).empty


def test_log_tracker_touches_only_what_changed() -> None:
    cluster = elected()
    tracker = vm.LogTracker()
    tracker.reset(cluster)
    for n in range(30):
        cluster.propose(n)
    cluster.run(300)
    tracker.reset(cluster)
    seen = len(cluster.trace)
    cluster.propose("new")
    upserts, removals = tracker.changes(cluster, cluster.trace[seen:])
    assert list(upserts) == [(cluster.leader, 32)] and removals == []
    seen = len(cluster.trace)
    cluster.run(100)
    upserts, _ = tracker.changes(cluster, cluster.trace[seen:])
    assert {index for _, index in upserts} == {32}
    assert len(upserts) == 3  # appended on the followers, committed everywhere


def live_cells(mirror: vm.Mirror) -> dict[tuple[int, int], vm.Row]:
    """The log cells a mirror holds (blank, reusable slots left out), by (server, index)."""
    table = mirror.table()
    rows = (dict(zip(vm.LOG_COLUMNS, v, strict=True)) for v in zip(*table.values(), strict=True))
    return {(r["server"], r["index"]): r for r in rows if r["line_alpha"] > 0}


def test_incremental_log_equals_a_full_rebuild() -> None:
    """Over a run with crashes and a partition, patching the mirror step by step ends
    with the same cells as building it from scratch."""
    cluster = le.Cluster(servers=5, seed=3)
    tracker = vm.LogTracker()
    mirror = vm.Mirror(vm.LOG_COLUMNS, vm.LOG_BLANK)
    mirror.full(tracker.reset(cluster))
    seen = 0
    for n in range(120):
        if n % 10 == 0:
            cluster.propose(f"v{n}")
        if n == 40:
            cluster.partition({1, 2}, {3, 4, 5})
        if n == 80:
            cluster.heal()
        cluster.run(20)
        events = cluster.trace[seen:]
        seen = len(cluster.trace)
        mirror.update(*tracker.changes(cluster, events))
    assert live_cells(mirror) == vm.log_rows(cluster)


def test_storage_counts_follow_the_trace() -> None:
    cluster = elected()
    leader = cluster.leader
    assert leader is not None
    counts = vm.StorageCounts()
    counts.reset(cluster)
    first = counts.rows(cluster, flash=False)
    assert first[(leader, "save_log")]["count"] == 1  # its no-op
    assert first[(leader, "hard_state")]["count"] >= 1  # its election
    assert not any(r["flash"] for r in first.values())
    seen = len(cluster.trace)
    cluster.propose("x=1")
    cluster.run(100)
    counts.fold(cluster.trace[seen:])
    rows = counts.rows(cluster)
    assert rows[(leader, "save_log")]["count"] == 2 and rows[(leader, "save_log")]["flash"]
    assert all(rows[(s, "save_log")]["count"] == 2 for s in cluster.servers)
    again = vm.StorageCounts()
    again.reset(cluster)
    assert again.counts == counts.counts
    if not hasattr(cluster, "disk_stats"):
        assert rows[(leader, "writes")]["text"] == "n/a"


def test_storage_counts_show_snapshots_and_compactions() -> None:
    cluster = le.Cluster(servers=3, seed=2, snapshot_threshold=4)
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    counts = vm.StorageCounts()
    counts.reset(cluster)
    assert all(counts.rows(cluster)[(s, "snapshots")]["count"] == 0 for s in cluster.servers)
    seen = len(cluster.trace)
    for n in range(10):  # one at a time: a snapshot follows each batch of applies
        cluster.propose(n)
        cluster.run(100)
    counts.fold(cluster.trace[seen:])
    rows = counts.rows(cluster)
    for sid in cluster.servers:
        disk = cluster.disk_stats(sid)
        assert disk["snapshots"] >= 2 and disk["compactions"] >= 2
        assert rows[(sid, "snapshots")]["count"] == disk["snapshots"]
        assert rows[(sid, "compactions")]["text"] == str(disk["compactions"])
        assert rows[(sid, "snapshots")]["flash"]


# ------------------------------------------------- PreVote, transfer, membership


def deliveries(cluster: le.Cluster, kind: str) -> list[le.Event]:
    return [
        e for e in cluster.pending() if e.kind == "deliver" and type(e.message).__name__ == kind
    ]


def test_pre_votes_are_labelled_pre_rv_not_rv() -> None:
    # Thesis §9.6: a pre-candidate asks whether it could win before raising its term.
    cluster = le.Cluster(servers=5, seed=3, prevote=True)
    cluster.timeout(2)
    assert cluster.servers[2].role is le.Role.PRECANDIDATE
    requests = vm.message_rows(cluster)
    assert {r["short"] for r in requests.values()} == {"pre-RV"}
    assert {r["colour"] for r in requests.values()} == {palette.MESSAGE_COLOURS["pre-RV"]}
    assert cluster.run_until(lambda c: deliveries(c, "RequestVoteReply"), 1000)
    replies = [r for r in vm.message_rows(cluster).values() if r["kind"] == "RequestVoteReply"]
    assert replies and all(r["short"].startswith("pre-RV reply ") for r in replies)
    assert {r["colour"] for r in replies} == {palette.MESSAGE_COLOURS["pre-RV reply"]}
    flights = vm.Flights()
    flights.reset(cluster, cluster.pending())
    labels = {a["kind"]: a["label"] for a in flights.arrows.values()} | {
        a["kind"]: a["label"] for a in flights.flying.values()
    }
    assert labels["RequestVoteReply"] == "pre-RV reply"


def test_a_real_vote_is_still_rv_after_the_pre_vote() -> None:
    cluster = le.Cluster(servers=5, seed=3, prevote=True)
    cluster.timeout(2)
    assert cluster.run_until(lambda c: c.servers[2].role is le.Role.CANDIDATE, 1000)
    votes = [r for r in vm.message_rows(cluster).values() if r["kind"] == "RequestVote"]
    assert votes and {r["short"] for r in votes} == {"RV"}
    assert {r["colour"] for r in votes} == {palette.MESSAGE_COLOURS["RV"]}


def test_a_pre_candidate_shows_its_pre_votes() -> None:
    # Five servers: a pre-candidate with two pre-votes (its own and one more) still
    # needs a third, so it stays a pre-candidate and the ring shows both.
    cluster = le.Cluster(servers=5, seed=3, prevote=True)
    cluster.timeout(2)
    assert vm.server_rows(cluster)[2]["votes_text"] == "votes S2"
    assert cluster.run_until(lambda c: len(c.servers[2].votes_granted) == 2, 1000)
    row = vm.server_rows(cluster)[2]
    assert row["role"] == "precandidate"
    granted = sorted(cluster.servers[2].votes_granted)
    assert row["votes"] == 2 and row["votes_text"] == "votes " + " ".join(f"S{v}" for v in granted)


def test_timeout_now_has_its_own_colour_and_label() -> None:
    cluster = elected(servers=3, seed=1)
    cluster.run(200)
    leader = cluster.leader
    assert leader is not None
    target = next(i for i in cluster.servers if i != leader)
    assert cluster.transfer_leadership(to=target).accepted
    assert cluster.run_until(lambda c: deliveries(c, "TimeoutNow"), 1000)
    (row,) = [r for r in vm.message_rows(cluster).values() if r["kind"] == "TimeoutNow"]
    assert row["short"] == "TimeoutNow" and row["target"] == target
    assert row["colour"] == palette.MESSAGE_COLOURS["TimeoutNow"] == palette.VERMILLION


def test_every_message_label_has_its_own_colour_in_the_legend() -> None:
    labels = [label for label, _ in palette.MESSAGE_MEANINGS]
    assert set(labels) == set(palette.MESSAGE_COLOURS)
    colours = [palette.message_colour(label) for label in labels]
    assert len(set(colours)) == len(colours) and palette.GREY not in colours
    assert set(vm.SHORT_NAMES.values()) <= set(labels)


class Bulky(NamedTuple):
    """A message with a long field (as a snapshot's ``data`` can be)."""

    term: int
    data: list[int]


def test_long_message_fields_are_shortened_for_hovering() -> None:
    text = vm.message_fields(Bulky(term=3, data=list(range(1000))))
    term, data = text.removeprefix("Bulky(").removesuffix(")").split(", ", 1)
    assert term == "term=3"
    assert data.startswith("data=[0, 1, 2") and data.endswith("…")
    assert len(data) == len("data=") + vm.FIELD_WIDTH
    assert vm.message_fields(Bulky(term=1, data=[7])) == "Bulky(term=1, data=[7])"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, {1: "", 4: ""}),
        (Configuration.of([1, 2, 3]), {1: "voter", 3: "voter", 4: "removed"}),
        (Configuration.of([1, 2, 3], learners=[4]), {1: "voter", 4: "learner", 5: "removed"}),
        (
            Configuration.of([1, 2, 4], old_voters=[1, 2, 3]),
            {1: "C_old,new", 3: "C_old only", 4: "C_new only", 5: "removed"},
        ),
    ],
)
def test_membership_words(config: Configuration | None, expected: dict[int, str]) -> None:
    assert {sid: vm.membership(config, sid) for sid in expected} == expected


def test_role_text_adds_membership_unless_a_plain_voter() -> None:
    assert vm.role_text("leader", "voter") == "leader"
    assert vm.role_text("follower", "") == "follower"
    assert vm.role_text("follower", "learner") == "follower · learner"
    assert vm.role_text("leader", "C_old,new") == "leader · C_old,new"


def committed_leader(membership: str = "single") -> le.Cluster:
    cluster = le.Cluster(servers=3, seed=1, membership=membership)
    assert cluster.run_until(lambda c: c.leader is not None, 5000)
    cluster.run(300)  # the leader's no-op commits: it may change the configuration
    return cluster


def test_a_learner_and_a_removed_server_on_the_ring_and_in_the_status() -> None:
    cluster = committed_leader()
    assert cluster.add_learner(4).accepted
    rows = vm.server_rows(cluster)
    assert list(rows) == [1, 2, 3, 4]
    assert rows[4]["member"] == "learner" and rows[4]["role_text"] == "follower · learner"
    assert "learners {S4}" in vm.status_text(cluster)
    cluster.run(500)
    assert cluster.remove_server(3).accepted
    cluster.run(500)
    rows = vm.server_rows(cluster)
    assert rows[3]["member"] == "removed" and rows[3]["fill_alpha"] == 0.35
    assert rows[1]["fill_alpha"] == 1.0 and "S3" not in vm.status_text(cluster).split("·")[-1]
    assert rows[3]["config_text"].startswith("S3's configuration: ")


def test_joint_consensus_shows_c_old_new() -> None:
    cluster = committed_leader(membership="joint")
    assert cluster.add_server(4).accepted
    seen: set[str] = set()
    for _ in range(5000):
        cluster.step()
        config = cluster.config
        if config is not None and config.joint:
            rows = vm.server_rows(cluster)
            seen = {rows[1]["member"], rows[4]["member"]}
            assert "C_old {S1, S2, S3} + C_new {S1, S2, S3, S4}" in vm.status_text(cluster)
            break
    assert seen == {"C_old,new", "C_new only"}


def test_a_fresh_cluster_status_names_no_configuration() -> None:
    assert "configuration" not in vm.status_text(le.Cluster(servers=3, seed=1))


def test_a_joining_server_line_starts_at_its_join() -> None:
    cluster = committed_leader()
    cluster.run(200)
    joined_at = cluster.now
    assert cluster.add_server(4).accepted
    cluster.run(400)
    for what in ("term", "commit"):
        timeline = vm.Timeline(what)
        timeline.reset(cluster)
        periods = [r for r in timeline.rows.values() if r["server"] == 4]
        assert min(r["x0"] for r in periods) == joined_at, what
        assert max(r["x1"] for r in periods) == cluster.now
        assert min(r["x0"] for r in timeline.rows.values() if r["server"] == 1) == 0


# ------------------------------------------------------------ log compaction (§7)


def installing_snapshot() -> le.Cluster:
    """Lesson 06's situation: S3 comes back behind the leader's snapshot; run until the
    leader's InstallSnapshot is in flight."""
    cluster = behind_the_snapshot()
    assert cluster.run_until(lambda c: deliveries(c, "InstallSnapshot"), 2000)
    return cluster


def test_a_snapshot_is_one_block_not_missing_cells() -> None:
    cluster = behind_the_snapshot()
    snapshots = vm.snapshot_rows(cluster)
    assert sorted(snapshots) == [s for s in cluster.servers if cluster.servers[s].snapshot_index]
    for sid, row in snapshots.items():
        view = cluster.servers[sid]
        through = view.snapshot_index
        assert row["text"] == f"snapshot through {through} (term {view.snapshot_term})"
        # The block spans indexes 1..through: from 0.5 to through + 0.5.
        assert row["x"] - row["width"] / 2 == 0.5 and row["end"] == through + 0.5
        cells = sorted(index for s, index in vm.log_rows(cluster) if s == sid)
        assert cells == [e.index for e in view.log] and all(i > through for i in cells)
    assert set(vm.SNAPSHOT_BLANK) == set(vm.SNAPSHOT_COLUMNS)


def test_install_snapshot_has_its_own_label_colour_and_short_fields() -> None:
    cluster = installing_snapshot()
    (row,) = [r for r in vm.message_rows(cluster).values() if r["kind"] == "InstallSnapshot"]
    assert row["short"] == "IS" and row["colour"] == palette.MESSAGE_COLOURS["IS"]
    assert "data=[" in row["fields"] and "…" in row["fields"]
    flights = vm.Flights()
    flights.reset(cluster, cluster.pending())
    assert {a["label"] for a in flights.flying.values() if a["kind"] == "InstallSnapshot"} == {"IS"}
    assert cluster.run_until(lambda c: deliveries(c, "InstallSnapshotReply"), 1000)
    replies = [r for r in vm.message_rows(cluster).values() if r["kind"] == "InstallSnapshotReply"]
    assert replies and replies[0]["short"] == "IS reply"


def test_incremental_log_equals_a_full_rebuild_across_compaction_and_installs() -> None:
    """Cells compacted away or covered by an installed snapshot leave the mirror as the
    snapshot grows; patching step by step ends where a rebuild from scratch does."""
    cluster = behind_the_snapshot()
    tracker = vm.LogTracker()
    mirror = vm.Mirror(vm.LOG_COLUMNS, vm.LOG_BLANK)
    mirror.full(tracker.reset(cluster))
    seen = len(cluster.trace)
    for n in range(80):
        if n % 8 == 0 and cluster.leader is not None:
            cluster.propose(f"y{n}")
        cluster.run(15)
        events = cluster.trace[seen:]
        seen = len(cluster.trace)
        mirror.update(*tracker.changes(cluster, events))
    assert any(e.rule == "IS.8" for e in cluster.trace)
    assert live_cells(mirror) == vm.log_rows(cluster)
    # The commit line of the server that installed the snapshot jumps at IS.8.
    (install,) = [e for e in cluster.trace if e.rule == "IS.8"]
    timeline = vm.Timeline("commit")
    timeline.reset(cluster)
    starts = {
        (r["x0"], r["value"]) for r in timeline.rows.values() if r["server"] == install.args[0]
    }
    assert (install.time, install.args[1]) in starts
