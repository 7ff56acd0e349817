"""One Raft server as a pure state machine: Figure 2 of the Raft paper, by role.

Theory of operation
-------------------
A ``Server`` owns no clock, randomness, threads or I/O. The world calls one of its
inputs and gets back an ``Output`` of effects to carry out: storage messages first, then
sends, applies and timer instructions (see output.py). The inputs:

- ``boot(now)`` once, after construction from the recovered ``StoredState``;
- ``handle(source, message, now)`` for a delivered RPC or reply;
- ``election_timeout(now)`` and ``heartbeat_timeout(now)`` when a timer fires (the
  world draws the durations: that is where randomized election timeouts come from);
- ``propose(data, now)`` for a client request;
- ``log_saved(index, now)`` once the storage messages of an output that asked for it
  (``Output.save_through``: a leader appended entries) have been carried out;
- beyond Figure 2: ``read``, ``transfer_leadership``, ``change_membership`` and
  ``take_snapshot``.

Reading beside Figure 2
-----------------------
``handle`` applies the rule for all servers, "If RPC request or response contains term
T > currentTerm: set currentTerm = T, convert to follower" (§5.1), then passes the
message to the step function of the server's role: ``step_follower``,
``step_candidate`` or ``step_leader``. ``become_follower``, ``become_candidate`` and
``become_leader`` switch roles by installing the role's step function, as etcd's
raft.go does (``becomeFollower`` sets ``r.step = stepFollower``). Each receiver rule is
one short block quoting the paper; its trace event carries a stable rule id from
``rules.RULES``. Persistent state changes are collected during a step and emitted as
storage messages before any send, so nothing leaves before what it depends on is on
stable storage.

Beyond Figure 2, each extension lives in a module of its own and is called from here at
a named point: ``prevote`` (thesis §9.6: the pre-candidate role and its step function),
``check_quorum`` (§6.2 and leader stickiness, §4.2.3), ``transfer`` (§3.10), ``reads``
(ReadIndex and leases, §6.4), ``reconfiguration`` (membership changes and catch-up,
chapter 4) and ``snapshots`` (log compaction, §7 and Figure 13). A leader's knowledge
of each peer is one ``progress.Progress`` record.

The rules the classic Raft bugs break are each one block here: the vote rule [RV.2]
and the election restriction (``log.is_up_to_date``) in ``handle_request_vote``, the
current-term check of ``advance_commit_index``, and the term checks at the top of the
leader's reply handlers and of ``handle_request_vote_reply`` (stale replies). A server
built with ``bugs={...}`` breaks them on purpose (bugs.py): each block marked ``BUG
SWITCH`` quotes the sentence it breaks, does the wrong thing, and says so in the trace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import check_quorum, prevote, reads, reconfiguration, snapshots, transfer
from .bugs import (
    COMMIT_OLD_TERM,
    COMMIT_PAST_LAST_NEW,
    DELETE_MATCHING_ENTRIES,
    NO_ELECTION_RESTRICTION,
    SINGLE_CHANGE_BEFORE_COMMIT,
    STALE_REPLIES,
    VOTE_TWICE,
)
from .log import Entry, RaftLog, noop_data
from .membership import Configuration
from .messages import (
    AppendEntries,
    AppendEntriesReply,
    InstallSnapshot,
    InstallSnapshotReply,
    Message,
    RequestVote,
    RequestVoteReply,
    TimeoutNow,
)
from .output import RESET, START, STOP, Output, ProposalOutcome
from .persistence import SaveHardState, SaveLog, SaveSnapshot, StoredState, TruncateLog
from .progress import Progress
from .roles import Role
from .rules import server_names, short_repr

# Not in Figure 2: flow control. At most this many entries travel in one AppendEntries.
MAX_ENTRIES_PER_MESSAGE = 256

MEMBERSHIP_CHANGES = reconfiguration.MEMBERSHIP_CHANGES


Step = Callable[["Server", int, Message], None]


class Server:
    """The state and rules of one server, grouped as Figure 2 groups them."""

    def __init__(
        self,
        server_id: int,
        voters: tuple[int, ...],
        stored: StoredState,
        leader_noop: bool = True,
        prevote: bool = False,
        check_quorum: bool = False,
        election_timeout_ms: tuple[int, int] = (150, 300),
        joint_consensus: bool = False,
        single_change_bug: bool = False,
        snapshot_threshold: int | None = None,
        lease_ms: int | None = None,
        bugs: frozenset[str] = frozenset(),
    ) -> None:
        self.id = server_id
        # Not in Figure 2: the switches. A new leader appends a no-op entry (§8); the
        # thesis's extensions; membership changes through C_old,new (§6) or one server
        # at a time; the classic bugs, on purpose (bugs.py; ``single_change_bug`` is
        # the older name of Ongaro's 2015 bug, thesis §4.1); compaction once this many
        # applied entries lie past the last snapshot (§7; None never).
        self.leader_noop = leader_noop
        self.prevote = prevote  # thesis §9.6
        self.check_quorum = check_quorum  # thesis §6.2, and leader stickiness (§4.2.3)
        self.joint_consensus = joint_consensus
        self.bugs = (bugs | {SINGLE_CHANGE_BEFORE_COMMIT}) if single_change_bug else bugs
        self.snapshot_threshold = snapshot_threshold
        self.lease_ms = lease_ms  # thesis §6.4.1: how long a lease lasts (None: no leases)
        self.min_election_timeout_ms, self.max_election_timeout_ms = election_timeout_ms
        self.now = 0  # virtual time of the input being handled; time reaches us only so

        # Persistent state on all servers (updated on stable storage before responding
        # to RPCs)
        self.current_term: int = stored.current_term
        self.voted_for: int | None = stored.voted_for
        # log[] (and, not in Figure 2, the last snapshot: §7)
        self.snapshot: SaveSnapshot | None = stored.snapshot
        base = stored.snapshot
        self.log = RaftLog(
            stored.entries, base.last_index if base else 0, base.last_term if base else 0
        )

        # Volatile state on all servers. "The snapshot replaces all entries up through
        # and including" its last index: they were committed and applied, and the world
        # restores the state machine from it before this server takes its first input.
        self.commit_index = self.last_applied = self.log.snapshot_index
        self.role = Role.FOLLOWER
        self.step: Step = step_follower  # the role's step function (see become_*)
        self.leader_id: int | None = None  # Not in Figure 2: for client redirects
        self.votes_granted: set[int] = set()  # candidates (and pre-candidates)
        self.last_leader_contact: int | None = None  # when a leader was last heard
        # When this server restarted with a term of its own (check_quorum.py).
        self.restarted_at: int | None = None

        # Volatile state on leaders (reinitialized after election): nextIndex[] and
        # matchIndex[], one Progress record per peer (progress.py).
        self.progress: dict[int, Progress] = {}
        # Not in Figure 2: the heartbeat round (flow control counts in rounds); the last
        # index of this leader's own log that its storage has made durable (it counts
        # for commitment only then); when it was elected.
        self.heartbeat_round = 0
        self.saved_index = 0
        self.leader_since = 0
        self.transfer: transfer.Transfer | None = None  # §3.10
        self.catchup: reconfiguration.CatchUp | None = None  # thesis §4.2.1
        self.reads = reads.Reads()  # ReadIndex rounds and leases, thesis §6.4
        self.read_round = 0  # the newest ReadIndex round; every AppendEntries carries it

        self._out = Output()
        self._hard_state_dirty = False
        # Not in Figure 2: membership (reconfiguration.py). "A server always uses the
        # latest configuration in its log" (thesis §4.1), also after a restart. Before
        # any configuration entry: ``voters``, or the snapshot's (empty for a server
        # added later: it learns its configuration from the leader's log).
        self.bootstrap_config = self.config = Configuration.of(voters)
        self.config_indexes: list[int] = []  # indexes of configuration entries in the log
        self.reconfigured = False  # ever held a configuration entry (thesis §4.2.3)
        self.voters: tuple[int, ...] = ()  # who votes (both halves of C_old,new)
        self.vote_peers: tuple[int, ...] = ()  # the voters but this server
        self.peers: tuple[int, ...] = ()  # every member but this server
        reconfiguration.recover(self, self.bootstrap_config, base)

    def clone(self) -> Server:
        twin = object.__new__(Server)
        twin.__dict__.update(self.__dict__)
        twin.log = self.log.clone()
        twin.votes_granted = set(self.votes_granted)
        twin.progress = {peer: p.clone() for peer, p in self.progress.items()}
        twin.reads = self.reads.clone()
        twin.config_indexes = list(self.config_indexes)
        twin.catchup = None if self.catchup is None else self.catchup.clone()
        twin.transfer = None if self.transfer is None else self.transfer.clone()
        twin._out = Output()
        return twin

    # Figure 2's arrays, as the views show them: copies, derived from the records.
    @property
    def next_index(self) -> dict[int, int]:
        return {peer: p.next_index for peer, p in self.progress.items()}

    @property
    def match_index(self) -> dict[int, int]:
        return {peer: p.match_index for peer, p in self.progress.items()}

    @property
    def snapshot_index(self) -> int:
        return self.log.snapshot_index

    @property
    def snapshot_term(self) -> int:
        return self.log.snapshot_term

    @property
    def transfer_target(self) -> int | None:
        return None if self.transfer is None else self.transfer.target

    @property
    def lease_until(self) -> int:
        """When this leader's lease ends (0: it holds none; reads.py)."""
        return reads.lease_until(self)

    # ------------------------------------------------------------------ inputs

    def boot(self, now: int = 0) -> Output:
        self._begin(now)
        if self.current_term > 0:
            self.restarted_at = now
        self._trace("BOOT", self.current_term, len(self.log))
        if self.snapshot is not None:
            self._trace("BOOT.snapshot", self.log.snapshot_index)
        self._out.election_timer = RESET
        return self._finish()

    def handle(self, source: int, m: Message, now: int = 0) -> Output:
        self._begin(now)
        if isinstance(m, RequestVote):
            ignored = check_quorum.sticky(self, m)
            if ignored is not None:  # leader stickiness (thesis §4.2.3): not even the term
                self._out.trace.append(ignored)
                return self._finish()
        # "If RPC request or response contains term T > currentTerm: set currentTerm = T,
        # convert to follower" (§5.1). A PreVote, or a granted answer to one, carries a
        # term nobody holds yet and changes nothing (thesis §9.6).
        if m.term > self.current_term and not prevote.is_pre_vote_traffic(m):
            why = ("TERM", (self.id, m.term, type(m).__name__, source, self.current_term))
            self.become_follower(m.term, why)
        self.step(self, source, m)
        return self._finish()

    def election_timeout(self, now: int = 0) -> Output:
        self._begin(now)
        if self.role is Role.LEADER:  # leaders have no election timer; nothing to do
            self._out.election_timer = STOP
        elif not reconfiguration.may_campaign(self):
            # Not in Figure 2: a learner, a new server, or a removed one that knows its
            # removal is committed never campaigns. Its timer stops until a leader's
            # message (which may bring a configuration that has it vote) resets it.
            self._trace("ET.nonvoter", self.config.describe())
            self._out.election_timer = STOP
        elif self.prevote:
            prevote.become_precandidate(self)
        else:
            # "If election timeout elapses without receiving AppendEntries RPC from
            # current leader or granting vote to candidate: convert to candidate" (§5.2)
            self.become_candidate("ET")
        return self._finish()

    def heartbeat_timeout(self, now: int = 0) -> Output:
        self._begin(now)
        if self.role is not Role.LEADER:
            self._out.heartbeat_timer = STOP
            return self._finish()
        if self.check_quorum:
            # Not in Figure 2: CheckQuorum (check_quorum.py)
            active = check_quorum.recently_active(self)
            if not self.config.has_quorum(active):
                window = self.min_election_timeout_ms
                why = ("CQ", (self.id, len(active), self.config.quorum_size(), window))
                self.become_follower(self.current_term, why)
                return self._finish()
        if self.transfer is not None:
            transfer.abort_if_overdue(self)
        if self.catchup is not None:
            reconfiguration.abort_catchup_if_overdue(self)
        # "Upon election: send initial empty AppendEntries RPCs (heartbeat) to each
        # server; repeat during idle periods to prevent election timeouts" (§5.2)
        self._trace("HB")
        self.heartbeat_round += 1
        if self.lease_ms is not None:
            reads.heartbeat_round_started(self)  # every heartbeat round extends the lease
        last = self.log.last_index
        heartbeat = self.append_entries(last, ())
        for peer in self.peers:
            progress = self.progress[peer]
            if progress.next_index > last:
                self._send(peer, heartbeat)  # the same to every follower that lacks nothing
            else:
                progress.presume_lost(self.heartbeat_round)
                self.send_append_entries(peer, with_entries=progress.ready())
        self._out.heartbeat_timer = START
        return self._finish()

    def propose(self, data: Any, now: int = 0) -> tuple[ProposalOutcome, Output]:
        self._begin(now)
        if self.role is not Role.LEADER or self.transfer is not None:
            # (During a leadership transfer the leader refuses commands: thesis §3.10.)
            return ProposalOutcome(False, None, None, self.leader_id), self._finish()
        # "If command received from client: append entry to local log, respond after
        # entry applied to state machine" (§5.3)
        entry = self.append_new_entry(data)
        self._trace("PROPOSE", self.current_term, entry.index, short_repr(data))
        self.replicate()
        return ProposalOutcome(True, entry.index, entry.term, self.id), self._finish()

    def log_saved(self, through_index: int, now: int = 0) -> Output:
        """The storage messages that stored this leader's log through ``through_index``
        have been carried out. Only now does its own copy count toward a majority: an
        entry is committed once it is on stable storage at a majority of servers
        (§5.3), the leader's included, which a power cut during its own SaveLog
        would lose."""
        self._begin(now)
        if self.role is Role.LEADER and through_index > self.saved_index:
            stored_by_majority = self.majority_index()
            self.saved_index = through_index
            if self.majority_index() > stored_by_majority:
                self.advance_commit_index()
        return self._finish()

    def read(self, read_id: int, now: int = 0) -> tuple[bool, Output]:
        """Not in Figure 2: a linearizable read, by lease or ReadIndex (reads.py)."""
        self._begin(now)
        accepted = reads.start(self, read_id)
        return accepted, self._finish()

    def transfer_leadership(self, target: int, now: int = 0) -> tuple[str | None, Output]:
        """Not in Figure 2: hand leadership to ``target`` (transfer.py). Returns the
        reason it is refused, or None when the transfer has started."""
        self._begin(now)
        reason = transfer.start(self, target)
        return reason, self._finish()

    def transfer_refusal(self, target: int) -> str | None:
        """Why a transfer to ``target`` cannot start now, or None if it can."""
        return transfer.refusal(self, target)

    def change_membership(
        self, change: str, target: int, now: int = 0
    ) -> tuple[str | None, Output]:
        """Not in Figure 2: start a membership change at the leader
        (reconfiguration.py). Returns the reason it is refused, or None."""
        self._begin(now)
        reason = reconfiguration.change(self, change, target)
        return reason, self._finish()

    def membership_refusal(self, change: str, target: int) -> str | None:
        """Why membership change ``change`` of ``target`` cannot start now, or None."""
        return reconfiguration.refusal(self, change, target)

    def take_snapshot(self, data: Any, now: int = 0) -> Output:
        """Log compaction (§7) with the state machine's snapshot (snapshots.py)."""
        self._begin(now)
        snapshots.take(self, data)
        return self._finish()

    # -------------------------------------------------------------- roles

    def become_follower(self, term: int, why: tuple[str, tuple[Any, ...]]) -> None:
        """Every way back to follower: a newer term (§5.1), a candidate hearing from the
        leader of its term (§5.2), a leader that loses its quorum (CheckQuorum) or is
        removed (thesis §4.2.2). ``why`` is the trace event that says which."""
        self._out.trace.append(why)
        if term > self.current_term:
            self.current_term = term
            self.voted_for = None
            self._hard_state_dirty = True
        if self.role is Role.LEADER:
            self._out.heartbeat_timer = STOP  # a follower has an election timer instead
            self._out.election_timer = RESET
        self.role = Role.FOLLOWER
        self.step = step_follower
        self.leader_id = None
        self.votes_granted = set()
        self.progress = {}
        self.transfer = None
        self.catchup = None

    def become_candidate(self, rule: str, by_timeout_now: bool = False) -> None:
        # "On conversion to candidate, start election: increment currentTerm, vote for
        # self, reset election timer, send RequestVote RPCs to all other servers" (§5.2)
        self.role = Role.CANDIDATE
        self.step = step_candidate
        self.current_term += 1
        self.voted_for = self.id
        self._hard_state_dirty = True
        self.leader_id = None
        self.votes_granted = {self.id}
        self._out.election_timer = RESET
        self._trace(rule, self.current_term)
        if self.config.has_quorum(self.votes_granted):
            self.become_leader()
            return
        self.request_votes(self.current_term, transfer=by_timeout_now)

    def request_votes(self, term: int, pre_vote: bool = False, transfer: bool = False) -> None:
        """ "send RequestVote RPCs to all other servers" (§5.2) that vote; one request
        serves them all."""
        request = RequestVote(
            term=term,
            candidate_id=self.id,
            last_log_index=self.log.last_index,
            last_log_term=self.log.last_term,
            pre_vote=pre_vote,
            transfer=transfer,
        )
        for peer in self.vote_peers:
            self._send(peer, request)

    def become_leader(self) -> None:
        out = self._out
        self.role = Role.LEADER
        self.step = step_leader
        self.leader_id = self.id
        self.leader_since = self.now
        # Everything in the log now was stored by earlier steps, all carried out.
        self.saved_index = self.log.last_index
        self.transfer = None
        self.catchup = None
        self.reads = reads.Reads()
        out.became_leader = True
        self._trace("LEADER", server_names(self.votes_granted), self.current_term)
        # "for each server, index of the next log entry to send to that server
        # (initialized to leader last log index + 1)"; matchIndex "initialized to 0"
        self.progress = {peer: Progress(self.log.last_index + 1) for peer in self.peers}
        out.election_timer = STOP
        out.heartbeat_timer = START
        # Not in Figure 2: a no-op entry of the new term (§8) lets the leader commit
        # entries left by earlier terms without waiting for a client.
        if self.leader_noop:
            entry = self.append_new_entry(noop_data())
            self._trace("NOOP", entry.index)
        reconfiguration.finish_predecessors_change(self)
        for peer in self.peers:
            self.send_append_entries(peer)

    # ---------------------------------------------------------- RequestVote RPC

    def handle_request_vote(self, source: int, m: RequestVote) -> None:
        if m.pre_vote:
            prevote.handle_request(self, source, m)
            return
        granted = False
        if m.term < self.current_term:
            # [RV.1] "Reply false if term < currentTerm" (§5.1)
            self._trace("RV.1", m.candidate_id, m.term, self.current_term)
        # [RV.2] "If votedFor is null or candidateId, and candidate's log is at least
        # as up-to-date as receiver's log, grant vote" (§5.2, §5.4)
        elif self.voted_for_another(m.candidate_id):
            self._trace("RV.2.voted", m.candidate_id, self.voted_for, self.current_term)
        elif not self.candidate_log_ok(m):
            log = self.log
            last = (log.last_index, log.last_term)
            self._trace("RV.2.log", m.candidate_id, m.last_log_index, m.last_log_term, *last)
        else:
            granted = True
            if self.voted_for != m.candidate_id:
                self.voted_for = m.candidate_id
                self._hard_state_dirty = True
            # Granting a vote resets the election timer (§5.2, Rules for Followers).
            self._out.election_timer = RESET
            self._trace("RV.2.grant", m.candidate_id, self.current_term)
        self._send(source, RequestVoteReply(term=self.current_term, vote_granted=granted))

    def voted_for_another(self, candidate_id: int) -> bool:
        """[RV.2], the vote: has this server voted for another candidate in its term?"""
        if self.voted_for is None or self.voted_for == candidate_id:
            return False
        if VOTE_TWICE in self.bugs:
            # BUG SWITCH vote_twice: "Each server will vote for at most one candidate in
            # a given term, on a first-come-first-served basis" (§5.2). This one forgets.
            self._trace("BUG.vote_twice", candidate_id, self.voted_for, self.current_term)
            return False
        return True

    def candidate_log_ok(self, m: RequestVote) -> bool:
        """[RV.2], the election restriction: is the candidate's log at least as
        up-to-date as this server's (§5.4.1)?"""
        if self.log.is_up_to_date(m.last_log_index, m.last_log_term):
            return True
        if NO_ELECTION_RESTRICTION in self.bugs:
            # BUG SWITCH no_election_restriction: "the voter denies its vote if its own
            # log is more up-to-date than that of the candidate" (§5.4.1). Not this one.
            log = self.log
            last = (log.last_index, log.last_term)
            self._trace("BUG.no_election_restriction", m.candidate_id, *last)
            return True
        return False

    def handle_request_vote_reply(self, source: int, m: RequestVoteReply) -> None:
        """A candidate counts the votes of its term."""
        if m.term != self.current_term and STALE_REPLIES in self.bugs:
            # BUG SWITCH stale_replies: a candidate wins with "votes from a majority of
            # the servers in the full cluster for the same term" (§5.2). This one counts
            # a vote given in an earlier term.
            self._trace("BUG.stale_replies", source, "vote", m.term, self.current_term)
        elif m.term != self.current_term:
            self._trace("RVR.stale", source, m.term)
            return
        if not m.vote_granted:
            self._trace("RVR.refused", source, self.current_term)
        elif self.count_vote(source, "RVR.grant", m.term):
            # "If votes received from majority of servers: become leader" (§5.2)
            self.become_leader()

    def count_vote(self, source: int, rule: str, term: int) -> bool:
        """Count ``source``'s vote (or pre-vote) for ``term``: True once a majority."""
        self.votes_granted.add(source)
        self._trace(rule, source, len(self.votes_granted), self.config.quorum_size(), term)
        return self.config.has_quorum(self.votes_granted)

    # -------------------------------------------------------- AppendEntries RPC

    def handle_append_entries(self, source: int, m: AppendEntries) -> None:
        log = self.log
        if m.term < self.current_term:
            # [AE.1] "Reply false if term < currentTerm" (§5.1)
            self._trace("AE.1", m.leader_id, m.term, self.current_term)
            self._send(source, AppendEntriesReply(term=self.current_term, success=False))
            return
        self.heard_from_leader(m.leader_id)
        prev, prev_term, entries = m.prev_log_index, m.prev_log_term, m.entries
        if prev < log.snapshot_index:
            # Not in Figure 2: the request starts inside this server's snapshot (a
            # late message). Entries through snapshot_index are committed, so they
            # match the leader's; only those after the snapshot need checking.
            entries = entries[log.snapshot_index - prev :]
            prev, prev_term = log.snapshot_index, log.snapshot_term
        if not log.matches(prev, prev_term):
            # [AE.2] "Reply false if log doesn't contain an entry at prevLogIndex whose
            # term matches prevLogTerm" (§5.3), with the hint that lets the leader skip
            # a whole term per round trip (end of §5.3; not in Figure 2).
            if prev > log.last_index:
                conflict_term, conflict_index = None, log.last_index + 1
            else:
                conflict_term, conflict_index = log.term_at(prev), log.first_index_of_term_at(prev)
            self._trace("AE.2", m.leader_id, prev, prev_term, conflict_index)
            reply = AppendEntriesReply(
                term=self.current_term,
                success=False,
                read_round=m.read_round,
                conflict_index=conflict_index,
                conflict_term=conflict_term,
            )
            self._send(source, reply)
            return
        for position, entry in enumerate(entries):
            existing = log.term_at(entry.index)
            if existing == entry.term:
                continue  # already stored: a duplicate or stale request never truncates it
            if existing is not None:
                # [AE.3] "If an existing entry conflicts with a new one (same index but
                # different terms), delete the existing entry and all that follow it"
                self._trace("AE.3", entry.index, existing, m.leader_id, entry.term)
                self.truncate_log(entry.index)
            # [AE.4] "Append any new entries not already in the log"
            new = entries[position:]
            for e in new:
                log.append(e)
                self._out.storage.append(SaveLog(term=e.term, index=e.index, data=e.data))
            self._out.note_log_change(entry.index)
            reconfiguration.entries_appended(self, new)
            self._trace("AE.4", entry.index, log.last_index, m.leader_id)
            break
        last_new = prev + len(entries)
        if log.last_index > last_new and DELETE_MATCHING_ENTRIES in self.bugs:
            # BUG SWITCH delete_matching_entries: [AE.3] deletes entries only "If an
            # existing entry conflicts with a new one". This follower deletes every
            # entry after the ones the leader sent, though none conflicted.
            self._trace("BUG.delete_matching_entries", last_new + 1, log.last_index, m.leader_id)
            self.truncate_log(last_new + 1)
        # [AE.5] "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit,
        # index of last new entry)"
        new_commit = min(m.leader_commit, last_new)
        if m.leader_commit > last_new and COMMIT_PAST_LAST_NEW in self.bugs:
            # BUG SWITCH commit_past_last_new: this follower leaves out the "min" with
            # the index of the last new entry, and commits entries past it that the
            # leader never sent (as far as its own log reaches).
            new_commit = min(m.leader_commit, log.last_index)
            if new_commit > max(last_new, self.commit_index):
                self._trace("BUG.commit_past_last_new", last_new, new_commit, m.leader_id)
        if new_commit > self.commit_index:
            self._trace("AE.5", self.commit_index, new_commit, m.leader_id, m.leader_commit)
            self.commit_index = new_commit
            self.apply_committed()
        self._trace("AE.ok", m.leader_id, last_new)
        reply = AppendEntriesReply(
            term=self.current_term, success=True, match_index=last_new, read_round=m.read_round
        )
        self._send(source, reply)

    def heard_from_leader(self, leader_id: int) -> None:
        """``leader_id`` leads this server's term: remember it (for client redirects
        and leader stickiness) and reset the election timer (§5.2)."""
        self.leader_id = leader_id
        self.last_leader_contact = self.now
        self._out.election_timer = RESET

    def truncate_log(self, from_index: int) -> None:
        self.log.truncate_from(from_index)
        self._out.storage.append(TruncateLog(from_index=from_index))
        reconfiguration.log_truncated(self, from_index)

    def handle_append_entries_reply(self, source: int, m: AppendEntriesReply) -> None:
        """The leader's rules for the answers to AppendEntries (§5.3)."""
        if m.term != self.current_term and STALE_REPLIES in self.bugs:
            # BUG SWITCH stale_replies: only this term's answers say what a follower
            # holds now; this leader acts on an answer from an earlier term.
            self._trace(
                "BUG.stale_replies", source, "AppendEntries reply", m.term, self.current_term
            )
        elif m.term != self.current_term:
            self._trace("AER.stale", source, m.term)
            return
        progress = self.progress.get(source)
        if progress is None:
            # Not in Figure 2: a reply from a server removed from the configuration.
            self._trace("AER.nonmember", source)
            return
        progress.last_heard = self.now  # for CheckQuorum
        if m.read_round > progress.read_round:
            progress.read_round = m.read_round  # the peer confirms this ReadIndex round
            if self.reads.pending:
                reads.serve(self)
        if m.success:
            # "If successful: update nextIndex and matchIndex for follower" (§5.3)
            advanced = progress.acknowledge(m.match_index)
            self._trace("AER.ok", source, m.match_index, progress.match_index, progress.next_index)
            if advanced and m.match_index > self.commit_index:
                self.advance_commit_index()  # only a new match can commit something
            if self.catchup is not None:
                reconfiguration.caught_up_more(self, source)
            if self.progress.get(source) is not progress:
                # A removed leader stepped down when its removal committed, or the
                # commit let the leader append a C_new without ``source`` (§6).
                return
            if progress.arrived(m.match_index) and progress.next_index <= self.log.last_index:
                self.send_append_entries(source)  # the next batch it lacks
            if self.transfer is not None:
                transfer.maybe_send_timeout_now(self, source)
            return
        floor = progress.match_index + 1
        if progress.next_index <= floor:
            # A failure below what the follower already acknowledged: the reply is older
            # than that acknowledgement (reordered or duplicated), or the follower lost
            # entries it had made durable (a storage bug). matchIndex never goes back,
            # so resending now would only fail again: let the heartbeats retry.
            self._trace("AER.behind", source, floor - 1)
            return
        # "If AppendEntries fails because of log inconsistency: decrement nextIndex and
        # retry" (§5.3), skipping the follower's whole conflicting term at once.
        before = progress.next_index
        if m.conflict_term is None:
            target = m.conflict_index
        else:
            last = self.log.last_index_of_term(m.conflict_term)
            target = m.conflict_index if last is None else last + 1
        progress.next_index = max(min(target, before - 1), floor)
        progress.in_flight = None
        self._trace("AER.fail", source, before, progress.next_index)
        self.send_append_entries(source)

    # -------------------------------------------------------------- leaders

    def append_new_entry(self, data: Any) -> Entry:
        entry = Entry(self.log.last_index + 1, self.current_term, data)
        self.log.append(entry)
        self._out.storage.append(SaveLog(term=entry.term, index=entry.index, data=data))
        self._out.note_log_change(entry.index)
        self._out.save_through = entry.index  # the world answers with log_saved()
        return entry

    def replicate(self) -> None:
        """A new entry was appended: send it to every peer that has no entries in
        flight (flow control). (A member added by this very entry starts at the end of
        the log: it gets a heartbeat, and the leader backs up from its answer.)"""
        for peer in self.peers:
            if self.progress[peer].ready():
                self.send_append_entries(peer)

    def replicate_to(self, peer: int) -> None:
        """Send ``peer`` the entries it lacks, if it lacks any and none are in flight."""
        progress = self.progress[peer]
        if progress.ready() and progress.next_index <= self.log.last_index:
            self.send_append_entries(peer)

    def send_append_entries(self, peer: int, with_entries: bool = True) -> None:
        """AppendEntries to ``peer`` from its nextIndex on (§5.3): up to
        MAX_ENTRIES_PER_MESSAGE entries, or none (a heartbeat). If the entries it
        needs were compacted away, the snapshot instead (§7)."""
        log, progress = self.log, self.progress[peer]
        next_index = progress.next_index
        if next_index <= log.snapshot_index:
            if progress.ready():
                snapshots.send(self, peer)
            return
        entries: tuple[Entry, ...] = ()
        if with_entries and next_index <= log.last_index:
            entries = log.slice(next_index, next_index + MAX_ENTRIES_PER_MESSAGE)
            progress.sent(entries[-1].index, self.heartbeat_round)
        self._send(peer, self.append_entries(next_index - 1, entries))

    def append_entries(self, prev_log_index: int, entries: tuple[Entry, ...]) -> AppendEntries:
        """Figure 2's AppendEntries RPC, carrying ``entries`` after ``prev_log_index``."""
        return AppendEntries(
            term=self.current_term,
            leader_id=self.id,
            prev_log_index=prev_log_index,
            prev_log_term=self.log.term_at(prev_log_index) or 0,
            entries=entries,
            leader_commit=self.commit_index,
            read_round=self.read_round,
        )

    def advance_commit_index(self) -> None:
        # "If there exists an N such that N > commitIndex, a majority of matchIndex[i]
        # >= N, and log[N].term == currentTerm: set commitIndex = N" (§5.3, §5.4). The
        # leader counts its own log as far as its storage has saved it. A leader that
        # is not in C_new does not count itself (thesis §4.2.2): ``committed_index``
        # looks at the configuration's voters only.
        n = self.majority_index()
        if n <= self.commit_index:
            return
        term = self.log.term_at(n)
        if term != self.current_term and COMMIT_OLD_TERM in self.bugs:
            # BUG SWITCH commit_old_term: "Raft never commits log entries from previous
            # terms by counting replicas" (§5.4.2). This leader does, as in Figure 8.
            self._trace("BUG.commit_old_term", n, term, self.current_term)
        elif term != self.current_term:
            self._trace("COMMIT.old", n, term, self.current_term)
            return
        else:
            self._trace("COMMIT", n, self.config.quorum_size(), self.current_term)
        self.commit_index = n
        self.apply_committed()
        reconfiguration.committed(self, n)

    def majority_index(self) -> int:
        """The highest index stored by a majority: the peers' matchIndex, and this
        leader's log as far as its storage has saved it."""
        matched = {peer: p.match_index for peer, p in self.progress.items()}
        matched[self.id] = self.saved_index
        return self.config.committed_index(matched)

    def apply_committed(self) -> None:
        # "If commitIndex > lastApplied: increment lastApplied, apply log[lastApplied]
        # to state machine" (§5.3)
        first = self.last_applied + 1
        if first > self.commit_index:
            return
        self._out.applies.extend(self.log.slice(first, self.commit_index + 1))
        self._trace("APPLY", first, self.commit_index)
        self.last_applied = self.commit_index
        if self.snapshot_threshold is not None:
            snapshots.maybe_due(self)
        if self.reads.pending:
            reads.serve(self)

    # --------------------------------------------------------------- helpers

    def _begin(self, now: int) -> None:
        self._out = Output()
        self.now = now

    def _finish(self) -> Output:
        out = self._out
        if self._hard_state_dirty:
            # Term and vote travel together, first: every later send depends on them.
            self._hard_state_dirty = False
            hard_state = SaveHardState(current_term=self.current_term, voted_for=self.voted_for)
            out.storage.insert(0, hard_state)
        return out

    def _send(self, target: int, message: Message) -> None:
        self._out.sends.append((target, message))

    def _trace(self, rule: str, *args: Any) -> None:
        """A trace event: rule id (rules.RULES) and its arguments, this server first."""
        self._out.trace.append((rule, (self.id, *args)))


