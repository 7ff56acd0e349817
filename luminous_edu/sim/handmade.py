"""Hand-made messages for ``cluster.inject``: checking them, and writing them in a record.

A message built by hand (``le.AppendEntries(term=2, leader_id=1, ...)``) reaches a
server only if it is one a server could have sent: the right class, whole numbers where
Figure 2 has indexes and terms, known servers, booleans where it has flags, log entries
as ``le.Entry`` values in index order whose data the cluster's codec carries (copied
in, as a proposal's is). In a record it is a dict: ``{"type": "AppendEntries", ...}``
with its fields, entries as ``[index, term, data]``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from ..core.log import Entry, looks_like_marker, noop_data
from ..core.membership import Configuration
from ..core.messages import (
    AppendEntries,
    AppendEntriesReply,
    InstallSnapshot,
    InstallSnapshotReply,
    RequestVote,
    RequestVoteReply,
    TimeoutNow,
)
from ..errors import LuminousError, UnknownServerError
from ..storage.codec import shown

MESSAGES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        RequestVote,
        RequestVoteReply,
        AppendEntries,
        AppendEntriesReply,
        InstallSnapshot,
        InstallSnapshotReply,
        TimeoutNow,
    )
}

# What each field is: a term, an index (or round), a server, a flag; the rest by name.
TERMS = {"term", "last_log_term", "prev_log_term", "last_included_term"}
INDEXES = {
    "last_log_index",
    "prev_log_index",
    "leader_commit",
    "match_index",
    "conflict_index",
    "last_included_index",
    "read_round",
}
SERVERS = {"candidate_id", "leader_id"}
FLAGS = {"pre_vote", "transfer", "vote_granted", "success", "done"}


def checked(message: Any, ids: Collection[int], copy_in: Callable[[Any], Any]) -> Any:
    """``message`` as the cluster delivers it (entries and data copied in), or a
    LuminousError saying what is wrong. ``ids``: the cluster's servers; ``copy_in``
    copies data through the cluster's codec, or raises DataError."""
    cls = type(message)
    if MESSAGES.get(cls.__name__) is not cls:
        raise LuminousError(
            f"inject: {shown(message)} is not a message; build one of le."
            f"{', le.'.join(MESSAGES)}, e.g. le.RequestVote(term=1, candidate_id=1, "
            "last_log_index=0, last_log_term=0)"
        )
    name = cls.__name__
    fields = message._asdict()
    for field, value in fields.items():
        where = f"{name}.{field}={shown(value)}"
        if field in TERMS or field in INDEXES:
            if not _whole(value):
                raise LuminousError(f"inject: {where}: give a whole number from 0 to 10**15")
            if field in TERMS and field != "term" and value > fields["term"]:
                raise LuminousError(
                    f"inject: {where} is later than the message's term {fields['term']}"
                )
        elif field in SERVERS:
            if type(value) is not int or value not in ids:
                raise UnknownServerError(
                    f"inject: {where}: give one of the cluster's servers, "
                    f"{', '.join(str(i) for i in ids)}"
                )
        elif field in FLAGS:
            if type(value) is not bool:
                raise LuminousError(f"inject: {where}: give True or False")
        elif field == "conflict_term" and value is not None and not _whole(value):
            raise LuminousError(f"inject: {where}: give None or a whole number >= 0")
    changes: dict[str, Any] = {}
    if cls is AppendEntries:
        changes["entries"] = _entries(message, copy_in)
    elif cls is InstallSnapshot:
        if message.offset != 0 or message.done is not True:
            raise LuminousError(
                f"inject: InstallSnapshot.offset={shown(message.offset)}, done="
                f"{shown(message.done)}: a snapshot travels whole here, in one chunk "
                "(offset=0, done=True)"
            )
        if message.last_included_index < 1 or message.last_included_term < 1:
            raise LuminousError(
                "inject: InstallSnapshot.last_included_index and last_included_term: give "
                "whole numbers >= 1 (a snapshot stands for at least one entry)"
            )
        changes["data"] = copy_in(message.data)
        if message.config is not None:
            changes["config"] = _config(message.config, ids)
    return message._replace(**changes) if changes else message


