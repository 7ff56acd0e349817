"""Stable rule ids for trace events, with the sentence each one prints.

A server records ``(rule, args)`` pairs as it works; sentences are formatted only when
someone reads them, so tracing costs almost nothing on the hot path. ``kind`` uses the
vocabulary of raft.tla and RaftScope. The section each sentence cites is the paper's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from .log import stable_repr


def short_repr(data: Any) -> str:
    """A client's command as a trace shows it: at most 40 characters."""
    text = stable_repr(data)
    return text if len(text) <= 40 else text[:37] + "..."


def server_names(ids: Iterable[int]) -> str:
    """``S1, S3``: servers in id order."""
    return ", ".join(f"S{i}" for i in sorted(ids))


class Rule(NamedTuple):
    kind: str
    template: str


RULES: dict[str, Rule] = {
    "BOOT": Rule("Restart", "S{0} starts as a follower in term {1} with {2} log entries"),
    "TERM": Rule(
        "UpdateTerm",
        "S{0} sees term {1} in S{3}'s {2}, newer than its own term {4}: it becomes a "
        "follower in term {1} (§5.1)",
    ),
    "ET": Rule(
        "Timeout",
        "S{0}'s election timer fires: it becomes a candidate in term {1}, votes for "
        "itself and asks the others for their votes (§5.2)",
    ),
    "ELECT": Rule(
        "Timeout",
        "S{0} becomes a candidate in term {1}, votes for itself and asks the others for "
        "their votes (§5.2)",
    ),
    "RV.1": Rule(
        "HandleRequestVoteRequest",
        "S{0} refuses its vote to S{1}: S{1}'s term {2} is older than its own term {3} (§5.1)",
    ),
    "RV.2.voted": Rule(
        "HandleRequestVoteRequest",
        "S{0} refuses its vote to S{1}: it already voted for S{2} in term {3} (§5.2)",
    ),
    "RV.2.log": Rule(
        "HandleRequestVoteRequest",
        "S{0} refuses its vote to S{1}: S{1}'s log (last entry {2}, term {3}) is less "
        "up-to-date than its own (last entry {4}, term {5}) (§5.4.1)",
    ),
    "RV.2.grant": Rule(
        "HandleRequestVoteRequest",
        "S{0} grants its vote to S{1} in term {2}: it has not voted for another candidate "
        "and S{1}'s log is at least as up-to-date as its own (§5.2, §5.4.1)",
    ),
    "RVR.stale": Rule(
        "HandleRequestVoteResponse",
        "S{0} ignores a vote reply from S{1} for term {2}: it is no longer a candidate in "
        "that term (§5.2)",
    ),
    "RVR.grant": Rule(
        "HandleRequestVoteResponse",
        "S{0} receives S{1}'s vote: {2} of the {3} votes it needs in term {4} (§5.2)",
    ),
    "RVR.refused": Rule(
        "HandleRequestVoteResponse", "S{0} learns that S{1} refused its vote in term {2}"
    ),
    "LEADER": Rule(
        "BecomeLeader",
        "S{0} wins the election with votes from {1}: it is the leader of term {2} (§5.2)",
    ),
    "NOOP": Rule(
        "ClientRequest",
        "S{0} appends a no-op entry at index {1} so that it can commit entries of earlier "
        "terms (§8; not in Figure 2)",
    ),
    "PROPOSE": Rule(
        "ClientRequest",
        "S{0}, leader of term {1}, appends the client's command {3} at index {2} and "
        "replicates it (§5.3)",
    ),
    "HB": Rule(
        "AppendEntries",
        "S{0}'s heartbeat timer fires: it sends AppendEntries to every follower so they "
        "do not start an election (§5.2)",
    ),
    "AE.1": Rule(
        "HandleAppendEntriesRequest",
        "S{0} rejects AppendEntries from S{1}: S{1}'s term {2} is older than its own term "
        "{3} (§5.1)",
    ),
    "AE.leader": Rule(
        "HandleAppendEntriesRequest",
        "S{0} is leader of term {2} and receives AppendEntries from S{1} for the same term: "
        "two leaders in one term means Election Safety is already broken (§5.2)",
    ),
    "AE.candidate": Rule(
        "HandleAppendEntriesRequest",
        "S{0} hears from S{1}, the leader of its term {2}: it stops being a {3} and becomes "
        "a follower (§5.2)",
    ),
    "AE.2": Rule(
        "HandleAppendEntriesRequest",
        "S{0} rejects AppendEntries from S{1}: its log has no entry {2} with term {3} "
        "(§5.3); it hints that S{1} retry from index {4}",
    ),
    "AE.3": Rule(
        "HandleAppendEntriesRequest",
        "S{0} deletes its entries from index {1} on: its entry {1} has term {2}, but "
        "the leader S{3} sent term {4} (§5.3)",
    ),
    "AE.4": Rule("HandleAppendEntriesRequest", "S{0} appends entries {1}..{2} sent by S{3} (§5.3)"),
    "AE.ok": Rule(
        "HandleAppendEntriesRequest",
        "S{0} accepts AppendEntries from S{1}: its log matches the leader's through index "
        "{2} (§5.3)",
    ),
    "AE.5": Rule(
        "HandleAppendEntriesRequest",
        "S{0} advances its commit index from {1} to {2}: the leader S{3} has committed "
        "through {4} (§5.3)",
    ),
    "AER.stale": Rule(
        "HandleAppendEntriesResponse",
        "S{0} ignores an AppendEntries reply from S{1} for term {2}: it is not leader of that term",
    ),
    "AER.ok": Rule(
        "HandleAppendEntriesResponse",
        "S{0} learns that S{1} matches its log through index {2}: match_index[S{1}]={3}, "
        "next_index[S{1}]={4} (§5.3)",
    ),
    "AER.behind": Rule(
        "HandleAppendEntriesResponse",
        "S{0} gets a 'log does not match' reply from S{1}, but S{1} already acknowledged "
        "entries through index {2}: either the reply is older than that acknowledgement "
        "(reordered or duplicated), or S{1} lost entries it had made durable (a storage "
        "bug). match_index never goes back; the next heartbeats retry (§5.3)",
    ),
    "AER.fail": Rule(
        "HandleAppendEntriesResponse",
        "S{0} learns that S{1}'s log does not match: next_index[S{1}] goes back from {2} to "
        "{3} and S{0} retries (§5.3)",
    ),
    "COMMIT": Rule(
        "AdvanceCommitIndex",
        "S{0} commits through index {1}: a majority ({2}) store it and entry {1} is from "
        "the current term {3} (§5.3, §5.4.2)",
    ),
    "COMMIT.old": Rule(
        "AdvanceCommitIndex",
        "S{0} does not commit index {1} yet: a majority store it, but it is from term {2}, "
        "not the current term {3}; only entries of the current term are committed by "
        "counting replicas (§5.4.2)",
    ),
    # Not in Figure 2: the thesis's PreVote, CheckQuorum and leadership transfer.
    "PV.start": Rule(
        "PreVote",
        "S{0}'s election timer fires: before disturbing anyone it asks whether the others "
        "would vote for it in term {1}, keeping its own term (PreVote, thesis §9.6)",
    ),
    "PV.grant": Rule(
        "HandlePreVoteRequest",
        "S{0} would vote for S{1} in term {2}: it has heard from no leader lately and S{1}'s "
        "log is at least as up-to-date (PreVote, thesis §9.6); nothing changes at S{0}",
    ),
    "PV.term": Rule(
        "HandlePreVoteRequest",
        "S{0} would not vote for S{1} in term {2}: it is already in term {3} (thesis §9.6)",
    ),
    "PV.leader": Rule(
        "HandlePreVoteRequest",
        "S{0} would not vote for S{1}: it heard from the leader S{2} within the minimum "
        "election timeout (thesis §9.6)",
    ),
    "PV.self": Rule(
        "HandlePreVoteRequest",
        "S{0} would not vote for S{1}: S{0} itself is the leader of term {2} (thesis §9.6)",
    ),
    "PV.refused": Rule(
        "HandlePreVoteResponse",
        "S{0} learns that S{1} would not vote for it in term {2}: a refused pre-vote (thesis §9.6)",
    ),
    "PV.stale": Rule(
        "HandlePreVoteResponse",
        "S{0} ignores a pre-vote reply from S{1}: it is no longer asking for pre-votes "
        "(thesis §9.6)",
    ),
    "PV.log": Rule(
        "HandlePreVoteRequest",
        "S{0} would not vote for S{1}: S{1}'s log is less up-to-date (§5.4.1, thesis §9.6)",
    ),
    "PV.got": Rule(
        "HandlePreVoteResponse",
        "S{0} gets S{1}'s pre-vote: {2} of the {3} it needs to start a real election in "
        "term {4} (thesis §9.6)",
    ),
    "RV.sticky": Rule(
        "HandleRequestVoteRequest",
        "S{0} ignores S{1}'s RequestVote: it heard from the leader S{2} within the minimum "
        "election timeout, so the leader is alive (leader stickiness, thesis §4.2.3)",
    ),
    "RV.sticky.self": Rule(
        "HandleRequestVoteRequest",
        "S{0} ignores S{1}'s RequestVote: S{0} itself is the leader of term {2}, alive, and "
        "a newer term must not depose it (leader stickiness, thesis §4.2.3)",
    ),
    "RV.sticky.restart": Rule(
        "HandleRequestVoteRequest",
        "S{0} ignores S{1}'s RequestVote: it restarted less than the minimum election "
        "timeout ago, and just before its crash it may have answered a leader whose "
        "lease counts on it not to vote; it votes again from t={2} ms (thesis §6.4.1)",
    ),
    "PV.restart": Rule(
        "HandlePreVoteRequest",
        "S{0} would not vote for S{1}: it restarted less than the minimum election "
        "timeout ago and may have heard from a leader just before its crash; it votes "
        "again from t={2} ms (thesis §6.4.1, §9.6)",
    ),
    "CQ": Rule(
        "CheckQuorum",
        "S{0} steps down: servers that answered it within the last {3} ms, itself "
        "included: {1}, fewer than the {2} a majority needs (CheckQuorum, thesis §6.2)",
    ),
    "TR.start": Rule(
        "TransferLeadership",
        "S{0} starts handing leadership to S{1}: it refuses client commands and brings "
        "S{1}'s log up to date first (thesis §3.10)",
    ),
    "TR.timeout_now": Rule(
        "TransferLeadership",
        "S{0} sends TimeoutNow to S{1}, whose log now matches its own: S{1} will start an "
        "election at once (thesis §3.10)",
    ),
    "TR.abort": Rule(
        "TransferLeadership",
        "S{0} gives up handing leadership to S{1}: an election timeout passed without it "
        "(thesis §3.10); it accepts client commands again",
    ),
    "TN": Rule(
        "HandleTimeoutNow",
        "S{0} receives TimeoutNow from the leader S{1}: it starts an election at once "
        "(thesis §3.10)",
    ),
    "TN.stale": Rule(
        "HandleTimeoutNow", "S{0} ignores a TimeoutNow from S{1} for term {2}: it is stale"
    ),
    "READ": Rule(
        "ClientRead",
        "S{0} takes read #{1}: it notes its commit index and sends a round of heartbeats to "
        "confirm it still leads before answering (ReadIndex, thesis §6.4)",
    ),
    "READ.done": Rule(
        "ClientRead",
        "S{0} answers read #{1}: a majority confirmed it still leads, and it has applied "
        "through the read index {2} (ReadIndex, thesis §6.4)",
    ),
    # Not in Figure 2: membership changes (§6 and Ongaro's thesis, chapter 4).
    "CONFIG.start": Rule(
        "ChangeMembership",
        "S{0}, the leader, starts {1} of S{2}; the configuration is {3} (thesis §4.1: one "
        "change at a time, and only after committing an entry of its term)",
    ),
    "CONFIG.append": Rule(
        "ChangeMembership",
        "S{0} appends the configuration {2} at index {1} and uses it at once, committed "
        "or not (thesis §4.1)",
    ),
    "CONFIG.use": Rule(
        "ChangeMembership",
        "S{0} now uses the configuration {2} from index {1}: a server always uses the "
        "latest configuration in its log, committed or not (thesis §4.1)",
    ),
    "CONFIG.revert": Rule(
        "ChangeMembership",
        "S{0} lost its configuration entries from index {1} on: it goes back from {2} "
        "to {3}, the latest configuration left in its log (thesis §4.1)",
    ),
    "CONFIG.round": Rule(
        "CatchUp",
        "S{0} finished catch-up round {2} of S{1} in {3} ms, not within an election "
        "timeout: it starts another round (thesis §4.2.1)",
    ),
    "CONFIG.caught_up": Rule(
        "CatchUp",
        "S{1} has caught up with S{0}'s log (round {2} took {3} ms, less than an election "
        "timeout): it can become a voter without making the cluster unavailable "
        "(thesis §4.2.1)",
    ),
    "CONFIG.catchup_abort": Rule(
        "CatchUp",
        "S{0} gives up catching up S{1} after {2} rounds: it stays a learner; try "
        "promote({1}) again (thesis §4.2.1)",
    ),
    "CONFIG.resume": Rule(
        "CatchUp",
        "S{0}, the new leader, resumes catching up S{1}, which the configuration {2} "
        "names as joining: once caught up it becomes a voter (thesis §4.2.1)",
    ),
    "CONFIG.step_down": Rule(
        "ChangeMembership",
        "S{0} is not in the configuration committed at index {1}: having led the change "
        "without counting itself, it steps down (thesis §4.2.2)",
    ),
    "ET.nonvoter": Rule(
        "Timeout",
        "S{0}'s election timer fires, but it is not a voter in its configuration {1}, and "
        "no uncommitted change might still need it: it does not start an election, and "
        "waits for a leader (thesis §4.2.1, §4.2.2)",
    ),
    "AER.nonmember": Rule(
        "HandleAppendEntriesResponse",
        "S{0} ignores an AppendEntries reply from S{1}: S{1} is no longer in its "
        "configuration (thesis §4.1)",
    ),
    "READ.lease": Rule(
        "ClientRead",
        "S{0} answers read #{1} at once at its commit index {2}: it holds a lease until "
        "t={3} ms, before which no other leader can be elected, assuming clocks drift "
        "no more than the lease allows (lease read, thesis §6.4.1)",
    ),
    "APPLY": Rule(
        "ApplyEntries", "S{0} applies entries {1}..{2} to its state machine, in order (§5.3)"
    ),
    "BOOT.snapshot": Rule(
        "Restart",
        "S{0} recovers its snapshot through index {1}: its state machine starts from the "
        "snapshot, and entries through {1} count as committed and applied (§7)",
    ),
    "SNAP": Rule(
        "Snapshot",
        "S{0} writes a snapshot of its state machine through index {1} (term {2}) to stable "
        "storage, then discards its log up to that point (§7)",
    ),
    "IS.send": Rule(
        "InstallSnapshot",
        "S{0} sends its snapshot through index {2} (term {3}) to S{1}, which needs entries "
        "S{0} has already compacted away (§7, Figure 13)",
    ),
    "IS.1": Rule(
        "HandleInstallSnapshotRequest",
        "S{0} refuses a snapshot from S{1}: S{1}'s term {2} is older than its own term {3} "
        "(Figure 13: reply immediately if term < currentTerm)",
    ),
    "IS.stale": Rule(
        "HandleInstallSnapshotRequest",
        "S{0} ignores S{1}'s snapshot through index {2}: it has already committed through "
        "index {3} (§7)",
    ),
    "IS.6": Rule(
        "HandleInstallSnapshotRequest",
        "S{0} saves S{1}'s snapshot through index {2} and keeps its entries after it (up "
        "to {3}): its entry {2} has the snapshot's last included term (Figure 13, rule 6)",
    ),
    "IS.7": Rule(
        "HandleInstallSnapshotRequest",
        "S{0} saves S{1}'s snapshot through index {2} (term {3}) and discards its entire "
        "log (Figure 13, rule 7)",
    ),
    "IS.8": Rule(
        "HandleInstallSnapshotRequest",
        "S{0} resets its state machine from the snapshot and loads its configuration: "
        "entries through {1} are applied (Figure 13, rule 8)",
    ),
    "ISR.stale": Rule(
        "HandleInstallSnapshotResponse",
        "S{0} ignores an InstallSnapshot reply from S{1} for term {2}: it is not leader of "
        "that term",
    ),
    "ISR": Rule(
        "HandleInstallSnapshotResponse",
        "S{0} learns that S{1} installed its snapshot: S{1} matches through index {2} (§7)",
    ),
    # Not in the paper: the classic bugs, switched on with Cluster(bugs={...}) (bugs.py).
    # Each sentence says what the server did and quotes the sentence it broke.
    "BUG.commit_old_term": Rule(
        "AdvanceCommitIndex",
        "BUG commit_old_term: S{0} commits through index {1}, an entry of term {2}, by "
        'counting replicas in term {3}. The paper forbids it: "Raft never commits log '
        'entries from previous terms by counting replicas" (§5.4.2, Figure 8)',
    ),
    "BUG.no_election_restriction": Rule(
        "HandleRequestVoteRequest",
        "BUG no_election_restriction: S{0} is ready to vote for S{1} without comparing "
        "logs, though its own log (last entry {2}, term {3}) is more up-to-date. The paper "
        "grants a vote only if the \"candidate's log is at least as up-to-date as "
        "receiver's log\" (§5.4.1)",
    ),
    "BUG.vote_twice": Rule(
        "HandleRequestVoteRequest",
        "BUG vote_twice: S{0} is ready to vote for S{1} though it already voted for S{2} "
        'in term {3}. The paper: "Each server will vote for at most one candidate in a '
        'given term" (§5.2)',
    ),
    "BUG.delete_matching_entries": Rule(
        "HandleAppendEntriesRequest",
        "BUG delete_matching_entries: S{0} deletes its entries {1}..{2}, though none "
        'conflicts with what S{3} sent. The paper deletes entries only "If an existing '
        'entry conflicts with a new one (same index but different terms)" (§5.3)',
    ),
    "BUG.commit_past_last_new": Rule(
        "HandleAppendEntriesRequest",
        "BUG commit_past_last_new: S{0} advances its commit index to {2}, past index {1}, "
        "the last one S{3}'s AppendEntries vouched for. The paper: \"set commitIndex = "
        'min(leaderCommit, index of last new entry)" (§5.3)',
    ),
    "BUG.stale_replies": Rule(
        "HandleResponse",
        "BUG stale_replies: S{0} acts on S{1}'s {2} from term {3}, though it is in term {4}. "
        'The paper counts "votes from a majority of the servers in the full cluster for '
        'the same term" (§5.2)',
    ),
    "BUG.single_change_before_commit": Rule(
        "ChangeMembership",
        "BUG single_change_before_commit: S{0} starts {1} of S{2} before committing an "
        'entry of its term {3}. The thesis: "a leader may not append a new configuration '
        'entry until it has committed an entry from its current term" (thesis §4.1)',
    ),
    "BUG.read_without_quorum": Rule(
        "ClientRead",
        "BUG read_without_quorum: S{0} answers read #{1} at index {2} without hearing from a "
        "majority. The thesis: \"The leader needs to make sure it hasn't been superseded "
        'by a newer leader of which it is unaware" (thesis §6.4)',
    ),
}