# ------------------------------------------------------------ the step functions
# One per role, installed by become_follower, become_candidate and become_leader
# (the pre-candidate's is in prevote.py). Each takes what its role answers to; a reply
# it does not wait for is stale and ignored.


def step_follower(server: Server, source: int, m: Message) -> None:
    """Followers "respond to RPCs from candidates and leaders" (§5.2)."""
    if isinstance(m, AppendEntries):
        server.handle_append_entries(source, m)
    elif isinstance(m, RequestVote):
        server.handle_request_vote(source, m)
    elif isinstance(m, InstallSnapshot):
        snapshots.handle(server, source, m)
    elif isinstance(m, TimeoutNow):
        transfer.handle_timeout_now(server, source, m)
    else:
        ignore_stale_reply(server, source, m)


def step_candidate(server: Server, source: int, m: Message) -> None:
    """A candidate counts the votes of its term."""
    if isinstance(m, RequestVoteReply) and not m.pre_vote:
        server.handle_request_vote_reply(source, m)
    else:
        step_campaigning(server, source, m)


def step_campaigning(server: Server, source: int, m: Message) -> None:
    """Candidates and pre-candidates, but for their votes: "If AppendEntries RPC received
    from new leader: convert to follower" (§5.2); the rest as a follower."""
    if isinstance(m, AppendEntries | InstallSnapshot) and m.term == server.current_term:
        why = ("AE.candidate", (server.id, m.leader_id, m.term, server.role.value))
        server.become_follower(m.term, why)
    step_follower(server, source, m)


