"""Export a run as a JSON record, and read one back.

A record holds the cluster's settings and the inputs of every step, never code: no
pickle, no class names to import. This module only translates between a history (the
Cluster's options and its recorded actions) and JSON, checking the record's shape;
``Cluster.load`` replays the actions, refusing any that does not fit the cluster's
state, and compares the trace digest with the one recorded, so a record that was
tampered with, or that needs a storage handler or state machine other than the ones
passed to ``load``, is refused.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..core.log import Entry
from ..core.persistence import SaveSnapshot, StoredState
from ..errors import RecordError
from ..storage import JsonCodec
from ..storage.codec import shown
from . import handmade
from .network import Network

FORMAT = "luminous_edu/run"
VERSION = 1
__all__ = ["FORMAT", "VERSION", "ParsedRecord", "RecordError", "export_record"]


def export_record(
    options: dict[str, Any],
    actions: list[tuple[Any, ...]],
    *,
    now: int,
    digest: str,
    codec: Any,
    storage: Any,
    state_machine: Any,
) -> dict[str, Any]:
    """The record of a run: the Cluster's ``options``, the ``actions`` of its steps,
    its clock and trace digest."""
    recorded: list[list[Any]] = []
    for action in actions:
        kind = action[0]
        if kind == "next":
            if recorded and recorded[-1][0] == "next":
                recorded[-1][1] += 1
            else:
                recorded.append(["next", 1])
        elif kind == "propose":
            _, data, server, at = action
            recorded.append(["propose", _encode_data(codec, data), server, at])
        elif kind == "partition":
            recorded.append(["partition", [list(g) for g in action[1]], action[2]])
        elif kind == "network":
            _, delay, drop, duplicate, at = action
            recorded.append(["network", list(delay), drop, duplicate, at])
        elif kind == "inject":
            _, source, target, message, at = action
            encode = partial(_encode_data, codec)
            recorded.append(["inject", source, target, handmade.to_record(message, encode), at])
        else:
            recorded.append(list(action))
    config = dict(options)
    network: Network = config.pop("network")
    faults = config["disk_faults"]
    encode = partial(_encode_data, codec)
    config.update(
        initial_state={
            str(sid): _state_to_record(stored, encode)
            for sid, stored in options["initial_state"].items()
        },
        election_timeout_ms=list(config["election_timeout_ms"]),
        bugs=sorted(config["bugs"]),
        network=network.to_record(),
        disk_faults=(
            {str(k): v for k, v in faults.items()} if isinstance(faults, dict) else faults
        ),
        codec=getattr(codec, "name", type(codec).__name__),
        # For people reading the record; load never imports these.
        storage=_name(storage),
        state_machine=_name(state_machine),
    )
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": config,
        "actions": recorded,
        "steps": len(actions),
        "now": now,
        "digest": digest,
    }


@dataclass
class ParsedRecord:
    """A record read back: the Cluster's ``options`` (without storage and state
    machine), its ``actions`` as JSON lists, and what the replay must end with."""

    options: dict[str, Any]
    actions: list[Any]
    codec: Any
    strict: bool
    steps: int
    now: int
    digest: str


def parse_record(run: Any, codec: Any, max_steps: int) -> ParsedRecord:
    """Check a record's shape and read its settings; RecordError if it is not one."""
    if type(max_steps) is not int or not 0 <= max_steps <= LARGEST:
        raise RecordError(
            f"max_steps={shown(max_steps)}: give a whole number of steps from 0 to 10**15"
        )
    if not isinstance(run, dict):
        raise RecordError(
            f"a run record is a dict made by cluster.export(); got {type(run).__name__}"
        )
    if run.get("format") != FORMAT or run.get("version") != VERSION:
        raise RecordError(
            f"this is not a luminous_edu run record of version {VERSION} "
            f"(format={shown(run.get('format'))}, version={shown(run.get('version'))})"
        )
    for key, kind in (
        ("config", dict),
        ("actions", list),
        ("steps", int),
        ("now", int),
        ("digest", str),
    ):
        if not isinstance(run.get(key), kind):
            raise RecordError(
                f"the record's {shown(key)} is missing or not of type {kind.__name__}"
            )
    for key in ("steps", "now"):
        if type(run[key]) is not int or not 0 <= run[key] <= LARGEST:
            raise RecordError(f"the record's {key!r} is not a whole number from 0 to 10**15")
    steps = 0
    for number, action in enumerate(run["actions"]):
        if isinstance(action, list) and action[:1] == ["next"] and len(action) == 2:
            if type(action[1]) is int and not 0 <= action[1] <= LARGEST:
                raise RecordError(
                    f"action {number} of the record, {shown(action)}: a step count is a "
                    "whole number from 0 to 10**15"
                )
            steps += action[1] if type(action[1]) is int else 1
        else:
            steps += 1
    if steps != run["steps"]:
        raise RecordError(
            f"the record's actions add up to {steps} steps, but it says {run['steps']}"
        )
    if steps > max_steps:
        raise RecordError(
            f"the record has {steps:,} steps, more than max_steps={max_steps:,}; pass a "
            "larger max_steps to Cluster.load if you mean to replay it"
        )
    config = run["config"]
    codec_name = config.get("codec")
    if codec is None:
        if codec_name != "json":
            raise RecordError(
                f"this run used the {shown(codec_name)} codec; pass it explicitly, e.g. "
                "Cluster.load(record, codec=le.PickleCodec()), if you trust the record"
            )
        codec = JsonCodec()
    try:
        network = config["network"]
        options = {
            "servers": config["servers"],
            "seed": config["seed"],
            "election_timeout_ms": tuple(config["election_timeout_ms"]),
            "heartbeat_interval_ms": config["heartbeat_interval_ms"],
            "network": Network(
                tuple(network["delay_ms"]), network["drop_rate"], network["duplicate_rate"]
            ),
            "codec": codec,
            "checks": config["checks"],
            "disk_faults": _faults(config["disk_faults"]),
            "leader_noop": config.get("leader_noop", True),
            "prevote": config.get("prevote", False),
            "check_quorum": config.get("check_quorum", False),
            "membership": config.get("membership", "single"),
            "single_change_bug": config.get("single_change_bug", False),
            "bugs": config.get("bugs", ()),
            "snapshot_threshold": config.get("snapshot_threshold"),
            "lease_reads": config.get("lease_reads", False),
            "clock_drift_bound": config.get("clock_drift_bound", 1.0),
            "initial_state": {
                int(sid): _state_from_record(state, partial(_decode_data, codec))
                for sid, state in config.get("initial_state", {}).items()
            },
        }
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise RecordError(f"the record's config is malformed: {error}") from None
    return ParsedRecord(
        options=options,
        actions=run["actions"],
        codec=codec,
        strict=bool(config.get("strict", False)),
        steps=run["steps"],
        now=run["now"],
        digest=run["digest"],
    )


