"""View models: cluster state -> columns, without bokeh or a browser."""

from __future__ import annotations

import subprocess
import sys
from typing import NamedTuple

import pytest

import luminous_edu as le
from luminous_edu.core.membership import Configuration
from luminous_edu.sim.scenarios import behind_the_snapshot
from luminous_edu.viz import flights as fl
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
    # The browser drains the arc from the due time, around the server.
    assert (timers[1]["x"], timers[1]["y"]) == (first["x"], first["y"])
    assert timers[1]["span"] == 300
    due = {e.target: e.due for e in cluster.pending() if e.kind == "election_timeout"}
    assert {sid: r["due"] for sid, r in timers.items()} == due
    assert first["votes"] == 0 and first["votes_text"] == ""
    assert first["votes_y"] < first["y"] - vm.SERVER_RADIUS  # written under the circle


def test_server_rows_show_roles_votes_and_crashes() -> None:
    cluster = elected()
    leader = cluster.leader
    assert leader is not None
    rows = vm.server_rows(cluster)
    assert rows[leader]["role"] == "leader" and vm.timer_rows(cluster)[leader]["due"] == -1
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
    assert rows[(1, 2)]["label"] == "cut" and rows[(2, 3)]["label"] == ""
    assert rows[(1, 2)]["why"] == "S1-S2 cut: a partition separates them"
    assert (rows[(1, 2)]["mx"], rows[(1, 2)]["my"]) == (
        round((rows[(1, 2)]["x0"] + rows[(1, 2)]["x1"]) / 2, 6),
        round((rows[(1, 2)]["y0"] + rows[(1, 2)]["y1"]) / 2, 6),
    )
    cluster.heal()
    cluster.disconnect(3)
    servers = vm.server_rows(cluster)
    assert servers[3]["connected"] is False and servers[3]["group"] == -1
    assert servers[3]["line_dash"] == "dashed" and servers[1]["line_dash"] == "solid"
    links = vm.link_rows(cluster)
    assert [k for k, r in links.items() if r["cut"]] == [(1, 3), (2, 3)]
    assert links[(1, 3)]["why"] == "S1-S3 cut: S3 is disconnected"


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
        "text_colour": "#000000",  # dark text on a light tint: easy to read
        "committed": False,
        "fill_alpha": 0.28,
        "line_alpha": 1.0,
        "line_dash": "dashed",  # "not committed yet"
        "line_width": 2.0,
    }
    cluster.run(200)
    rows = vm.log_rows(cluster)
    assert all(rows[(s, 2)]["committed"] for s in (1, 2, 3))
    assert rows[(leader, 2)]["line_dash"] == "solid" and rows[(leader, 2)]["fill_alpha"] == 1.0


def test_uncommitted_cells_of_dark_terms_keep_dark_text() -> None:
    """A dark term colour takes white text once committed; not committed yet, the cell is
    a light tint and its text stays dark (Figure 8's term-3 entry is one)."""
    entry = le.Entry(index=3, term=3, data="x")
    assert palette.term_text_colour(3) == "#FFFFFF"
    assert vm.log_row(1, entry, commit_index=2)["text_colour"] == "#000000"
    assert vm.log_row(1, entry, commit_index=3)["text_colour"] == "#FFFFFF"


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


def test_messages_move_along_their_lane_from_source_to_target() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    cluster.timeout(1)  # S1 sends RequestVote to S2 and S3 at t=now
    sent = cluster.now
    pending = [e for e in cluster.pending() if e.kind == "deliver"]
    assert pending and all(e.sent == sent for e in pending)
    rows = fl.message_rows(cluster)
    row = rows[pending[0].id]
    assert row["kind"] == "RequestVote" and row["short"] == "RV" and row["label"] == "RV"
    assert row["progress"] == 0.0 and row["sent"] == sent and row["due"] == pending[0].due
    assert row["status"] == "flight" and row["end"] == -1 and row["marker"] == "circle"
    assert row["fields"].startswith("RequestVote(term=1, candidate_id=1")
    # The lane starts past the edge of S1's circle and ends before S2's: a message
    # never covers a server's name, term or role.
    where = vm.positions(cluster)
    (ax, ay), (bx, by) = where[1], where[pending[0].target]
    x0, y0, x1, y1 = (row[k] for k in ("x0", "y0", "x1", "y1"))
    assert ((x0 - ax) ** 2 + (y0 - ay) ** 2) ** 0.5 > vm.SERVER_RADIUS
    assert ((x1 - bx) ** 2 + (y1 - by) ** 2) ** 0.5 > vm.SERVER_RADIUS
    assert (row["x"], row["y"]) == (x0, y0)
    # Halfway in time, halfway along the lane.
    assert fl.progress(sent + 5, sent, sent + 10) == 0.5
    # A request and its reply travel side by side, not on top of each other.
    back = fl.lane(where, pending[0].target, 1)
    assert (back[2], back[3]) != (x0, y0)


