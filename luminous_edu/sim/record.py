"""Export a run as a JSON record, and rebuild a cluster from one.

A record holds the cluster's settings and the inputs of every step, never code: no
pickle, no class names to import. Loading replays the inputs and compares the trace
digest with the one recorded, so a record that was tampered with, or that needs a
storage handler or state machine other than the ones passed to ``load``, is refused.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.server import MEMBERSHIP_CHANGES
from ..errors import LuminousError, RecordError
from ..storage import Disk, JsonCodec
from .network import Network

if TYPE_CHECKING:
    from .cluster import Cluster

FORMAT = "luminous_edu/run"
VERSION = 1


def export_record(cluster: Cluster) -> dict[str, Any]:
    codec = cluster._codec
    actions: list[list[Any]] = []
    for action in cluster._history[: cluster._step]:
        kind = action[0]
        if kind == "next":
            if actions and actions[-1][0] == "next":
                actions[-1][1] += 1
            else:
                actions.append(["next", 1])
        elif kind == "propose":
            _, data, server, at = action
            actions.append(["propose", _encode_data(codec, data), server, at])
        elif kind == "partition":
            actions.append(["partition", [list(g) for g in action[1]], action[2]])
        elif kind == "network":
            _, delay, drop, duplicate, at = action
            actions.append(["network", list(delay), drop, duplicate, at])
        else:
            actions.append(list(action))
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": {
            "servers": len(cluster.initial_ids),
            "seed": cluster.seed,
            "election_timeout_ms": list(cluster.election_timeout_ms),
            "heartbeat_interval_ms": cluster.heartbeat_interval_ms,
            "network": cluster._initial_network.to_record(),
            "checks": cluster.checks,
            "strict": cluster.strict,
            "leader_noop": cluster.leader_noop,
            "prevote": cluster.prevote,
            "check_quorum": cluster.check_quorum,
            "membership": cluster.membership,
            "single_change_bug": cluster.single_change_bug,
            "snapshot_threshold": cluster.snapshot_threshold,
            "lease_reads": cluster.lease_reads,
            "clock_drift_bound": cluster.clock_drift_bound,
            "disk_faults": (
                {str(k): v for k, v in cluster.disk_faults.items()}
                if isinstance(cluster.disk_faults, dict)
                else cluster.disk_faults
            ),
            "codec": getattr(codec, "name", type(codec).__name__),
            # For people reading the record; load never imports these.
            "storage": _name(cluster._storage),
            "state_machine": _name(cluster._state_machine),
        },
        "actions": actions,
        "steps": cluster._step,
        "now": cluster.now,
        "digest": cluster.trace_digest(),
    }


def load_record(
    cls: type[Cluster],
    record: Any,
    *,
    storage: Callable[[Disk], Any] | None,
    state_machine: Callable[[], Any] | None,
    codec: Any,
    max_steps: int,
) -> Cluster:
    if not isinstance(record, dict):
        raise RecordError(
            f"a run record is a dict made by cluster.export(); got {type(record).__name__}"
        )
    if record.get("format") != FORMAT or record.get("version") != VERSION:
        raise RecordError(
            f"this is not a luminous_edu run record of version {VERSION} "
            f"(format={record.get('format')!r}, version={record.get('version')!r})"
        )
    for key, kind in (
        ("config", dict),
        ("actions", list),
        ("steps", int),
        ("now", int),
        ("digest", str),
    ):
        if not isinstance(record.get(key), kind):
            raise RecordError(f"the record's {key!r} is missing or not of type {kind.__name__}")
    steps = sum(
        action[1]
        if isinstance(action, list)
        and action[:1] == ["next"]
        and len(action) == 2
        and type(action[1]) is int
        else 1
        for action in record["actions"]
    )
    if steps != record["steps"]:
        raise RecordError(
            f"the record's actions add up to {steps} steps, but it says {record['steps']}"
        )
    if steps > max_steps:
        raise RecordError(
            f"the record has {steps:,} steps, more than max_steps={max_steps:,}; pass a "
            "larger max_steps to Cluster.load if you mean to replay it"
        )
    config = record["config"]
    codec_name = config.get("codec")
    if codec is None:
        if codec_name != "json":
            raise RecordError(
                f"this run used the {codec_name!r} codec; pass it explicitly, e.g. "
                "Cluster.load(record, codec=le.PickleCodec()), if you trust the record"
            )
        codec = JsonCodec()
    try:
        network = config["network"]
        cluster = cls(
            servers=config["servers"],
            seed=config["seed"],
            storage=storage,
            state_machine=state_machine,
            election_timeout_ms=tuple(config["election_timeout_ms"]),
            heartbeat_interval_ms=config["heartbeat_interval_ms"],
            network=Network(
                tuple(network["delay_ms"]), network["drop_rate"], network["duplicate_rate"]
            ),
            codec=codec,
            checks=config["checks"],
            strict=False,
            disk_faults=_faults(config["disk_faults"]),
            leader_noop=config.get("leader_noop", True),
            prevote=config.get("prevote", False),
            check_quorum=config.get("check_quorum", False),
            membership=config.get("membership", "single"),
            single_change_bug=config.get("single_change_bug", False),
            snapshot_threshold=config.get("snapshot_threshold"),
            lease_reads=config.get("lease_reads", False),
            clock_drift_bound=config.get("clock_drift_bound", 1.0),
        )
    except (KeyError, TypeError, ValueError, LuminousError) as error:
        raise RecordError(f"the record's config is malformed: {error}") from None
    cluster.strict = bool(config.get("strict", False))
    for number, action in enumerate(record["actions"]):
        try:
            _replay(cluster, action, codec)
        except RecordError:
            raise
        except (
            LuminousError,
            KeyError,
            TypeError,
            ValueError,
            IndexError,
            AssertionError,
        ) as error:
            raise RecordError(
                f"action {number} of the record, {action!r}, cannot be replayed: {error}"
            ) from None
    if cluster._step != record["steps"]:
        raise RecordError(f"the record replays to step {cluster._step}, but says {record['steps']}")
    if record["now"] < cluster.now:
        raise RecordError(f"the record's clock {record['now']} is before its last step")
    cluster._world.now = record["now"]
    if cluster.trace_digest() != record["digest"]:
        raise RecordError(
            "the replayed run differs from the recorded one (trace digest mismatch): the "
            "record was changed, or the run used a storage handler, state machine or codec "
            "other than the ones passed to Cluster.load, or another version of luminous_edu"
        )
    return cluster


def _replay(cluster: Cluster, action: Any, codec: Any) -> None:
    real: tuple[Any, ...]
    if not isinstance(action, list) or not action or not isinstance(action[0], str):
        raise RecordError(f"{action!r} is not a recorded action")
    kind, args = action[0], action[1:]
    if kind == "next":
        (count,) = args
        _whole(count)
        for _ in range(count):
            _at_time(cluster, None)
            cluster._execute(("next",), record=True)
        return
    if not args:
        raise RecordError(f"{action!r} has no time")
    at = _whole(args[-1])
    _at_time(cluster, at)
    if kind == "propose":
        encoded, server = args[0], _whole(args[1])
        cluster._require_server(server)
        data = cluster._copy_in(_decode_data(codec, encoded))
        real = ("propose", data, server, at)
    elif kind in ("fire", "drop"):
        event_id = _whole(args[0])
        event = cluster._pending_event(event_id)
        if kind == "drop" and event.kind != "deliver":
            raise RecordError(f"{action!r} drops an event that is not a message")
        real = (kind, event_id, at)
    elif kind in ("timeout", "crash", "restart", "disconnect", "connect"):
        server = _whole(args[0])
        cluster._require_server(server)
        alive = cluster._world.alive[server]
        if (kind in ("timeout", "crash") and not alive) or (kind == "restart" and alive):
            raise RecordError(f"{action!r} does not fit the state of S{server}")
        real = (kind, server, at)
    elif kind == "cut_power":
        server, operations = _whole(args[0]), _whole(args[1])
        cluster._require_server(server)
        if not cluster._world.alive[server]:
            raise RecordError(f"{action!r} does not fit the state of S{server}")
        real = ("cut_power", server, operations, at)
    elif kind == "read":
        read_id, server = _whole(args[0]), _whole(args[1])
        cluster._require_server(server)
        if not cluster._world.alive[server] or read_id != cluster._world.next_read_id:
            raise RecordError(f"{action!r} does not fit the cluster's state")
        real = ("read", read_id, server, at)
    elif kind == "transfer":
        leader, to = _whole(args[0]), _whole(args[1])
        cluster._require_server(leader)
        cluster._require_server(to)
        reason = cluster._world.servers[leader].transfer_refusal(to)
        if reason is not None or not cluster._world.alive[leader]:
            raise RecordError(f"{action!r} does not fit the cluster's state: {reason}")
        real = ("transfer", leader, to, at)
    elif kind == "member":
        change, leader, server = args[0], _whole(args[1]), _whole(args[2])
        cluster._require_server(leader)
        if change not in MEMBERSHIP_CHANGES or not cluster._world.alive[leader]:
            raise RecordError(f"{action!r} does not fit the cluster's state")
        reason = cluster._world.servers[leader].membership_refusal(change, server)
        if reason is not None:
            raise RecordError(f"{action!r} does not fit the cluster's state: {reason}")
        if server not in cluster._world.alive and change in ("remove_server", "promote"):
            raise RecordError(f"{action!r} names a server the cluster does not have")
        real = ("member", change, leader, server, at)
    elif kind == "partition":
        groups = tuple(tuple(_whole(s) for s in group) for group in args[0])
        for group in groups:
            for server in group:
                cluster._require_server(server)
        real = ("partition", groups, at)
    elif kind == "heal":
        real = ("heal", at)
    elif kind == "network":
        delay, drop, duplicate = args[0], args[1], args[2]
        network = Network(tuple(delay), drop, duplicate)
        real = ("network", network.delay_ms, network.drop_rate, network.duplicate_rate, at)
    else:
        raise RecordError(f"unknown action kind {kind!r}")
    if len(real) != len(action) and kind != "propose":
        raise RecordError(f"{action!r} has the wrong number of fields")
    cluster._execute(real, record=True)


def _at_time(cluster: Cluster, at: int | None) -> None:
    if at is not None and at < cluster.now:
        raise RecordError(f"an action at t={at} ms comes after t={cluster.now} ms")
    if at is None and cluster._world.queue.peek() is None:
        raise RecordError("the record fires an event but nothing is scheduled")


def _faults(value: Any) -> Any:
    if isinstance(value, dict):
        try:
            return {int(k): v for k, v in value.items()}
        except ValueError:
            raise RecordError(
                f"disk_faults {value!r} names a server that is not a number"
            ) from None
    return value


def _whole(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise RecordError(f"{value!r} is not a whole number >= 0")
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
    raise RecordError(f"{encoded!r} is not encoded data")


def _name(factory: Any) -> str:
    return (
        f"{getattr(factory, '__module__', '?')}.{getattr(factory, '__qualname__', repr(factory))}"
    )