def step_leader(server: Server, source: int, m: Message) -> None:
    """A leader handles the answers to its AppendEntries and InstallSnapshot."""
    if isinstance(m, AppendEntriesReply):
        server.handle_append_entries_reply(source, m)
    elif isinstance(m, InstallSnapshotReply):
        snapshots.handle_reply(server, source, m)
    elif isinstance(m, RequestVote):
        server.handle_request_vote(source, m)
    elif isinstance(m, AppendEntries | InstallSnapshot):
        refuse_as_leader(server, source, m)
    elif isinstance(m, TimeoutNow):
        server._trace("TN.stale", source, m.term)
    else:
        ignore_stale_reply(server, source, m)


def refuse_as_leader(server: Server, source: int, m: AppendEntries | InstallSnapshot) -> None:
    """A leader answers another leader's RPC with a refusal: of an older term ([AE.1],
    [IS.1]), or of its own term, which cannot happen while Election Safety holds; it
    says so rather than obey."""
    if m.term < server.current_term:
        rule = "AE.1" if isinstance(m, AppendEntries) else "IS.1"
        server._trace(rule, m.leader_id, m.term, server.current_term)
    else:
        server._trace("AE.leader", m.leader_id, m.term)
    if isinstance(m, AppendEntries):
        server._send(source, AppendEntriesReply(term=server.current_term, success=False))
    else:
        server._send(source, InstallSnapshotReply(term=server.current_term))


def ignore_stale_reply(
    server: Server, source: int, m: RequestVoteReply | AppendEntriesReply | InstallSnapshotReply
) -> None:
    """A reply this server's role does not wait for: to an election it no longer runs
    or a term it no longer leads."""
    if isinstance(m, RequestVoteReply):
        server._trace("PV.stale" if m.pre_vote else "RVR.stale", source, m.term)
    elif isinstance(m, AppendEntriesReply):
        server._trace("AER.stale", source, m.term)
    else:
        server._trace("ISR.stale", source, m.term)