def test_message_shapes_tell_requests_and_answers_apart() -> None:
    from luminous_edu.core.messages import AppendEntries, AppendEntriesReply, RequestVoteReply

    ae = AppendEntries(
        term=1, leader_id=1, prev_log_index=0, prev_log_term=0, entries=(), leader_commit=0
    )
    assert fl.message_shape(ae) == ("circle", 9)  # a heartbeat: small
    carrying = ae._replace(entries=(le.Entry(index=1, term=1, data="x"),))
    assert fl.message_shape(carrying) == ("circle", 15)
    assert fl.message_shape(AppendEntriesReply(term=1, success=True))[0] == "square"
    assert fl.message_shape(AppendEntriesReply(term=1, success=False))[0] == "square_x"
    assert fl.message_shape(RequestVoteReply(term=1, vote_granted=False))[0] == "square_x"
    assert palette.message_colour("AE reply") == palette.message_colour("AE") == palette.BLUE


def watched(cluster: le.Cluster) -> fl.MessageHistory:
    history = fl.MessageHistory()
    history.reset(cluster)
    return history


def test_the_history_sees_a_message_sent_and_delivered_between_updates() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    history = watched(cluster)
    cluster.timeout(1)
    assert history.observe(cluster)
    arrows = history.all_arrows(cluster.step_count)
    assert sorted((a["y0"], a["y1"], a["status"]) for a in arrows.values()) == [
        (1.0, 2.0, "flight"),
        (1.0, 3.0, "flight"),
    ]
    assert all(a["x0"] == cluster.now and a["s0"] == cluster.step_count for a in arrows.values())
    while any(e.kind == "deliver" and e.source == 1 for e in cluster.pending()):
        cluster.step()
        assert history.observe(cluster)
    # Every request arrived; their replies were sent and are in flight or arrived too.
    ring = history.ring_rows(vm.positions(cluster), cluster.now)
    delivered = [r for r in ring.values() if r["status"] == "delivered"]
    assert delivered and all(r["end"] >= r["sent"] and r["alpha"] == 0.0 for r in delivered)
    arrows = history.all_arrows(cluster.step_count)
    requests = [a for a in arrows.values() if a["y0"] == 1.0 and a["kind"] == "RequestVote"]
    assert {a["status"] for a in requests} == {"delivered"}
    assert all(a["s1"] > a["s0"] for a in requests)
    history.settle()  # shown once: the ring lets them go
    assert all(
        r["status"] == "flight" for r in history.ring_rows(vm.positions(cluster), 0).values()
    )


def test_the_history_marks_dropped_and_lost_messages() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    history = watched(cluster)
    cluster.timeout(1)
    assert history.observe(cluster)
    message = next(e for e in cluster.pending() if e.kind == "deliver")
    cluster.drop(message.id)
    assert history.observe(cluster)
    (arrow,) = [a for a in history.all_arrows(cluster.step_count).values() if a["id"] == message.id]
    assert arrow["status"] == "dropped" and arrow["marker"] == "x"
    # A cut link loses what is sent across it: a short stub, marked lost.
    cluster.partition({1}, {2, 3})
    assert history.observe(cluster)
    cluster.timeout(1)
    assert history.observe(cluster)
    stubs = [a for a in history.all_arrows(cluster.step_count).values() if a["id"] == -1]
    assert stubs and {a["status"] for a in stubs} == {"lost"}


def test_a_jump_or_unwatched_steps_ask_for_a_rebuild() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    history = watched(cluster)
    cluster.run(300)
    assert not history.observe(cluster)  # many steps at once: nothing changed
    assert history.step == 0


def test_a_rebuild_replays_the_window_and_leaves_the_cluster_as_it_was() -> None:
    cluster = elected(servers=5, seed=7)
    cluster.propose("x=1")
    cluster.run(333)
    here, now, digest = cluster.step_count, cluster.now, cluster.trace_digest()
    future = cluster.history_length
    history = fl.MessageHistory()
    history.rebuild(cluster, vm.step_at_time(cluster, now - 200))
    assert (cluster.step_count, cluster.now, cluster.trace_digest()) == (here, now, digest)
    assert cluster.history_length == future
    arrows = history.all_arrows(here)
    assert len(arrows) > 10 and history.recent == {}
    # The same arrows as watching every step from the window's start.
    twin = elected(servers=5, seed=7)
    twin.propose("x=1")
    start = vm.step_at_time(cluster, now - 200)
    twin.run_until(lambda c: c.step_count == start, 5000)
    watcher = watched(twin)
    twin.run_until(lambda c: not watcher.observe(c) or c.step_count == here, 5000)
    finished = {k: a for k, a in watcher.all_arrows(here).items() if a["status"] != "flight"}
    assert finished.items() <= arrows.items()


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


