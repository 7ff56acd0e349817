"""Lesson 09 (a key-value store on Raft) tells the truth on every student's run.

Each story of the lesson is a function of the lesson's seed: the builders of
``luminous_edu.kv.scenarios``, and the two short runs the notebook makes itself. Each
scenario below runs one story and checks what the lesson's text says about it, in the
text's words; the predictions' answers are checked on the same seeds. The normal run
takes the reference seed and two students'; the slow sweep takes many seeds, so that
any student's run makes the lesson's points (no story needs a seed chosen for it).

Run one story with another seed (MIT_SEEDS adds seeds to every story):
    MIT_SEEDS=123 .venv/bin/python -m pytest tests/test_lesson09.py -k 'lost_reply and seed_123'
The sweep: .venv/bin/python -m pytest tests/test_lesson09.py -m slow
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

import pytest
from scenario_helpers import SeedScenarios

import luminous_edu as le
from luminous_edu import exercises as ex
from luminous_edu.kv import scenarios
from luminous_edu.kv.scenarios import settle


def first_requests(seed: int) -> None:
    """Section 1: a put and a get on a new store of five servers."""
    store = le.KVStore(servers=5, seed=seed)
    alice = store.client("alice")
    put, get = alice.put("x", "1"), alice.get("x")
    settle(store, get)
    lines = [sentence for _, sentence in store.trace]
    # "Alice's first request went to S1 while the servers were still electing a leader"
    assert lines[0].startswith("alice -> S1: put") and lines[1].endswith("knows no leader")
    # "which servers did alice try before she found the leader"
    assert put.attempts > 1 and lines[-1].startswith(f"alice hears from S{put.server}")
    # "Her get went straight to the leader, which answered through ReadIndex"
    assert get.attempts == 1 and get.server == put.server == store.leaders[0]
    assert "confirmed it leads (ReadIndex" in store.trace.text()
    assert get.value == "1" and store.check().ok
    log = store.groups[0].servers[put.server].log
    assert [type(e.data).__name__ for e in log if e.kind == "command"] == ["Command"]


def lost_reply(seed: int) -> None:
    """Section 2: the answer to alice's append is lost; she retries; bob reads."""
    run = scenarios.lost_reply(seed=seed)
    assert "lost (lose_next_reply)" in run.store.trace.text()
    assert run.append.attempts >= 2 and run.get.value == "x"  # applied once: answer (a)
    leader = run.store.leaders[0]
    assert leader is not None
    replica = run.store.replica(leader)
    assert replica is not None and replica.duplicates == 1
    assert replica.sessions["alice"][0] == run.append.seq
    assert run.store.check().ok
    # "one append of 'x', and a read of 'xx'": the checker finds no order.
    unsafe = scenarios.lost_reply(dedup=False, seed=seed)
    assert unsafe.get.value == "xx" and not unsafe.store.check().ok


def stale_read(seed: int) -> None:
    """Section 3: a get sent to a leader cut off after a newer put."""
    stale = scenarios.stale_read("local", seed=seed)
    assert stale.store.leaders[0] not in (None, stale.old_leader)  # "now led by" another
    assert stale.get.value == "1" and stale.get.server == stale.old_leader  # answer '1'
    result = stale.store.check()
    assert not result.ok and result.failing == stale.store.history[-1]
    # "alice's get waits there, times out, and goes to the real leader"
    safe = scenarios.stale_read("index", seed=seed)
    assert safe.get.value == "2" and safe.get.server != safe.old_leader
    assert safe.get.attempts >= 2 and safe.store.check().ok


def expiry(seed: int) -> None:
    """Section 4: a key with a time to live of 300 ms, read at once and 400 ms later."""
    store = le.KVStore(servers=3, seed=seed)
    alice = store.client("alice")
    alice.put("session", "alice", ttl_ms=300)
    early = alice.get("session")
    settle(store, early)
    store.run(400)
    late = alice.get("session")
    settle(store, late)
    assert (early.value, late.value) == ("alice", None) and store.check().ok


def late_replica(seed: int) -> None:
    """Section 4: a replica applies an expiring key's entries two seconds late."""
    run = scenarios.late_replica("local", seed=seed)
    store = run.store
    assert run.seen.value == "alice!"  # "bob reads 'alice!'"
    assert store.contents(run.late) == {"lock": "!"}  # answer (c)
    assert all(store.contents(s) == {} for s in store.servers if s != run.late)
    # "here we hand it to the late replica and bob reads lock again"
    assert store.groups[0].transfer_leadership(to=run.late).accepted
    store.run(500)
    again = store.client("bob").get("lock")
    settle(store, again)
    assert again.value == "!" and not store.check().ok
    # "With the replicated clock the same story ends with every replica in the same
    # state"; "the late replica still holds 'alice!' in its table".
    fixed = scenarios.late_replica("replicated", seed=seed)
    states = [fixed.store.replica(s).state() for s in fixed.store.servers]  # type: ignore[union-attr]
    assert all(state == states[0] for state in states)
    assert states[fixed.late - 1]["data"] == {"lock": "alice!"}


