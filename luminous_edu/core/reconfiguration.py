"""Not in Figure 2: membership changes (§6 and Ongaro's thesis, chapter 4).

Two jobs, each a set of functions the server calls at named points:

- Every server uses "the latest configuration in its log, regardless of whether the
  entry is committed" (thesis §4.1): ``recover`` finds it on (re)start,
  ``entries_appended`` and ``log_truncated`` follow the log as it changes, and
  ``use_latest_config`` derives who votes and who is replicated to.
- A leader changes the configuration one step at a time (thesis §4.1-§4.2), or through
  C_old,new with joint consensus (§6): ``refusal`` says why a change cannot start now,
  ``change`` starts one, and ``committed`` finishes what a committed configuration
  entry lets it do next. ``add_server`` and ``promote`` first catch the server up as a
  learner in rounds (thesis §4.2.1); the configuration names it ``joining`` meanwhile,
  so that a new leader resumes the catch-up (``finish_predecessors_change``).

Configurations themselves, as data, are in membership.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .bugs import SINGLE_CHANGE_BEFORE_COMMIT
from .membership import Configuration, config_entry_data, parse_config
from .persistence import SaveSnapshot
from .progress import Progress
from .roles import Role

if TYPE_CHECKING:
    from .log import Entry
    from .server import Server

# The kinds of membership change a leader carries out (``Server.change_membership``).
MEMBERSHIP_CHANGES = ("add_server", "remove_server", "add_learner", "promote")

# Catching up a new server (thesis §4.2.1): the leader replicates to it in rounds; each
# round sends everything the leader's log held when the round began. When a round ends
# within the minimum election timeout, the server is caught up. After this many rounds,
# or when one round lasts this many maximum election timeouts (the server is down or
# cut off), the leader gives up.
MAX_CATCHUP_ROUNDS = 10


@dataclass(slots=True)
class CatchUp:
    """A leader catching up ``target`` before it becomes a voter (thesis §4.2.1)."""

    target: int
    round_end: int | None  # the leader's last index when the round began; None: caught up
    started: int  # when the round began
    round: int = 1

    def clone(self) -> CatchUp:
        return replace(self)


# ------------------------------------------------ the latest configuration (§4.1)


def recover(server: Server, bootstrap: Configuration, snapshot: SaveSnapshot | None) -> None:
    """On (re)start: the configuration of the snapshot (§7: "the latest configuration as
    of the last included index"), or the one the server starts from, is in force before
    the configuration entries of the log; the latest of those wins."""
    if snapshot is not None:
        restored = Configuration.from_data(snapshot.config)
        server.reconfigured = restored != bootstrap
        bootstrap = restored
    server.bootstrap_config = server.config = bootstrap
    server.config_indexes = [e.index for e in server.log.entries if e.kind == "config"]
    use_latest_config(server)


def use_latest_config(server: Server, narrate: bool = True) -> None:
    """Adopt the latest configuration in the log, committed or not (thesis §4.1), or
    the bootstrap configuration if the log holds none."""
    if server.config_indexes:
        config = parse_config(server.log.entry(server.config_indexes[-1]).data)
        server.reconfigured = True
    else:
        config = server.bootstrap_config
    changed = config != server.config
    server.config = config
    me = server.id
    server.voters = config.all_voters
    server.vote_peers = tuple(v for v in server.voters if v != me)
    server.peers = tuple(v for v in config.members if v != me)
    if server.role is Role.LEADER:  # a Progress record per member, no more
        for peer in server.peers:
            if peer not in server.progress:
                # A new member: start from the leader's end and back up (§5.3).
                server.progress[peer] = Progress(server.log.last_index + 1)
        for gone in [p for p in server.progress if p not in server.peers]:
            del server.progress[gone]
    if changed and narrate and server.config_indexes:
        server._trace("CONFIG.use", server.config_indexes[-1], config.describe())


def entries_appended(server: Server, entries: tuple[Entry, ...]) -> None:
    """A follower appended ``entries``; any configuration among them is in force now."""
    added = [e.index for e in entries if type(e.data) is dict and e.kind == "config"]
    if added:
        server.config_indexes.extend(added)
        use_latest_config(server)


def log_truncated(server: Server, index: int) -> None:
    """Entries from ``index`` on were deleted: if configuration entries went with them,
    revert to the latest one left (thesis §4.1)."""
    if not server.config_indexes or server.config_indexes[-1] < index:
        return
    while server.config_indexes and server.config_indexes[-1] >= index:
        server.config_indexes.pop()
    before = server.config
    use_latest_config(server)
    server._trace("CONFIG.revert", index, before.describe(), server.config.describe())


def may_campaign(server: Server) -> bool:
    """A voter of the latest configuration may start an election; so may a voter of the
    one before while the latest is not known to be committed: "a server that is not
    part of its own latest configuration should still start new elections, as it might
    still be needed until the C_new entry is committed" (thesis §4.2.2). Its own vote
    counts only if the configuration has it."""
    if server.config.can_vote(server.id):
        return True
    indexes = server.config_indexes
    if not indexes or indexes[-1] <= server.commit_index:
        return False
    if len(indexes) >= 2:
        previous = parse_config(server.log.entry(indexes[-2]).data)
    else:
        previous = server.bootstrap_config
    return previous.can_vote(server.id)


def config_index(server: Server) -> int:
    """The index of the latest configuration entry (the snapshot's, if compacted)."""
    return server.config_indexes[-1] if server.config_indexes else server.log.snapshot_index


def config_data(server: Server, through_index: int | None = None) -> dict[str, Any]:
    """The configuration as a plain JSON-compatible dict, for a snapshot. With
    ``through_index``, the latest configuration as of that index, as a snapshot through
    it keeps it (§7); by default the latest in the log."""
    config = server.config
    if through_index is not None:
        config = server.bootstrap_config
        for index in reversed(server.config_indexes):
            if index <= through_index:
                config = parse_config(server.log.entry(index).data)
                break
    return config.to_data()


def restore_config(server: Server, data: Any) -> None:
    """Take the configuration of a snapshot (``config_data``'s dict) as the one in force
    before every configuration entry still in the log; entries the snapshot replaced no
    longer count."""
    server.bootstrap_config = Configuration.from_data(data)
    log = server.log
    server.config_indexes = [
        i for i in server.config_indexes if log.snapshot_index < i <= log.last_index
    ]
    server.reconfigured = server.reconfigured or server.bootstrap_config != server.config
    use_latest_config(server)


# ------------------------------------------------------- a leader's changes


def refusal(server: Server, change: str, target: int) -> str | None:
    """Why membership change ``change`` of server ``target`` cannot start now, or None
    if it can."""
    config = server.config
    if server.role is not Role.LEADER:
        return f"S{server.id} is not the leader"
    if server.transfer is not None:
        return f"a leadership transfer to S{server.transfer.target} is under way"
    if not committed_in_own_term(server) and SINGLE_CHANGE_BEFORE_COMMIT not in server.bugs:
        # "a leader may not append a new configuration entry until it has committed an
        # entry from its current term" (the 2015 fix, thesis §4.1). With the BUG SWITCH
        # single_change_before_commit on, a leader may (``change`` says so in the trace).
        return (
            f"S{server.id} has not yet committed an entry of its term {server.current_term} "
            "(a new leader must, before changing the configuration: thesis §4.1)"
        )
    if server.config_indexes and server.config_indexes[-1] > server.commit_index:
        return (
            f"the configuration change at index {server.config_indexes[-1]} is not "
            "committed yet: one change at a time (thesis §4.1)"
        )
    if config.joint:
        return "a joint configuration C_old,new is in force: C_new comes first (§6)"
    if server.catchup is not None:
        return f"S{server.catchup.target} is still catching up before it becomes a voter"
    if change in ("add_server", "add_learner") and target in config.members:
        place = "a voter" if target in config.voters else "a learner"
        if change == "add_learner" or place == "a voter":
            return f"S{target} is already {place}"
    if change == "promote" and target not in config.learners:
        return f"S{target} is not a learner (add it with add_learner first)"
    if change == "remove_server":
        if target not in config.members:
            return f"S{target} is not in the configuration {config.describe()}"
        if config.voters == (target,):
            return f"S{target} is the last voter; a configuration needs at least one"
    return None


def committed_in_own_term(server: Server) -> bool:
    return server.log.term_at(server.commit_index) == server.current_term


def change(server: Server, change: str, target: int) -> str | None:
    """Start a membership change at the leader; the reason it is refused, or None.

    ``add_server`` makes ``target`` a learner, catches it up in rounds (thesis §4.2.1),
    then makes it a voter; ``promote`` does the last two for a learner.
    ``remove_server`` and ``add_learner`` append the new configuration at once. With
    joint consensus a change of voters goes through C_old,new first (§6)."""
    if change not in MEMBERSHIP_CHANGES:
        raise ValueError(f"{change!r} is not one of {', '.join(MEMBERSHIP_CHANGES)}")
    reason = refusal(server, change, target)
    if reason is not None:
        return reason
    if not committed_in_own_term(server):
        # BUG SWITCH single_change_before_commit (refusal() lets it through): "a leader
        # may not append a new configuration entry until it has committed an entry from
        # its current term" (thesis §4.1). This one starts the change now.
        server._trace("BUG.single_change_before_commit", change, target, server.current_term)
    config = server.config
    server._trace("CONFIG.start", change, target, config.describe())
    voters, learners, joining = config.voters, config.learners, config.joining
    if change == "add_learner":
        append_config(server, Configuration.of(voters, (*learners, target), joining=joining))
    elif change in ("add_server", "promote"):
        if target not in config.members:
            # A new server joins as a learner marked ``joining``: the change is half
            # done, so whoever leads makes it a voter once it has caught up
            # (finish_predecessors_change). A learner being promoted changes nothing
            # until it becomes a voter: if the leader changes first, promote again.
            learners, joining = (*learners, target), (*joining, target)
            append_config(server, Configuration.of(voters, learners, joining=joining))
        server.catchup = CatchUp(target, server.log.last_index, server.now)
        caught_up_more(server, target)
    elif target in learners:  # remove_server of a learner
        learners = tuple(i for i in learners if i != target)
        append_config(server, Configuration.of(voters, learners, joining=joining))
    else:
        change_voters(server, tuple(i for i in voters if i != target))
    return None


def change_voters(server: Server, voters: tuple[int, ...]) -> None:
    config = server.config
    learners = tuple(i for i in config.learners if i not in voters)
    if server.joint_consensus:
        # "the leader first creates the C_old,new configuration entry" (§6)
        old_voters: tuple[int, ...] | None = config.voters
    else:
        old_voters = None
    append_config(server, Configuration.of(voters, learners, old_voters, config.joining))


def append_config(server: Server, config: Configuration) -> None:
    entry = server.append_new_entry(config_entry_data(config))
    server.config_indexes.append(entry.index)
    use_latest_config(server, narrate=False)
    server._trace("CONFIG.append", entry.index, config.describe())
    server.replicate()


def caught_up_more(server: Server, peer: int) -> None:
    """``peer`` acknowledged more of the log. Thesis §4.2.1: a round ends when the new
    server has every entry the leader held when the round began; a round shorter than
    the minimum election timeout means it is caught up. Then, once its learner entry is
    committed, it becomes a voter."""
    catchup = server.catchup
    if catchup is None or peer != catchup.target:
        return
    target = catchup.target
    if catchup.round_end is not None:
        progress = server.progress.get(target)
        if progress is None or progress.match_index < catchup.round_end:
            return
        took = server.now - catchup.started
        if took >= server.min_election_timeout_ms:
            if catchup.round >= MAX_CATCHUP_ROUNDS:
                server._trace("CONFIG.catchup_abort", target, catchup.round)
                server.catchup = None
                return
            server._trace("CONFIG.round", target, catchup.round, took)
            server.catchup = CatchUp(target, server.log.last_index, server.now, catchup.round + 1)
            return
        server._trace("CONFIG.caught_up", target, catchup.round, took)
        catchup.round_end = None
    if server.config_indexes and server.config_indexes[-1] > server.commit_index:
        return  # the learner's own entry first: one change at a time
    if not committed_in_own_term(server):
        if SINGLE_CHANGE_BEFORE_COMMIT not in server.bugs:
            return  # a new leader commits an entry of its term first (thesis §4.1)
        # BUG SWITCH single_change_before_commit: the same sentence, broken here too.
        server._trace("BUG.single_change_before_commit", "promote", target, server.current_term)
    server.catchup = None
    change_voters(server, (*server.config.voters, target))


def abort_catchup_if_overdue(server: Server) -> None:
    """At a heartbeat: one round has lasted MAX_CATCHUP_ROUNDS maximum election
    timeouts; the new server is down or cut off."""
    catchup = server.catchup
    assert catchup is not None
    if server.now - catchup.started >= MAX_CATCHUP_ROUNDS * server.max_election_timeout_ms:
        server._trace("CONFIG.catchup_abort", catchup.target, catchup.round)
        server.catchup = None


def committed(server: Server, commit_index: int) -> None:
    """The leader committed through ``commit_index``: if that covers its latest
    configuration, finish what it started."""
    if server.reconfigured and config_index(server) <= commit_index:
        _configuration_committed(server)


def finish_predecessors_change(server: Server) -> None:
    """A new leader finishes what a predecessor began: the second half of a joint
    change (§6), and the catch-up of a server that ``add_server`` or ``promote`` is
    bringing in (it becomes a voter once caught up, as in ``change``)."""
    config = server.config
    if config.joint and config_index(server) <= server.commit_index:
        _configuration_committed(server)
    elif config.joining and server.catchup is None:
        target = config.joining[0]
        server._trace("CONFIG.resume", target, config.describe())
        server.catchup = CatchUp(target, server.log.last_index, server.now)


def _configuration_committed(server: Server) -> None:
    config = server.config
    if config.joint:
        # "Once C_old,new has been committed ... it is now safe for the leader to create
        # a log entry describing C_new" (§6)
        append_config(
            server, Configuration.of(config.voters, config.learners, None, config.joining)
        )
    elif server.id not in config.voters:
        # "the leader steps down (returns to follower state) once the C_new entry is
        # committed" (thesis §4.2.2)
        why = ("CONFIG.step_down", (server.id, config_index(server)))
        server.become_follower(server.current_term, why)
    elif server.catchup is not None:
        caught_up_more(server, server.catchup.target)