def test_the_status_names_every_server_that_believes_it_leads() -> None:
    cluster = elected(servers=5, seed=7)
    old = cluster.leader
    assert old is not None
    cluster.partition({old}, {i for i in cluster.servers if i != old})
    assert cluster.run_until(lambda c: c.leader not in (None, old), 5000)
    new = cluster.leader
    assert [sid for sid, _ in vm.leaders(cluster)] == [new, old]
    text = vm.status_text(cluster)
    terms = {sid: cluster.servers[sid].current_term for sid in (old, new)}
    assert f"2 leaders: S{new} (term {terms[new]}), S{old} (term {terms[old]})" in text


def test_periods_carry_steps_for_time_that_stands_still() -> None:
    """Manual scheduling at t=0 (the paper's figures): each period has no length in
    virtual time, but it has one in steps."""
    cluster = le.Cluster(servers=3, seed=1)
    cluster.timeout(1)
    for _ in range(6):
        cluster.fire(next(e.id for e in cluster.pending() if e.kind == "deliver"))
    assert cluster.now == 0 and cluster.leader == 1
    terms = vm.Timeline("term")
    terms.reset(cluster)
    leading = [r for r in terms.rows.values() if r["server"] == 1 and r["role"] == "leader"]
    (period,) = leading
    assert period["x0"] == period["x1"] == 0
    assert period["s1"] == cluster.step_count and period["s0"] < period["s1"]


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
    requests = fl.message_rows(cluster)
    assert {r["short"] for r in requests.values()} == {"pre-RV"}
    assert {r["colour"] for r in requests.values()} == {palette.MESSAGE_COLOURS["pre-RV"]}
    assert cluster.run_until(lambda c: deliveries(c, "RequestVoteReply"), 1000)
    replies = [r for r in fl.message_rows(cluster).values() if r["kind"] == "RequestVoteReply"]
    assert replies and all(r["short"].startswith("pre-RV reply ") for r in replies)
    assert {r["colour"] for r in replies} == {palette.MESSAGE_COLOURS["pre-RV"]}
    assert {r["label"] for r in replies} == {"pre-RV reply"}
    arrows = watched(cluster).all_arrows(cluster.step_count).values()
    assert {a["label"].split(" ✓")[0].split(" ✗")[0] for a in arrows} >= {"pre-RV reply"}


def test_a_real_vote_is_still_rv_after_the_pre_vote() -> None:
    cluster = le.Cluster(servers=5, seed=3, prevote=True)
    cluster.timeout(2)
    assert cluster.run_until(lambda c: c.servers[2].role is le.Role.CANDIDATE, 1000)
    votes = [r for r in fl.message_rows(cluster).values() if r["kind"] == "RequestVote"]
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
    (row,) = [r for r in fl.message_rows(cluster).values() if r["kind"] == "TimeoutNow"]
    assert row["short"] == "TimeoutNow" and row["target"] == target
    assert row["colour"] == palette.MESSAGE_COLOURS["TimeoutNow"] == palette.VERMILLION


def test_every_message_kind_has_its_own_colour_in_the_legend() -> None:
    labels = [label for label, _meaning, _colour in palette.MESSAGE_KINDS]
    colours = [palette.message_colour(label) for label in labels]
    assert len(set(colours)) == len(colours) and palette.GREY not in colours
    requests = {v for v in vm.SHORT_NAMES.values() if not v.endswith(" reply")}
    assert requests <= set(labels)
    assert [m for m, _ in palette.MESSAGE_SHAPES] == [fl.REQUEST, fl.YES, fl.NO]


class Bulky(NamedTuple):
    """A message with a long field (as a snapshot's ``data`` can be)."""

    term: int
    data: list[int]


def test_long_message_fields_are_shortened_for_hovering() -> None:
    text = fl.message_fields(Bulky(term=3, data=list(range(1000))))
    term, data = text.removeprefix("Bulky(").removesuffix(")").split(", ", 1)
    assert term == "term=3"
    assert data.startswith("data=[0, 1, 2") and data.endswith("…")
    assert len(data) == len("data=") + vm.FIELD_WIDTH
    assert fl.message_fields(Bulky(term=1, data=[7])) == "Bulky(term=1, data=[7])"


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
    (row,) = [r for r in fl.message_rows(cluster).values() if r["kind"] == "InstallSnapshot"]
    assert row["short"] == "IS" and row["colour"] == palette.MESSAGE_COLOURS["IS"]
    assert "data=[" in row["fields"] and "…" in row["fields"]
    arrows = watched(cluster).all_arrows(cluster.step_count).values()
    assert {a["label"] for a in arrows if a["kind"] == "InstallSnapshot"} == {"IS"}
    assert cluster.run_until(lambda c: deliveries(c, "InstallSnapshotReply"), 1000)
    replies = [r for r in fl.message_rows(cluster).values() if r["kind"] == "InstallSnapshotReply"]
    assert replies and replies[0]["short"] == "IS reply" and replies[0]["marker"] == "square"


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