def backups(seed: int) -> None:
    """Section 5: ten puts backed up at each snapshot, a restore, a changed backup."""
    with tempfile.TemporaryDirectory() as directory:
        store = scenarios.backed_up(directory, seed=seed)
        restored = le.KVStore.restore(directory, seed=seed)
        carol = restored.client("carol")
        gets = [carol.get(f"k{i}") for i in range(10)]
        settle(restored, *gets)
        # "the no-op and k0 ... k8 (10 entries), not k9": answer no
        assert [g.value for g in gets] == [*range(9), None]
        assert restored.check().ok
        newest = store.backups[-1]
        kept = newest.read_bytes()
        assert b'"k3":3' in kept  # the byte the lesson changes
        newest.write_bytes(kept.replace(b'"k3":3', b'"k3":4'))
        with pytest.raises(le.BackupError):
            le.KVStore.restore(directory, seed=seed)


def shards(seed: int) -> int:
    """Section 6: three shards; the server that leads shard 0 crashes. Returns how many
    shards elected a new leader."""
    store = scenarios.sharded(seed=seed)
    before = store.leaders
    victim = before[0]
    assert None not in before.values()
    store.crash(victim)
    assert all(not group.servers[victim].alive for group in store.groups)
    gets = [store.client("alice").get(f"k{i}") for i in range(12)]
    settle(store, *gets)
    assert [g.value for g in gets] == [f"v{i}" for i in range(12)]
    # "only the groups it led need an election"
    elected_again = [shard for shard, leader in before.items() if store.leaders[shard] != leader]
    assert elected_again == [shard for shard, leader in before.items() if leader == victim]
    assert None not in store.leaders.values()
    assert store.check().ok
    return len(elected_again)


SCENARIOS: dict[str, Callable[[int], object]] = {
    "first_requests": first_requests,
    "lost_reply": lost_reply,
    "stale_read": stale_read,
    "expiry": expiry,
    "late_replica": late_replica,
    "backups": backups,
    "shards": shards,
}
RUNNER = SeedScenarios("test_lesson09", "test_lesson09_story", SCENARIOS)
#: The reference run and two students' (what lesson_seed("09") gives each).
SEEDS = [ex.seeds.seed_for("09", s) for s in (None, "ada@example.edu", "alan@example.edu")]
#: Extra seeds for every story of the normal run, e.g. MIT_SEEDS="123 456".
EXTRA_SEEDS = [int(s) for s in os.environ.get("MIT_SEEDS", "").replace(",", " ").split()]
#: The slow sweep: each story on these seeds (about ten seconds in all).
SWEEP = range(100)


@pytest.mark.parametrize(
    ("name", "seed"),
    [
        pytest.param(name, seed, id=f"{name}-seed_{seed}")
        for name in SCENARIOS
        for seed in sorted({*SEEDS, *EXTRA_SEEDS})
    ],
)
def test_lesson09_story(name: str, seed: int) -> None:
    RUNNER.run(name, seed)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_lesson09_story_sweep(name: str) -> None:
    """Every story on many seeds; the message lists every failing one."""
    RUNNER.sweep(name, SWEEP)


# The answers the stories above show, as the lesson's questions take them.
ANSWERS: dict[str, Callable[[int], object]] = {
    "09.predict_lost_reply": lambda seed: "a",
    "09.predict_stale_read": lambda seed: "1",
    "09.predict_late_replica": lambda seed: "c",
    "09.predict_restore": lambda seed: False,
    "09.predict_shard_leaders": shards,  # the shards that elected again
}


@pytest.mark.parametrize("seed", SEEDS, ids=["reference", "ada", "alan"])
def test_each_prediction_is_answered_on_the_lessons_run(seed: int) -> None:
    predictions = [e.id for e in ex.all_exercises("09") if e.kind == "prediction"]
    assert sorted(predictions) == sorted(ANSWERS)
    for exercise_id, answer in ANSWERS.items():
        exercise = ex.get(exercise_id)
        assert exercise.seeded, exercise_id  # computed on the lesson's seed
        assert exercise.right_answer(seed) == answer(seed), (exercise_id, seed)