def _entries(message: AppendEntries, copy_in: Callable[[Any], Any]) -> tuple[Entry, ...]:
    entries = message.entries
    if not isinstance(entries, tuple | list):
        raise LuminousError(
            f"inject: AppendEntries.entries={shown(entries)}: give a tuple of le.Entry"
        )
    result = []
    previous = 0
    for position, entry in enumerate(entries):
        if type(entry) is not Entry:
            raise LuminousError(
                f"inject: AppendEntries.entries[{position}]={shown(entry)}: give "
                "le.Entry(index, term, data)"
            )
        expected = message.prev_log_index + 1 + position
        if type(entry.index) is not int or entry.index != expected:
            raise LuminousError(
                f"inject: AppendEntries.entries[{position}] has index {shown(entry.index)}; "
                f"expected {expected} (entries follow prev_log_index={message.prev_log_index} "
                "in order)"
            )
        term = entry.term
        if type(term) is not int or not previous <= term <= message.term or term < 1:
            raise LuminousError(
                f"inject: AppendEntries.entries[{position}] has term {shown(term)}; give a "
                f"whole number from {max(previous, 1)} to the message's term {message.term} "
                "(terms never go down along a log)"
            )
        previous = term
        kept = entry_data(entry.data, copy_in, f"inject: AppendEntries.entries[{position}]")
        result.append(Entry(entry.index, term, kept))
    return tuple(result)


def entry_data(data: Any, copy_in: Callable[[Any], Any], where: str) -> Any:
    """The data of a log entry made by hand (``inject``, ``initial_state``), as the
    cluster keeps it: a leader's no-op as the core makes one, anything else copied in
    through the codec. Configuration entries cannot be made by hand."""
    if not looks_like_marker(data):
        return copy_in(data)
    if data != noop_data():
        raise LuminousError(
            f"{where} holds {shown(data)}: of the core's own entries only a leader's "
            "no-op can be made by hand; change the configuration with add_server, "
            "remove_server, add_learner and promote"
        )
    return noop_data()


def _whole(value: Any) -> bool:
    return type(value) is int and 0 <= value <= 10**15


def _config(config: Any, ids: Collection[int]) -> Any:
    try:
        parsed = Configuration.from_data(config)
    except ValueError as error:
        raise LuminousError(f"inject: InstallSnapshot.config: {error}") from None
    unknown = sorted(
        {*parsed.voters, *parsed.learners, *(parsed.old_voters or ()), *parsed.joining} - set(ids)
    )
    if unknown or not parsed.voters:
        raise LuminousError(
            f"inject: InstallSnapshot.config={shown(config)} must name voters among the "
            f"cluster's servers, {', '.join(str(i) for i in ids)}"
        )
    return parsed.to_data()


def to_record(message: Any, encode: Callable[[Any], Any]) -> dict[str, Any]:
    """A checked message as a JSON dict, its data through ``encode``."""
    fields = message._asdict()
    if type(message) is AppendEntries:
        fields["entries"] = [
            [e.index, e.term, e.data if looks_like_marker(e.data) else encode(e.data)]
            for e in message.entries
        ]
    elif type(message) is InstallSnapshot:
        fields["data"] = encode(message.data)
    return {"type": type(message).__name__, **fields}


def from_record(value: Any, decode: Callable[[Any], Any]) -> Any:
    """The message a record's dict stands for (unchecked: ``checked`` comes next), or a
    LuminousError if it is not one."""
    if not isinstance(value, dict) or value.get("type") not in MESSAGES:
        raise LuminousError(f"{shown(value)} is not a recorded message")
    cls = MESSAGES[value["type"]]
    fields = {k: v for k, v in value.items() if k != "type"}
    if set(fields) != set(cls._fields):  # type: ignore[attr-defined]
        raise LuminousError(f"{shown(value)} does not have the fields of a {cls.__name__}")
    if cls is AppendEntries:
        entries = fields["entries"]
        if not isinstance(entries, list) or not all(
            isinstance(e, list) and len(e) == 3 for e in entries
        ):
            raise LuminousError(f"{shown(entries)} are not recorded entries")
        fields["entries"] = tuple(
            Entry(i, t, d if looks_like_marker(d) else decode(d)) for i, t, d in entries
        )
    elif cls is InstallSnapshot:
        fields["data"] = decode(fields["data"])
    return cls(**fields)