def check_end(parsed: ParsedRecord, steps: int, now: int, digest: Callable[[], str]) -> None:
    """The replay reached the record's end: the same step, clock and digest."""
    if steps != parsed.steps:
        raise RecordError(f"the record replays to step {steps}, but says {parsed.steps}")
    if parsed.now < now:
        raise RecordError(f"the record's clock {parsed.now} is before its last step")
    if digest() != parsed.digest:
        raise RecordError(
            "the replayed run differs from the recorded one (trace digest mismatch): the "
            "record was changed, or the run used a storage handler, state machine or codec "
            "other than the ones passed to Cluster.load, or another version of luminous_edu"
        )


def read_action(action: Any, codec: Any) -> tuple[str, tuple[Any, ...]]:
    """A recorded action's kind and arguments, decoded (the time last, for inputs);
    RecordError if it is not an action."""
    if not isinstance(action, list) or not action or not isinstance(action[0], str):
        raise RecordError(f"{shown(action)} is not a recorded action")
    kind, args = action[0], action[1:]
    if kind == "next":
        if len(args) != 1:
            raise RecordError(f"{shown(action)} has the wrong number of fields")
        return kind, (whole(args[0]),)
    if not args:
        raise RecordError(f"{shown(action)} has no time")
    at = whole(args[-1])
    if kind == "propose":
        if len(args) != 3:
            raise RecordError(f"{shown(action)} has the wrong number of fields")
        return kind, (_decode_data(codec, args[0]), whole(args[1]), at)
    if kind == "partition":
        if len(args) != 2 or not isinstance(args[0], list):
            raise RecordError(f"{shown(action)} is not a partition")
        groups = []
        for group in args[0]:
            if not isinstance(group, list):
                raise RecordError(f"{shown(action)} is not a partition")
            groups.append(tuple(whole(s) for s in group))
        return kind, (tuple(groups), at)
    if kind == "network":
        if len(args) != 4 or not isinstance(args[0], list):
            raise RecordError(f"{shown(action)} has the wrong number of fields")
        network = Network(tuple(args[0]), args[1], args[2])
        return kind, (network.delay_ms, network.drop_rate, network.duplicate_rate, at)
    if kind == "member":
        if len(args) != 4 or not isinstance(args[0], str):
            raise RecordError(f"{shown(action)} has the wrong number of fields")
        return kind, (args[0], whole(args[1]), whole(args[2]), at)
    if kind == "inject":
        if len(args) != 4:
            raise RecordError(f"{shown(action)} has the wrong number of fields")
        message = handmade.from_record(args[2], partial(_decode_data, codec))
        return kind, (whole(args[0]), whole(args[1]), message, at)
    fields = ARITY.get(kind)
    if fields is None:
        raise RecordError(f"unknown action kind {shown(kind)}")
    if len(args) != fields + 1:
        raise RecordError(f"{shown(action)} has the wrong number of fields")
    return kind, (*(whole(a) for a in args[:-1]), at)


