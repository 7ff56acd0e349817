"""Ready-made KV store situations for lesson 09, its exercises and the tests.

Each builder runs a small story in virtual time and returns the store with the handles
the story is about. Each takes the ``seed`` its store is built from, with no default:
lesson 09 passes its ``SEED`` (each student's own run), and every story holds, and
makes its point, for any seed (``tests/test_lesson09.py`` sweeps them). The same
seed gives the same story every time.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from ..errors import LuminousError
from .client import Handle
from .store import KVStore


def settle(store: KVStore, *handles: Handle, max_ms: int = 10_000) -> None:
    """Run ``store`` until every handle is done (raise if that takes over ``max_ms``)."""
    if not store.run_until(lambda s: all(h.done for h in handles), max_ms):
        raise LuminousError(f"not done after {max_ms} ms: {handles}")


def elect(store: KVStore, shard: int = 0) -> int:
    """Run until shard ``shard`` has a leader; return it."""
    store.run_until(lambda s: s.leaders[shard] is not None, 5_000)
    leader = store.leaders[shard]
    if leader is None:
        raise LuminousError(f"no leader within 5 s in {store!r}")
    return leader


class LostReply(NamedTuple):
    """alice's append whose answer was lost, and bob's get after her retry."""

    store: KVStore
    append: Handle
    get: Handle


def lost_reply(dedup: bool = True, *, seed: int) -> LostReply:
    """3 servers. alice learns who leads (a get), then the answer to her
    ``append('k', 'x')`` is lost; she retries after ``retry_timeout_ms``. 300 ms after
    she hears back, bob gets 'k'."""
    store = KVStore(servers=3, seed=seed, dedup=dedup)
    alice, bob = store.client("alice"), store.client("bob")
    settle(store, alice.get("k"))
    store.lose_next_reply("alice")
    append = alice.append("k", "x")
    settle(store, append)
    store.run(300)
    get = bob.get("k")
    settle(store, get)
    return LostReply(store, append, get)


class StaleRead(NamedTuple):
    """A get sent to a leader cut off from the majority after a newer write."""

    store: KVStore
    get: Handle
    old_leader: int


def stale_read(read_mode: str = "index", *, seed: int) -> StaleRead:
    """5 servers. alice puts x=1. The leader is cut off from the other four by a
    partition (it goes on believing it leads); they elect another, and bob puts x=2.
    Then alice, who still believes the old leader leads, gets x."""
    store = KVStore(servers=5, seed=seed, read_mode=read_mode)
    alice, bob = store.client("alice"), store.client("bob")
    settle(store, alice.put("x", "1"))
    store.run(100)
    old = elect(store)
    store.partition({old}, set(store.servers) - {old})
    settle(store, bob.put("x", "2"))
    store.run(50)
    get = alice.get("x")
    settle(store, get)
    return StaleRead(store, get, old)


class LateReplica(NamedTuple):
    """A replica that applied an expiring key's entries long after the others."""

    store: KVStore
    late: int  # the server that was down
    put: Handle  # put('lock', 'alice', ttl_ms=1000)
    append: Handle  # append('lock', '!')
    seen: Handle  # bob's get('lock') soon after


def late_replica(expiry_clock: str = "replicated", *, seed: int) -> LateReplica:
    """5 servers. A follower (the highest-numbered) is down while alice puts 'lock' with
    a time to live of 1 s and appends '!' to it, and bob reads it. Two seconds later the
    follower restarts and applies both entries, long after the key expired."""
    store = KVStore(servers=5, seed=seed, expiry_clock=expiry_clock)
    alice, bob = store.client("alice"), store.client("bob")
    leader = elect(store)
    late = max(s for s in store.servers if s != leader)
    store.crash(late)
    put = alice.put("lock", "alice", ttl_ms=1000)
    settle(store, put)
    append = alice.append("lock", "!")
    settle(store, append)
    seen = bob.get("lock")
    settle(store, seen)
    store.run(2000)
    store.restart(late)
    store.run(500)
    return LateReplica(store, late, put, append, seen)


def backed_up(directory: str | Path, *, seed: int) -> KVStore:
    """3 servers that snapshot every 5 applied entries, with backups in ``directory``:
    alice puts k0 = 0, ..., k9 = 9, one after the other, and 200 ms pass."""
    store = KVStore(servers=3, seed=seed, backup_dir=directory, snapshot_threshold=5)
    alice = store.client("alice")
    settle(store, *[alice.put(f"k{i}", i) for i in range(10)])
    store.run(200)
    return store


def sharded(*, seed: int) -> KVStore:
    """5 servers, 3 shards: alice puts twelve keys, k0 ... k11."""
    store = KVStore(servers=5, shards=3, seed=seed)
    alice = store.client("alice")
    settle(store, *[alice.put(f"k{i}", f"v{i}") for i in range(12)])
    return store
