"""One Raft server as a pure state machine (Figure 2 of the Raft paper).

Theory of operation
-------------------
A ``Server`` owns no clock, randomness, threads or I/O. The world calls one of its
inputs and gets back an ``Output`` of effects to carry out:

- ``boot()`` once, after construction from the recovered ``StoredState``;
- ``handle(source, message)`` for a delivered RPC or reply;
- ``election_timeout()`` when its election timer fires;
- ``heartbeat_timeout()`` when its heartbeat timer fires (leaders only);
- ``propose(data)`` for a client request;
- ``take_snapshot(data)`` with its state machine's snapshot, when an output asked for
  one (``Output.snapshot_due``; log compaction, §7);
- beyond Figure 2: ``read``, ``transfer_leadership`` and ``change_membership``.

Membership (§6, thesis chapter 4): the configuration is the latest ``"config"`` entry
in the log, committed or not, or the configuration the server started from
(``config``, a ``membership.Configuration``). Every majority (votes, pre-votes,
commitment, CheckQuorum, ReadIndex and lease rounds) is counted over its voters, and
over both C_old and C_new during joint consensus.

The "higher term makes you a follower" rule (§5.1) is applied once, at the top of
``handle``. Each receiver rule is one short block quoting the paper, and tags the trace
with a stable rule id from ``rules.RULES``. Persistent state changes are collected
during a step and emitted as storage messages before any send, so no RPC reply or
request ever leaves before the state it depends on is durable.

Timers are instructions in the output (reset, start, stop); the world decides their
durations, which is where randomized election timeouts come from.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, ClassVar

from .log import Entry, RaftLog, noop_data, stable_repr
from .membership import Configuration, config_entry_data, parse_config
from .messages import (
    AppendEntries,
    AppendEntriesReply,
    InstallSnapshot,
    InstallSnapshotReply,
    RequestVote,
    RequestVoteReply,
    TimeoutNow,
)
from .output import RESET, START, STOP, Output
from .persistence import (
    CompactLog,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    StoredState,
    TruncateLog,
)

# Not in Figure 2: flow control. At most this many entries travel in one AppendEntries.
MAX_ENTRIES_PER_MESSAGE = 256

# Not in Figure 2: catching up a new server (thesis §4.2.1). The leader replicates to
# it in rounds; each round sends everything the leader's log held when the round
# began. When a round ends within the minimum election timeout, the server is caught
# up. After this many rounds, or when one round lasts this many maximum election
# timeouts (the server is down or cut off), the leader gives up.
MAX_CATCHUP_ROUNDS = 10

# The kinds of membership change a leader carries out (``change_membership``).
MEMBERSHIP_CHANGES = ("add_server", "remove_server", "add_learner", "promote")


class Role(str, Enum):
    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"
    PRECANDIDATE = "precandidate"  # Not in Figure 2: asking for pre-votes (thesis §9.6)

    def __str__(self) -> str:
        return self.value


# The roles under plain names, for the rules below. Not only shorter: in Python 3.11
# ``Role.LEADER`` goes through EnumType's __getattr__ hook and costs about 0.2 us,
# four times a plain lookup, and the rules test the role several times per step.
FOLLOWER = Role.FOLLOWER
CANDIDATE = Role.CANDIDATE
LEADER = Role.LEADER
PRECANDIDATE = Role.PRECANDIDATE


class ProposalOutcome:
    """The answer to a client request at one server."""

    __slots__ = ("accepted", "index", "leader_hint", "term")

    def __init__(
        self, accepted: bool, index: int | None, term: int | None, leader_hint: int | None
    ) -> None:
        self.accepted = accepted
        self.index = index
        self.term = term
        self.leader_hint = leader_hint


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
    ) -> None:
        self.id = server_id
        # Not in Figure 2: log compaction (§7). Snapshot once this many applied entries
        # lie past the last snapshot; None never compacts.
        self.snapshot_threshold = snapshot_threshold
        # Not in Figure 2: whether a new leader appends a no-op entry (§8).
        self.leader_noop = leader_noop
        # Not in Figure 2: the extensions of Ongaro's thesis, each switchable. Time
        # reaches the server only as the ``now`` argument of each input.
        self.prevote = prevote  # §9.6
        self.check_quorum = check_quorum  # §6.2 and §9.6 (leader stickiness)
        self.min_election_timeout_ms, self.max_election_timeout_ms = election_timeout_ms
        self.now = 0  # virtual time of the input being handled
        self.last_leader_contact: int | None = None  # when the leader was last heard
        self.last_heard: dict[int, int] = {}  # leader: when each follower last replied
        self.leader_since = 0  # leader: when it was elected
        self.transfer_target: int | None = None  # leader: handing over to this server
        self.transfer_started = 0
        self.transfer_sent = False  # TimeoutNow sent
        # Leader: ReadIndex reads (thesis §6.4) waiting, as [read id, read index or
        # None, round]; the latest round; the highest round each follower echoed.
        self.reads: list[list[Any]] = []
        self.read_round = 0
        self.read_acked: dict[int, int] = {}
        # Not in Figure 2: membership changes (§6, thesis chapter 4). ``voters`` is the
        # configuration the server starts from before any configuration entry (empty for
        # a server added later: it learns its configuration from the leader's log).
        self.joint_consensus = joint_consensus  # C_old,new then C_new, else one at a time
        # Ongaro's 2015 bug, on purpose: start a change before committing an entry of
        # the leader's term (thesis §4.1 forbids it).
        self.single_change_bug = single_change_bug
        self.bootstrap_config = Configuration.of(voters)
        self.config_indexes: list[int] = []  # indexes of configuration entries in the log
        self.reconfigured = False  # ever held a configuration entry (thesis §4.2.3)
        # Leader: the server being caught up before it becomes a voter (thesis §4.2.1),
        # as [id, last index of the round or None once caught up, round start, round].
        self.catchup: list[Any] | None = None
        # Leader, with lease reads (thesis §6.4.1): how long a lease lasts (None: no
        # lease reads), when each round not yet superseded was sent, and whether a
        # leadership transfer has ended leases for the rest of the term.
        self.lease_ms = lease_ms
        self.round_sent: dict[int, int] = {}
        self.lease_revoked = False

        # Persistent state on all servers (updated on stable storage before responding)
        self.current_term: int = stored.current_term
        self.voted_for: int | None = stored.voted_for
        self.log = RaftLog(stored.entries)
        # Not in Figure 2: the last snapshot (§7), a SaveSnapshot; entries through its
        # last_index are in it rather than in the log.
        self.snapshot: SaveSnapshot | None = stored.snapshot

        # Volatile state on all servers
        self.commit_index = 0
        self.last_applied = 0
        if stored.snapshot is not None:
            # "The snapshot replaces all entries up through and including" last_index;
            # they were committed and applied, and the world restores the state
            # machine from the snapshot before this server takes its first input.
            snap = stored.snapshot
            self.log = RaftLog(stored.entries, snap.last_index, snap.last_term)
            self.commit_index = self.last_applied = snap.last_index
            # The configuration as of the snapshot: in force before the log's entries.
            self.bootstrap_config = Configuration.from_data(snap.config)
            self.reconfigured = self.bootstrap_config != Configuration.of(voters)
        self.role = FOLLOWER
        # Not in Figure 2: who this server believes leads, for client redirects.
        self.leader_id: int | None = None
        self.votes_granted: set[int] = set()

        # Volatile state on leaders (reinitialized after election)
        self.next_index: dict[int, int] = {}
        self.match_index: dict[int, int] = {}
        # Not in Figure 2: flow control. For each follower with entries in flight, the
        # last index sent and the heartbeat round it was sent in. While entries are in
        # flight, proposals and heartbeats send no more entries; a reply covering them
        # sends the next batch. If no such reply comes within a full heartbeat interval,
        # the request is presumed lost and the next heartbeat sends the entries again.
        self.inflight: dict[int, tuple[int, int]] = {}
        self.heartbeat_round = 0

        self._out = Output()
        self._hard_state_dirty = False

        # "A server always uses the latest configuration in its log" (thesis §4.1), also
        # after a restart: the configuration is recovered from the log.
        for entry in self.log.entries:
            if type(entry.data) is dict and entry.kind == "config":
                self.config_indexes.append(entry.index)
        self.config = self.bootstrap_config
        self._use_latest_config()

    @property
    def snapshot_index(self) -> int:
        return self.log.snapshot_index

    @property
    def snapshot_term(self) -> int:
        return self.log.snapshot_term

    def clone(self) -> Server:
        twin = object.__new__(Server)
        twin.__dict__.update(self.__dict__)
        twin.log = self.log.clone()
        twin.votes_granted = set(self.votes_granted)
        twin.next_index = dict(self.next_index)
        twin.match_index = dict(self.match_index)
        twin.inflight = dict(self.inflight)
        twin.last_heard = dict(self.last_heard)
        twin.reads = [list(r) for r in self.reads]
        twin.read_acked = dict(self.read_acked)
        twin.config_indexes = list(self.config_indexes)
        twin.catchup = None if self.catchup is None else list(self.catchup)
        twin.round_sent = dict(self.round_sent)
        twin._out = Output()
        return twin

    # ------------------------------------------------------------------ inputs

    def boot(self) -> Output:
        out = self._begin()
        out.trace.append(("BOOT", (self.id, self.current_term, len(self.log))))
        if self.snapshot is not None:
            out.trace.append(("BOOT.snapshot", (self.id, self.log.snapshot_index)))
        out.election_timer = RESET
        return self._finish()

    def handle(self, source: int, m: Any, now: int = 0) -> Output:
        self._out = out = Output()  # _begin(), inlined: this is the hot path
        self.now = now
        kind = type(m)
        if kind is RequestVote and self._ignores(m):
            return out
        # "If RPC request or response contains term T > currentTerm: set currentTerm = T,
        # convert to follower" (§5.1). A PreVote, or a granted answer to one, carries a
        # term nobody holds yet: it changes nothing (thesis §9.6).
        if m.term > self.current_term and not (
            (kind is RequestVote or kind is RequestVoteReply)
            and m.pre_vote
            and (kind is RequestVote or m.vote_granted)
        ):
            out.trace.append(
                ("TERM", (self.id, m.term, type(m).__name__, source, self.current_term))
            )
            self._become_follower(m.term)
        self._HANDLERS[kind](self, source, m)
        return self._finish() if self._hard_state_dirty else out

    def election_timeout(self, now: int = 0) -> Output:
        out = self._begin()
        self.now = now
        if self.role is LEADER:  # leaders have no election timer; nothing to do
            out.election_timer = STOP
            return self._finish()
        if not self._may_campaign():
            # Not in Figure 2: a learner, a new server, or a removed one that knows its
            # removal is committed never campaigns. Its timer stops until a leader's
            # message (which may bring a configuration that has it vote) resets it.
            out.trace.append(("ET.nonvoter", (self.id, self.config.describe())))
            out.election_timer = STOP
            return self._finish()
        if self.prevote:
            self._start_pre_vote()
        else:
            self._start_election(transfer=False)
        return self._finish()

    def _start_pre_vote(self) -> None:
        # Not in Figure 2: "a candidate would first ask other servers whether its log
        # was up-to-date enough to get their vote. Only if the candidate believed it
        # could get votes from a majority of the cluster would it increment its term
        # and start a normal election" (thesis §9.6).
        out = self._out
        self.role = PRECANDIDATE
        self.leader_id = None
        self.votes_granted = {self.id}
        out.election_timer = RESET
        out.trace.append(("PV.start", (self.id, self.current_term + 1)))
        if self.config.has_quorum(self.votes_granted):
            self._start_election(transfer=False, rule="ELECT")
            return
        request = RequestVote(
            term=self.current_term + 1,
            candidate_id=self.id,
            last_log_index=self.log.last_index,
            last_log_term=self.log.last_term,
            pre_vote=True,
        )
        for peer in self.vote_peers:
            out.sends.append((peer, request))

    def _start_election(self, transfer: bool, rule: str = "ET") -> None:
        # "If election timeout elapses without receiving AppendEntries RPC from current
        # leader or granting vote to candidate: convert to candidate" (§5.2)
        # "On conversion to candidate, start election: increment currentTerm, vote for
        # self, reset election timer, send RequestVote RPCs to all other servers"
        out = self._out
        self.role = CANDIDATE
        self.current_term += 1
        self.voted_for = self.id
        self._hard_state_dirty = True
        self.leader_id = None
        self.votes_granted = {self.id}
        out.election_timer = RESET
        out.trace.append((rule, (self.id, self.current_term)))
        if self.config.has_quorum(self.votes_granted):
            self._become_leader()
        else:
            request = RequestVote(
                term=self.current_term,
                candidate_id=self.id,
                last_log_index=self.log.last_index,
                last_log_term=self.log.last_term,
                transfer=transfer,
            )
            for peer in self.vote_peers:
                out.sends.append((peer, request))

    def heartbeat_timeout(self, now: int = 0) -> Output:
        out = self._begin()
        self.now = now
        if self.role is not LEADER:
            out.heartbeat_timer = STOP
            return self._finish()
        if self.check_quorum and not self._quorum_active():
            return self._finish()
        if self.transfer_target is not None and (
            now - self.transfer_started >= self.max_election_timeout_ms
        ):
            # "If leadership transfer does not complete after about an election timeout,
            # the prior leader aborts the transfer and resumes accepting client requests"
            # (thesis §3.10)
            out.trace.append(("TR.abort", (self.id, self.transfer_target)))
            self.transfer_target = None
        catchup = self.catchup
        if catchup is not None and now - catchup[2] >= (
            MAX_CATCHUP_ROUNDS * self.max_election_timeout_ms
        ):
            out.trace.append(("CONFIG.catchup_abort", (self.id, catchup[0], catchup[3])))
            self.catchup = None
        # "Upon election: send initial empty AppendEntries RPCs (heartbeat) to each
        # server; repeat during idle periods to prevent election timeouts" (§5.2)
        out.trace.append(("HB", (self.id,)))
        self.heartbeat_round += 1
        if self.lease_ms is not None:
            self._new_read_round()  # every heartbeat round can extend the lease
            confirmed = self._confirmed_round()
            for done in [r for r in self.round_sent if r < confirmed]:
                del self.round_sent[done]  # superseded: the lease starts at a later round
        for peer in self.peers:
            sent = self.inflight.get(peer)
            recent = sent is not None and sent[1] >= self.heartbeat_round - 1
            self._send_append_entries(peer, heartbeat_only=recent)
        out.heartbeat_timer = START
        return self._finish()

    def propose(self, data: Any, now: int = 0) -> tuple[ProposalOutcome, Output]:
        out = self._begin()
        self.now = now
        if self.role is not LEADER or self.transfer_target is not None:
            # (During a leadership transfer the leader refuses commands: thesis §3.10.)
            return ProposalOutcome(False, None, None, self.leader_id), self._finish()
        # "If command received from client: append entry to local log, respond after
        # entry applied to state machine" (§5.3)
        entry = self._append_new_entry(data)
        out.trace.append(("PROPOSE", (self.id, self.current_term, entry.index, _short(data))))
        for peer in self.peers:
            if peer not in self.inflight:
                self._send_append_entries(peer)
        if self.commits_alone:
            self._advance_commit_index()
        return ProposalOutcome(True, entry.index, entry.term, self.id), self._finish()

    def take_snapshot(self, data: Any, now: int = 0) -> Output:
        """Log compaction (§7): "the entire current system state is written to a
        snapshot on stable storage, then the entire log up to that point is
        discarded". ``data`` is the state machine's snapshot after applying every
        entry through ``last_applied``. The snapshot is saved (``SaveSnapshot``)
        before the entries it replaces are deleted (``CompactLog``)."""
        out = self._begin()
        self.now = now
        index = self.last_applied
        if index <= self.log.snapshot_index:
            return self._finish()  # nothing new to compact
        term = self.log.term_at(index)
        assert term is not None, "applied entries are in the log"
        config = self.config_data(through_index=index)
        snap = SaveSnapshot(last_index=index, last_term=term, data=data, config=config)
        out.storage.append(snap)
        out.storage.append(CompactLog(through_index=index))
        self.log.compact_through(index, term)
        self.restore_config(config)  # configuration entries through index are compacted
        self.snapshot = snap
        out.trace.append(("SNAP", (self.id, index, term)))
        return self._finish()

    # ---------------------------------------------------------- RequestVote RPC

    def _ignores(self, m: RequestVote) -> bool:
        """Not in Figure 2: CheckQuorum's leader stickiness. "If a server receives a
        RequestVote request within the minimum election timeout of hearing from a
        current leader, it does not update its term or grant its vote" (thesis §4.2.3),
        except for an election a leader asked for with TimeoutNow. On with CheckQuorum,
        and in every server that has held a configuration entry: the rule comes from
        the thesis's membership chapter, where it keeps removed servers from disrupting
        the cluster."""
        if m.pre_vote or m.transfer or m.term <= self.current_term:
            return False
        if not (self.check_quorum or self.reconfigured):
            return False
        if not self._heard_from_leader_recently():
            return False
        if self.role is LEADER:
            self._out.trace.append(("RV.sticky.self", (self.id, m.candidate_id, self.current_term)))
        else:
            self._out.trace.append(("RV.sticky", (self.id, m.candidate_id, self.leader_id)))
        return True

    def _heard_from_leader_recently(self) -> bool:
        if self.role is LEADER:
            return True
        contact = self.last_leader_contact
        return (
            self.leader_id is not None
            and contact is not None
            and self.now - contact < self.min_election_timeout_ms
        )

    def _handle_request_vote(self, source: int, m: RequestVote) -> None:
        out = self._out
        if m.pre_vote:
            self._handle_pre_vote(source, m)
            return
        granted = False
        if m.term < self.current_term:
            # [RV.1] "Reply false if term < currentTerm" (§5.1)
            out.trace.append(("RV.1", (self.id, m.candidate_id, m.term, self.current_term)))
        elif self.voted_for is not None and self.voted_for != m.candidate_id:
            # [RV.2] "If votedFor is null or candidateId, and candidate's log is at least
            # as up-to-date as receiver's log, grant vote" (§5.2, §5.4)
            out.trace.append(
                ("RV.2.voted", (self.id, m.candidate_id, self.voted_for, self.current_term))
            )
        elif not self.log.is_up_to_date(m.last_log_index, m.last_log_term):
            out.trace.append(
                (
                    "RV.2.log",
                    (
                        self.id,
                        m.candidate_id,
                        m.last_log_index,
                        m.last_log_term,
                        self.log.last_index,
                        self.log.last_term,
                    ),
                )
            )
        else:
            granted = True
            if self.voted_for != m.candidate_id:
                self.voted_for = m.candidate_id
                self._hard_state_dirty = True
            # Granting a vote resets the election timer (§5.2, Rules for Followers).
            out.election_timer = RESET
            out.trace.append(("RV.2.grant", (self.id, m.candidate_id, self.current_term)))
        out.sends.append((source, RequestVoteReply(term=self.current_term, vote_granted=granted)))

    def _handle_pre_vote(self, source: int, m: RequestVote) -> None:
        # Not in Figure 2 (thesis §9.6): grant a pre-vote if the candidate's term would
        # be newer, its log is at least as up-to-date, and no leader was heard from
        # within the minimum election timeout. Nothing here changes.
        out = self._out
        if m.term <= self.current_term:
            out.trace.append(("PV.term", (self.id, m.candidate_id, m.term, self.current_term)))
            granted = False
        elif self._heard_from_leader_recently():
            if self.role is LEADER:
                out.trace.append(("PV.self", (self.id, m.candidate_id, self.current_term)))
            else:
                out.trace.append(("PV.leader", (self.id, m.candidate_id, self.leader_id)))
            granted = False
        elif not self.log.is_up_to_date(m.last_log_index, m.last_log_term):
            out.trace.append(("PV.log", (self.id, m.candidate_id)))
            granted = False
        else:
            out.trace.append(("PV.grant", (self.id, m.candidate_id, m.term)))
            granted = True
        term = m.term if granted else self.current_term
        out.sends.append((source, RequestVoteReply(term=term, vote_granted=granted, pre_vote=True)))

    def _handle_timeout_now(self, source: int, m: TimeoutNow) -> None:
        # Not in Figure 2: "the target server ... starts an election" at once (thesis
        # §3.10), skipping PreVote; CheckQuorum's stickiness lets it through.
        out = self._out
        if m.term != self.current_term or self.role is LEADER:
            out.trace.append(("TN.stale", (self.id, source, m.term)))
            return
        out.trace.append(("TN", (self.id, source)))
        self._start_election(transfer=True, rule="ELECT")

    def _handle_request_vote_reply(self, source: int, m: RequestVoteReply) -> None:
        out = self._out
        # A vote counts for a candidate in its term; a pre-vote (thesis §9.6) for a
        # precandidate, in the term it would start.
        role = PRECANDIDATE if m.pre_vote else CANDIDATE
        term = self.current_term + 1 if m.pre_vote else self.current_term
        if self.role is not role or (m.term != term and (m.vote_granted or not m.pre_vote)):
            rule = "PV.stale" if m.pre_vote else "RVR.stale"
            out.trace.append((rule, (self.id, source, m.term)))
            return
        if not m.vote_granted:
            rule = "PV.refused" if m.pre_vote else "RVR.refused"
            out.trace.append((rule, (self.id, source, term)))
            return
        self.votes_granted.add(source)
        rule = "PV.got" if m.pre_vote else "RVR.grant"
        config = self.config
        out.trace.append(
            (rule, (self.id, source, len(self.votes_granted), config.quorum_size(), m.term))
        )
        if not config.has_quorum(self.votes_granted):
            return
        if m.pre_vote:
            self._start_election(transfer=False, rule="ELECT")
        else:
            # "If votes received from majority of servers: become leader" (§5.2)
            self._become_leader()

    # -------------------------------------------------------- AppendEntries RPC

    def _refuses_leader(self, m: AppendEntries | InstallSnapshot, rule: str) -> bool:
        """The start of both leader RPCs: True (traced with ``rule``) if ``m`` is from
        an older term, which is refused: [AE.1] "Reply false if term < currentTerm"
        (§5.1), [IS.1] "Reply immediately if term < currentTerm" (Figure 13). Else
        ``m.leader_id`` is the leader of this term: "If AppendEntries RPC received
        from new leader: convert to follower" (§5.2), and the election timer resets."""
        out = self._out
        if m.term < self.current_term:
            out.trace.append((rule, (self.id, m.leader_id, m.term, self.current_term)))
            return True
        if self.role is LEADER:
            # Cannot happen while Election Safety holds; say so rather than obey.
            out.trace.append(("AE.leader", (self.id, m.leader_id, m.term)))
            return True
        if self.role is CANDIDATE or self.role is PRECANDIDATE:
            out.trace.append(("AE.candidate", (self.id, m.leader_id, m.term, self.role.value)))
            self.role = FOLLOWER
            self.votes_granted = set()
        self.leader_id = m.leader_id
        self.last_leader_contact = self.now
        out.election_timer = RESET
        return False

    def _handle_append_entries(self, source: int, m: AppendEntries) -> None:
        out = self._out
        log = self.log
        if self._refuses_leader(m, "AE.1"):
            out.sends.append((source, AppendEntriesReply(term=self.current_term, success=False)))
            return

        prev = m.prev_log_index
        prev_term = m.prev_log_term
        entries = m.entries
        if prev < log.snapshot_index:
            # Not in Figure 2: the request starts inside this server's snapshot (a
            # late message). Entries through snapshot_index are committed, so they
            # match the leader's; only those after the snapshot need checking.
            entries = entries[log.snapshot_index - prev :]
            prev, prev_term = log.snapshot_index, log.snapshot_term
        if log.term_at(prev) != prev_term:  # log.matches(), inlined: hot
            # [AE.2] "Reply false if log doesn't contain an entry at prevLogIndex whose
            # term matches prevLogTerm" (§5.3), with the hint that lets the leader skip
            # a whole term per round trip (end of §5.3; not in Figure 2).
            if prev > log.last_index:
                conflict_term = None
                conflict_index = log.last_index + 1
            else:
                conflict_term = log.term_at(prev)
                conflict_index = log.first_index_of_term_at(prev)
            out.trace.append(("AE.2", (self.id, m.leader_id, prev, prev_term, conflict_index)))
            reply = AppendEntriesReply(
                term=self.current_term,
                success=False,
                read_round=m.read_round,
                conflict_index=conflict_index,
                conflict_term=conflict_term,
            )
            out.sends.append((source, reply))
            return

        index = prev
        for position, entry in enumerate(entries):
            index += 1
            existing = log.term_at(index)
            if existing == entry.term:
                continue  # already stored: a duplicate or stale request never truncates it
            if existing is not None:
                # [AE.3] "If an existing entry conflicts with a new one (same index but
                # different terms), delete the existing entry and all that follow it"
                out.trace.append(("AE.3", (self.id, index, existing, m.leader_id, entry.term)))
                log.truncate_from(index)
                out.storage.append(TruncateLog(from_index=index))
                if self.config_indexes and self.config_indexes[-1] >= index:
                    self._drop_configs_from(index)
            # [AE.4] "Append any new entries not already in the log"
            new = entries[position:]
            config_added = False
            for e in new:
                log.append(e)
                # SaveLog(term=, index=, data=), by tuple.__new__: one per entry per server
                out.storage.append(_new(SaveLog, (e.term, e.index, e.data)))
                if type(e.data) is dict and e.kind == "config":
                    self.config_indexes.append(e.index)
                    config_added = True
            out.note_log_change(index)
            if config_added:
                self._use_latest_config()
            out.trace.append(("AE.4", (self.id, index, log.last_index, m.leader_id)))
            break
        last_new = prev + len(entries)

        # [AE.5] "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit,
        # index of last new entry)"
        if m.leader_commit > self.commit_index:
            new_commit = min(m.leader_commit, last_new)
            if new_commit > self.commit_index:
                out.trace.append(
                    ("AE.5", (self.id, self.commit_index, new_commit, m.leader_id, m.leader_commit))
                )
                self.commit_index = new_commit
                self._apply_committed()
        out.trace.append(("AE.ok", (self.id, m.leader_id, last_new)))
        # AppendEntriesReply(term=, success=True, match_index=, read_round=), built
        # positionally by tuple.__new__: keyword construction costs four times as much.
        reply = _new(AppendEntriesReply, (self.current_term, True, last_new, 0, None, m.read_round))
        out.sends.append((source, reply))

    def _handle_append_entries_reply(self, source: int, m: AppendEntriesReply) -> None:
        out = self._out
        if self.role is not LEADER or m.term != self.current_term:
            out.trace.append(("AER.stale", (self.id, source, m.term)))
            return
        if source not in self.match_index:
            # Not in Figure 2: a reply from a server removed from the configuration.
            out.trace.append(("AER.nonmember", (self.id, source)))
            return
        sent = self.inflight.get(source)
        self.last_heard[source] = self.now
        if m.read_round > self.read_acked.get(source, 0):
            self.read_acked[source] = m.read_round
            if self.reads:
                self._serve_reads()
        if m.success:
            # "If successful: update nextIndex and matchIndex for follower" (§5.3)
            # Replies may arrive reordered or twice, so indexes only ever move forward.
            replied = m.match_index
            match_index, next_index = self.match_index, self.next_index
            matched = match_index[source]
            advanced = replied > matched
            if advanced:
                match_index[source] = matched = replied
            following = next_index[source]
            if replied + 1 > following:
                next_index[source] = following = replied + 1
            out.trace.append(("AER.ok", (self.id, source, replied, matched, following)))
            if advanced and replied > self.commit_index:
                self._advance_commit_index()  # only a new match can commit something
            if self.catchup is not None and source == self.catchup[0]:
                self._continue_catchup()
            if self.role is not LEADER or source not in self.match_index:
                # A removed leader stepped down when its removal committed, or the
                # commit let the leader append a C_new without ``source`` (§6).
                return
            if sent is not None and m.match_index >= sent[0]:
                del self.inflight[source]  # everything in flight has arrived
                sent = None
            if sent is None and self.next_index[source] <= self.log.last_index:
                self._send_append_entries(source)
            if source == self.transfer_target:
                self._continue_transfer()
            return
        before = self.next_index[source]
        floor = self.match_index[source] + 1
        if before <= floor:
            # A failure below what the follower already acknowledged: the reply is older
            # than that acknowledgement (reordered or duplicated), or the follower lost
            # entries it had made durable (a storage bug). match_index never goes back,
            # so resending now would only fail again: let the heartbeats retry.
            out.trace.append(("AER.behind", (self.id, source, floor - 1)))
            return
        self.inflight.pop(source, None)
        # "If AppendEntries fails because of log inconsistency: decrement nextIndex and
        # retry" (§5.3), skipping the follower's whole conflicting term at once.
        if m.conflict_term is None:
            target = m.conflict_index
        else:
            last = self.log.last_index_of_term(m.conflict_term)
            target = m.conflict_index if last is None else last + 1
        target = max(min(target, before - 1), floor)
        self.next_index[source] = target
        out.trace.append(("AER.fail", (self.id, source, before, target)))
        self._send_append_entries(source)

    # ------------------------------------------------------ InstallSnapshot RPC

    def _handle_install_snapshot(self, source: int, m: InstallSnapshot) -> None:
        out = self._out
        if self._refuses_leader(m, "IS.1"):
            out.sends.append((source, InstallSnapshotReply(term=self.current_term)))
            return
        last = m.last_included_index
        # (Figure 13 rules 2-4 create, write and finish a snapshot file chunk by
        # chunk; here the snapshot arrives whole, in one chunk with offset 0.)
        if last <= self.commit_index:
            # Not in Figure 13: a stale or duplicated snapshot. The committed prefix
            # through `last` is in this log or its snapshot already (Log Matching).
            out.trace.append(("IS.stale", (self.id, m.leader_id, last, self.commit_index)))
            out.sends.append(
                (source, InstallSnapshotReply(term=self.current_term, match_index=last))
            )
            return
        log = self.log
        # [IS.5] "Save snapshot file, discard any existing or partial snapshot with a
        # smaller index"
        snap = SaveSnapshot(
            last_index=last, last_term=m.last_included_term, data=m.data, config=m.config
        )
        out.storage.append(snap)
        self.snapshot = snap
        if log.term_at(last) == m.last_included_term:
            # [IS.6] "If existing log entry has same index and term as snapshot's last
            # included entry, retain log entries following it and reply"
            out.trace.append(("IS.6", (self.id, m.leader_id, last, log.last_index)))
            out.storage.append(CompactLog(through_index=last))
        else:
            # [IS.7] "Discard the entire log"
            out.trace.append(("IS.7", (self.id, m.leader_id, last, m.last_included_term)))
            out.storage.append(CompactLog(through_index=last))
            if log.last_index > last:
                out.storage.append(TruncateLog(from_index=last + 1))
                log.truncate_from(last + 1)
        log.compact_through(last, m.last_included_term)
        out.note_log_change(last + 1)
        # [IS.8] "Reset state machine using snapshot contents (and load snapshot's
        # cluster configuration)"
        # (A snapshot without a configuration keeps the one in force; either way the
        # configuration entries it replaced no longer count.)
        self.restore_config(self.config_data() if m.config is None else m.config)
        self.commit_index = last
        self.last_applied = last
        out.restore = snap
        out.trace.append(("IS.8", (self.id, last)))
        out.sends.append((source, InstallSnapshotReply(term=self.current_term, match_index=last)))

    def _handle_install_snapshot_reply(self, source: int, m: InstallSnapshotReply) -> None:
        if self.role is not LEADER or m.term != self.current_term:
            self._out.trace.append(("ISR.stale", (self.id, source, m.term)))
            return
        self._out.trace.append(("ISR", (self.id, source, m.match_index)))
        # A follower that installed the snapshot matches the leader through its last
        # included index: the same as a successful AppendEntries reply (§5.3).
        self._handle_append_entries_reply(
            source,
            AppendEntriesReply(term=m.term, success=True, match_index=m.match_index),
        )

    _HANDLERS: ClassVar[dict[type, Callable[[Server, int, Any], None]]] = {
        TimeoutNow: _handle_timeout_now,
        RequestVote: _handle_request_vote,
        RequestVoteReply: _handle_request_vote_reply,
        AppendEntries: _handle_append_entries,
        AppendEntriesReply: _handle_append_entries_reply,
        InstallSnapshot: _handle_install_snapshot,
        InstallSnapshotReply: _handle_install_snapshot_reply,
    }

    # ------------------------------------------------------------ transitions

    def read(self, read_id: int, now: int = 0) -> tuple[bool, Output]:
        """Not in Figure 2: a linearizable read by ReadIndex (thesis §6.4). Accepted
        only by a leader; ready (``Output.reads``) once the leader has confirmed it
        still leads and has applied through the read index."""
        out = self._begin()
        self.now = now
        if self.role is not LEADER or self.transfer_target is not None:
            return False, self._finish()
        if self._lease_read(read_id):
            return True, self._finish()
        # "1. If the leader has not yet marked an entry from its current term
        # committed, it waits until it has done so. ... 2. The leader saves its current
        # commit index in a local variable readIndex. 3. The leader needs to make sure
        # it hasn't been superseded ... it sends a new round of heartbeats and waits
        # for their acknowledgments from a majority of the cluster." (§6.4)
        self._new_read_round()
        self.reads.append([read_id, None, self.read_round])
        out.trace.append(("READ", (self.id, read_id)))
        for peer in self.peers:
            self._send_append_entries(peer, heartbeat_only=True)
        self._serve_reads()
        return True, self._finish()

    def _serve_reads(self) -> None:
        if not self.reads or self.role is not LEADER:
            return
        if self.log.term_at(self.commit_index) != self.current_term:
            return  # no entry of this term committed yet (§6.4 step 1)
        confirmed = self._confirmed_round()
        waiting = []
        for read in self.reads:
            if read[1] is None:
                read[1] = self.commit_index
            # "4. The leader waits for its state machine to advance at least as far as
            # the readIndex" (§6.4)
            if read[2] <= confirmed and self.last_applied >= read[1]:
                out = self._out
                if out.reads is None:
                    out.reads = []
                out.reads.append((read[0], read[1]))
                out.trace.append(("READ.done", (self.id, read[0], read[1])))
            else:
                waiting.append(read)
        self.reads = waiting

    def _confirmed_round(self) -> int:
        """The newest round of heartbeats a majority of the configuration (of both
        halves of C_old,new; this leader included if it is a voter) answered."""
        rounds = dict(self.read_acked)
        rounds[self.id] = self.read_round
        return self.config.committed_index(rounds)

    def _new_read_round(self) -> None:
        self.read_round += 1
        if self.lease_ms is not None:
            self.round_sent[self.read_round] = self.now

    @property
    def lease_until(self) -> int:
        """When this leader's lease ends (0: it holds none). "Once the leader's
        heartbeats were acknowledged by a majority of the cluster, it would extend its
        lease to start + election timeout / clock drift bound, since the followers
        shouldn't time out before then" (thesis §6.4.1). ``start`` is when the newest
        round a majority answered was sent: every answer came after it. Worked out when
        asked, not on every reply."""
        if self.lease_ms is None or self.lease_revoked or self.role is not LEADER:
            return 0
        start = self.round_sent.get(self._confirmed_round())
        return 0 if start is None else start + self.lease_ms

    def _lease_read(self, read_id: int) -> bool:
        """Serve a read at once if this leader holds a lease (thesis §6.4.1): no other
        leader can have been elected before the lease ends, so its commit index is
        current without a round of heartbeats. Needs an entry of its own term committed,
        as ReadIndex does."""
        until = self.lease_until
        if (
            self.now >= until
            or self.log.term_at(self.commit_index) != self.current_term
            or self.last_applied < self.commit_index
        ):
            return False
        out = self._out
        if out.reads is None:
            out.reads = []
        out.reads.append((read_id, self.commit_index))
        out.trace.append(("READ.lease", (self.id, read_id, self.commit_index, until)))
        return True

    def transfer_leadership(self, target: int, now: int = 0) -> tuple[str | None, Output]:
        """Not in Figure 2 (thesis §3.10): hand leadership to ``target``. Returns the
        reason it is refused, or None when the transfer has started."""
        out = self._begin()
        self.now = now
        reason = self.transfer_refusal(target)
        if reason is None:
            # "1. The prior leader stops accepting new client requests. 2. The prior
            # leader fully updates the target server's log to match its own ... 3. The
            # prior leader sends a TimeoutNow request to the target server" (§3.10)
            self.transfer_target = target
            self.transfer_started = now
            self.transfer_sent = False
            # The target's election ignores leader stickiness, so no lease is safe for
            # the rest of this term, even if the transfer is abandoned: the TimeoutNow
            # may still arrive.
            self.lease_revoked = True
            out.trace.append(("TR.start", (self.id, target)))
            if target not in self.inflight and self.next_index[target] <= self.log.last_index:
                self._send_append_entries(target)
            self._continue_transfer()
        return reason, self._finish()

    def transfer_refusal(self, target: int) -> str | None:
        """Why a transfer to ``target`` cannot start now, or None if it can."""
        if self.role is not LEADER:
            return f"S{self.id} is not the leader"
        if target == self.id:
            return f"S{target} is already the leader"
        if target not in self.vote_peers:
            return f"S{target} is not a voting member of S{self.id}'s configuration"
        if self.transfer_target is not None:
            return f"a transfer to S{self.transfer_target} is already under way"
        return None

    def _continue_transfer(self) -> None:
        target = self.transfer_target
        if target is None or self.transfer_sent:
            return
        if target not in self.match_index:  # removed from the configuration meanwhile
            self._out.trace.append(("TR.abort", (self.id, target)))
            self.transfer_target = None
            return
        if self.match_index[target] < self.log.last_index:
            return  # still catching up; the next success reply tries again
        self.transfer_sent = True
        self._out.trace.append(("TR.timeout_now", (self.id, target)))
        self._out.sends.append((target, TimeoutNow(term=self.current_term, leader_id=self.id)))

    def _quorum_active(self) -> bool:
        # Not in Figure 2, CheckQuorum: "a leader steps down if an election timeout
        # elapses without a successful round of heartbeats to a majority of its
        # cluster" (thesis §6.2).
        window = self.min_election_timeout_ms
        since = self.leader_since
        now, last_heard = self.now, self.last_heard
        active = {self.id}
        for peer in self.vote_peers:
            if now - last_heard.get(peer, since) < window:
                active.add(peer)
        config = self.config
        if config.has_quorum(active):
            return True
        self._out.trace.append(("CQ", (self.id, len(active), config.quorum_size(), window)))
        self._step_down()
        return False

    def _step_down(self) -> None:
        """A leader becomes a follower in its own term (CheckQuorum, or its removal)."""
        self.role = FOLLOWER
        self.leader_id = None
        self.transfer_target = None
        self.catchup = None
        self.inflight = {}
        self._out.heartbeat_timer = STOP
        self._out.election_timer = RESET

    def _become_follower(self, term: int) -> None:
        self.transfer_target = None
        self.catchup = None
        if self.role is LEADER:
            self._out.heartbeat_timer = STOP
            self._out.election_timer = RESET
        self.role = FOLLOWER
        self.current_term = term
        self.voted_for = None
        self._hard_state_dirty = True
        self.leader_id = None
        self.votes_granted = set()
        self.inflight = {}

    def _become_leader(self) -> None:
        out = self._out
        self.role = LEADER
        self.leader_id = self.id
        self.leader_since = self.now
        self.last_heard = {}
        self.transfer_target = None
        self.reads = []
        self.read_acked = {}
        self.catchup = None
        self.round_sent = {}
        self.lease_revoked = False
        out.became_leader = True
        out.trace.append(
            ("LEADER", (self.id, _names(sorted(self.votes_granted)), self.current_term))
        )
        # "for each server, index of the next log entry to send to that server
        # (initialized to leader last log index + 1)"; match_index initialized to 0.
        self.next_index = {p: self.log.last_index + 1 for p in self.peers}
        self.match_index = {p: 0 for p in self.peers}
        self.inflight = {}
        out.election_timer = STOP
        out.heartbeat_timer = START
        # Not in Figure 2: a no-op entry of the new term (§8) lets the leader commit
        # entries left by earlier terms without waiting for a client.
        if self.leader_noop:
            entry = self._append_new_entry(noop_data())
            out.trace.append(("NOOP", (self.id, entry.index)))
        if self.config.joint and self._config_index() <= self.commit_index:
            self._config_committed()  # finish the joint change a predecessor began (§6)
        for peer in self.peers:
            self._send_append_entries(peer)
        self._advance_commit_index()

    # --------------------------------------------------------------- helpers

    def _append_new_entry(self, data: Any) -> Entry:
        entry = Entry(self.log.last_index + 1, self.current_term, data)
        self.log.append(entry)
        self._out.storage.append(_new(SaveLog, (entry.term, entry.index, data)))  # SaveLog(...)
        self._out.note_log_change(entry.index)
        return entry

    # ------------------------------------------------- membership (§6, thesis ch. 4)

    def _use_latest_config(self, narrate: bool = True) -> None:
        """Adopt the latest configuration in the log, committed or not (thesis §4.1),
        or the bootstrap configuration if the log holds none."""
        if self.config_indexes:
            config = parse_config(self.log.entry(self.config_indexes[-1]).data)
            self.reconfigured = True
        else:
            config = self.bootstrap_config
        changed = config != self.config
        self.config = config
        me = self.id
        self.voters = config.all_voters
        self.vote_peers = tuple(v for v in self.voters if v != me)
        self.peers = tuple(v for v in config.members if v != me)
        # With a single voter, the leader commits on its own append.
        self.commits_alone = config.has_quorum((me,))
        if self.role is LEADER:
            last = self.log.last_index
            for peer in self.peers:
                if peer not in self.next_index:
                    # A new member: start from the leader's end and back up (§5.3).
                    self.next_index[peer] = last + 1
                    self.match_index[peer] = 0
            for gone in [p for p in self.next_index if p not in self.peers]:
                del self.next_index[gone], self.match_index[gone]
                self.inflight.pop(gone, None)
        if changed and narrate and self.config_indexes:
            self._out.trace.append(
                ("CONFIG.use", (self.id, self.config_indexes[-1], config.describe()))
            )

    def _may_campaign(self) -> bool:
        """A voter of the latest configuration may start an election; so may a voter
        of the one before while the latest is not known to be committed: "a server
        that is not part of its own latest configuration should still start new
        elections, as it might still be needed until the C_new entry is committed"
        (thesis §4.2.2). Its own vote counts only if the configuration has it."""
        if self.config.can_vote(self.id):
            return True
        indexes = self.config_indexes
        if not indexes or indexes[-1] <= self.commit_index:
            return False
        if len(indexes) >= 2:
            previous = parse_config(self.log.entry(indexes[-2]).data)
        else:
            previous = self.bootstrap_config
        return previous.can_vote(self.id)

    def _config_index(self) -> int:
        """The index of the latest configuration entry (the snapshot's, if compacted)."""
        return self.config_indexes[-1] if self.config_indexes else self.log.snapshot_index

    def _drop_configs_from(self, index: int) -> None:
        """Configuration entries at ``index`` and after were truncated: revert to the
        latest one that remains (thesis §4.1)."""
        while self.config_indexes and self.config_indexes[-1] >= index:
            self.config_indexes.pop()
        before = self.config
        self._use_latest_config()
        self._out.trace.append(
            ("CONFIG.revert", (self.id, index, before.describe(), self.config.describe()))
        )

    def config_data(self, through_index: int | None = None) -> dict[str, Any]:
        """The configuration as a plain JSON-compatible dict, for a snapshot:
        ``{"voters": [...]}``, plus ``"learners"`` and, in C_old,new, ``"old_voters"``.
        With ``through_index``, the latest configuration as of that index, as a
        snapshot through it keeps it (§7: "the latest configuration as of the last
        included index"); by default the latest in the log."""
        config = self.config
        if through_index is not None:
            config = self.bootstrap_config
            for index in reversed(self.config_indexes):
                if index <= through_index:
                    config = parse_config(self.log.entry(index).data)
                    break
        return config.to_data()

    def restore_config(self, data: Any) -> None:
        """Take the configuration of a snapshot (``config_data``'s dict) as the one in
        force before every configuration entry still in the log; entries the snapshot
        replaced no longer count."""
        self.bootstrap_config = Configuration.from_data(data)
        log = self.log
        self.config_indexes = [
            i for i in self.config_indexes if log.snapshot_index < i <= log.last_index
        ]
        self.reconfigured = self.reconfigured or self.bootstrap_config != self.config
        self._use_latest_config()

    def membership_refusal(self, change: str, target: int) -> str | None:
        """Why membership change ``change`` of server ``target`` cannot start now, or
        None if it can."""
        if self.role is not LEADER:
            return f"S{self.id} is not the leader"
        if self.transfer_target is not None:
            return f"a leadership transfer to S{self.transfer_target} is under way"
        if not self.single_change_bug and self.log.term_at(self.commit_index) != self.current_term:
            # "a leader may not append a new configuration entry until it has committed
            # an entry from its current term" (the 2015 fix, thesis §4.1)
            return (
                f"S{self.id} has not yet committed an entry of its term {self.current_term} "
                "(a new leader must, before changing the configuration: thesis §4.1)"
            )
        if self.config_indexes and self.config_indexes[-1] > self.commit_index:
            return (
                f"the configuration change at index {self.config_indexes[-1]} is not "
                "committed yet: one change at a time (thesis §4.1)"
            )
        if self.config.joint:
            return "a joint configuration C_old,new is in force: C_new comes first (§6)"
        if self.catchup is not None:
            return f"S{self.catchup[0]} is still catching up before it becomes a voter"
        config = self.config
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

    def change_membership(
        self, change: str, target: int, now: int = 0
    ) -> tuple[str | None, Output]:
        """Not in Figure 2: start a membership change at the leader. Returns the reason
        it is refused, or None when it has started.

        ``add_server`` makes ``target`` a learner, catches it up in rounds (thesis
        §4.2.1), then makes it a voter; ``promote`` does the last two for a learner.
        ``remove_server`` and ``add_learner`` append the new configuration at once. With
        joint consensus a change of voters goes through C_old,new first (§6)."""
        if change not in MEMBERSHIP_CHANGES:
            raise ValueError(f"{change!r} is not one of {', '.join(MEMBERSHIP_CHANGES)}")
        out = self._begin()
        self.now = now
        reason = self.membership_refusal(change, target)
        if reason is not None:
            return reason, self._finish()
        config = self.config
        out.trace.append(("CONFIG.start", (self.id, change, target, config.describe())))
        if change == "add_learner" or (change == "add_server" and target not in config.members):
            self._append_config(Configuration.of(config.voters, (*config.learners, target)))
        if change in ("add_server", "promote"):
            self.catchup = [target, self.log.last_index, now, 1]
            self._continue_catchup()
        elif change == "remove_server":
            if target in config.learners:
                learners = tuple(i for i in config.learners if i != target)
                self._append_config(Configuration.of(config.voters, learners))
            else:
                self._change_voters(tuple(i for i in config.voters if i != target))
        return None, self._finish()

    def _change_voters(self, voters: tuple[int, ...]) -> None:
        config = self.config
        learners = tuple(i for i in config.learners if i not in voters)
        if self.joint_consensus:
            # "the leader first creates the C_old,new configuration entry" (§6)
            self._append_config(Configuration.of(voters, learners, config.voters))
        else:
            self._append_config(Configuration.of(voters, learners))

    def _append_config(self, config: Configuration) -> None:
        entry = self._append_new_entry(config_entry_data(config))
        self.config_indexes.append(entry.index)
        self._use_latest_config(narrate=False)
        self._out.trace.append(("CONFIG.append", (self.id, entry.index, config.describe())))
        for peer in self.peers:
            if peer not in self.inflight:
                self._send_append_entries(peer)
        if self.commits_alone:
            self._advance_commit_index()

    def _continue_catchup(self) -> None:
        """Thesis §4.2.1: a round ends when the new server has every entry the leader
        held when the round began; a round shorter than the minimum election timeout
        means it is caught up. Then, once its learner entry is committed, it becomes a
        voter."""
        catchup = self.catchup
        if catchup is None:
            return
        target, round_end, started, rounds = catchup
        out = self._out
        if round_end is not None:
            if self.match_index.get(target, 0) < round_end:
                return
            took = self.now - started
            if took >= self.min_election_timeout_ms:
                if rounds >= MAX_CATCHUP_ROUNDS:
                    out.trace.append(("CONFIG.catchup_abort", (self.id, target, rounds)))
                    self.catchup = None
                    return
                out.trace.append(("CONFIG.round", (self.id, target, rounds, took)))
                self.catchup = [target, self.log.last_index, self.now, rounds + 1]
                return
            out.trace.append(("CONFIG.caught_up", (self.id, target, rounds, took)))
            catchup[1] = None
        if self.config_indexes and self.config_indexes[-1] > self.commit_index:
            return  # the learner's own entry first: one change at a time
        self.catchup = None
        self._change_voters((*self.config.voters, target))

    def _config_committed(self) -> None:
        """The leader's latest configuration is committed: finish what it started."""
        config = self.config
        if config.joint:
            # "Once C_old,new has been committed ... it is now safe for the leader to
            # create a log entry describing C_new" (§6)
            self._append_config(Configuration.of(config.voters, config.learners))
        elif self.id not in config.voters:
            # "the leader steps down (returns to follower state) once the C_new entry is
            # committed" (thesis §4.2.2)
            self._out.trace.append(("CONFIG.step_down", (self.id, self._config_index())))
            self._step_down()
        elif self.catchup is not None:
            self._continue_catchup()

    def _send_append_entries(self, peer: int, heartbeat_only: bool = False) -> None:
        log = self.log
        next_index = self.next_index[peer]
        if next_index <= log.snapshot_index:
            # The entries this follower needs next were compacted away (§7): send the
            # snapshot instead, unless one is in flight to it already.
            if not heartbeat_only or peer not in self.inflight:
                self._send_install_snapshot(peer)
            return
        prev = next_index - 1
        entries = (
            ()
            if heartbeat_only or next_index > log.snapshot_index + len(log.entries)
            else log.slice(next_index, next_index + MAX_ENTRIES_PER_MESSAGE)
        )
        # AppendEntries(term=, leader_id=, prev_log_index=, prev_log_term=, entries=,
        # leader_commit=, read_round=), built positionally by tuple.__new__: hot.
        message = _new(
            AppendEntries,
            (
                self.current_term,
                self.id,
                prev,
                log.term_at(prev) or 0,
                entries,
                self.commit_index,
                self.read_round,
            ),
        )
        if entries:
            self.inflight[peer] = (entries[-1].index, self.heartbeat_round)
        self._out.sends.append((peer, message))

    def _send_install_snapshot(self, peer: int) -> None:
        # "the leader uses a new RPC called InstallSnapshot to send snapshots to
        # followers that are too far behind" (§7). Flow control treats it as a batch
        # in flight, through the snapshot's last included index.
        snap = self.snapshot
        assert snap is not None and snap.last_index == self.log.snapshot_index
        self.inflight[peer] = (snap.last_index, self.heartbeat_round)
        self._out.trace.append(("IS.send", (self.id, peer, snap.last_index, snap.last_term)))
        self._out.sends.append(
            (
                peer,
                InstallSnapshot(
                    term=self.current_term,
                    leader_id=self.id,
                    last_included_index=snap.last_index,
                    last_included_term=snap.last_term,
                    offset=0,
                    data=snap.data,
                    done=True,
                    config=snap.config,
                ),
            )
        )

    def _advance_commit_index(self) -> None:
        # "If there exists an N such that N > commitIndex, a majority of matchIndex[i]
        # >= N, and log[N].term == currentTerm: set commitIndex = N" (§5.3, §5.4)
        # A leader that is not in C_new does not count itself (thesis §4.2.2);
        # ``committed_index`` looks at the configuration's voters only.
        matched = self.match_index
        matched[self.id] = self.log.last_index
        config = self.config
        n = config.committed_index(matched)
        del matched[self.id]
        if n <= self.commit_index:
            return
        term = self.log.term_at(n)
        if term != self.current_term:
            self._out.trace.append(("COMMIT.old", (self.id, n, term, self.current_term)))
            return
        self._out.trace.append(("COMMIT", (self.id, n, config.quorum_size(), self.current_term)))
        self.commit_index = n
        self._apply_committed()
        if self.reconfigured and self._config_index() <= n:
            self._config_committed()

    def _apply_committed(self) -> None:
        # "If commitIndex > lastApplied: increment lastApplied, apply log[lastApplied]
        # to state machine" (§5.3)
        first = self.last_applied + 1
        if first > self.commit_index:
            return
        log = self.log
        self._out.applies.extend(log.slice(first, self.commit_index + 1))
        self._out.trace.append(("APPLY", (self.id, first, self.commit_index)))
        self.last_applied = self.commit_index
        threshold = self.snapshot_threshold
        if threshold is not None and self.last_applied - log.snapshot_index >= threshold:
            self._out.snapshot_due = True  # the world answers with take_snapshot()
        if self.reads:
            self._serve_reads()

    def _begin(self) -> Output:
        self._out = Output()
        return self._out

    def _finish(self) -> Output:
        out = self._out
        if self._hard_state_dirty:
            # Term and vote travel together, first: every later send depends on them.
            self._hard_state_dirty = False
            out.storage.insert(
                0, SaveHardState(current_term=self.current_term, voted_for=self.voted_for)
            )
        return out


_new = tuple.__new__  # builds a message from its fields in order, skipping __new__


def _short(data: Any) -> str:
    text = stable_repr(data)
    return text if len(text) <= 40 else text[:37] + "..."


def _names(ids: list[int]) -> str:
    return ", ".join(f"S{i}" for i in ids)