# The inputs whose arguments are whole numbers, and how many there are (then the time).
ARITY = {
    "fire": 1,
    "drop": 1,
    "timeout": 1,
    "crash": 1,
    "restart": 1,
    "disconnect": 1,
    "connect": 1,
    "cut_power": 2,
    "read": 2,
    "transfer": 2,
    "heal": 0,
    "cut": 2,
    "mend": 2,
}


def _state_to_record(stored: StoredState, encode: Callable[[Any], Any]) -> dict[str, Any]:
    snapshot = stored.snapshot
    return {
        "current_term": stored.current_term,
        "voted_for": stored.voted_for,
        "entries": [[e.index, e.term, encode(e.data)] for e in stored.entries],
        "snapshot": None
        if snapshot is None
        else {
            "last_index": snapshot.last_index,
            "last_term": snapshot.last_term,
            "data": encode(snapshot.data),
            "config": snapshot.config,
        },
    }


def _state_from_record(state: Any, decode: Callable[[Any], Any]) -> StoredState:
    """The StoredState a record's dict stands for (checked by the Cluster next)."""
    snapshot = state["snapshot"]
    return StoredState(
        state["current_term"],
        state["voted_for"],
        [Entry(i, t, decode(d)) for i, t, d in state["entries"]],
        None
        if snapshot is None
        else SaveSnapshot(
            snapshot["last_index"],
            snapshot["last_term"],
            decode(snapshot["data"]),
            snapshot["config"],
        ),
    )


def _faults(value: Any) -> Any:
    if isinstance(value, dict):
        try:
            return {int(k): v for k, v in value.items()}
        except ValueError:
            raise RecordError(
                f"disk_faults {shown(value)} names a server that is not a number"
            ) from None
    return value


LARGEST = 10**15  # no count, time or id in a record is larger


def whole(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= LARGEST:
        raise RecordError(f"{shown(value)} is not a whole number from 0 to 10**15")
    return value


def _encode_data(codec: Any, data: Any) -> Any:
    if getattr(codec, "name", None) == "json":
        return data
    blob = codec.encode(data)
    if isinstance(blob, bytes):
        return {"base64": base64.b64encode(blob).decode("ascii")}
    return {"text": blob}


def _decode_data(codec: Any, encoded: Any) -> Any:
    if getattr(codec, "name", None) == "json":
        return encoded
    if isinstance(encoded, dict) and set(encoded) == {"base64"}:
        return codec.decode(base64.b64decode(encoded["base64"]))
    if isinstance(encoded, dict) and set(encoded) == {"text"}:
        return codec.decode(encoded["text"])
    raise RecordError(f"{shown(encoded)} is not encoded data")


def _name(factory: Any) -> str:
    return (
        f"{getattr(factory, '__module__', '?')}.{getattr(factory, '__qualname__', repr(factory))}"
    )
