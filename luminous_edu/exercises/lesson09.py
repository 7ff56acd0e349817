"""Exercises of lesson 09: a key-value store on Raft (sessions, linearizable reads,
expiry, backups, shards) and the linearizability checker.

The predictions compute their answers by running the lesson's own scenarios
(``luminous_edu.kv.scenarios``) on the lesson's seed (``le.exercises.lesson_seed("09")``,
each student's own run), so an answer stays true for every run and if the simulation
changes."""

from __future__ import annotations

import tempfile
from typing import Any

from ..check import Operation, check_linearizable
from ..kv import KVStore
from ..kv.scenarios import backed_up, late_replica, lost_reply, settle, sharded, stale_read
from .framework import (
    Wrong,
    _cases,
    _show,
    as_choice,
    as_yes_no,
    call,
    exercise,
    function_starter,
    need_function,
    prediction,
)


def _letter(value: Any, letters: dict[Any, str]) -> str:
    return letters.get(value, "?")


prediction(
    "09.predict_lost_reply",
    "The answer to alice's append('k', 'x') is lost, so she sends the same request "
    "again. What does bob's get('k') return afterwards: (a) 'x'; (b) 'xx'; (c) None?",
    lambda seed: _letter(
        lost_reply(dedup=True, seed=seed).get.value, {"x": "a", "xx": "b", None: "c"}
    ),
    "The first append was applied; only its answer was lost. The retry carries the same "
    "client id and sequence number, and every replica remembers, per client, the last "
    "number it applied and its result: 'if it receives a command whose serial number has "
    "already been executed, it responds immediately without re-executing the request' "
    "(§8; thesis §6.3 calls it a session). So the append is applied once and bob reads "
    "'x'. The table is part of the state machine, so snapshots and restarts keep it.",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. Does the server know that it already applied this request?",
    section="§8, thesis §6.3",
)

_DECIDE_CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    ((None, 1), "apply", "a client the table has never seen: its first command is new."),
    ((3, 4), "apply", "4 is past the last number applied (3): a new command."),
    ((3, 3), "answer", "3 was applied already: answer with the result kept in the table."),
    ((3, 2), "ignore", "2 is older than the last command applied: the client moved on "
     "long ago, nobody waits for it."),
    ((5, 9), "apply", "numbers may skip (gets use numbers too): 9 is new."),
    ((0, 0), "answer", "the same number as the last applied: a duplicate."),
]  # fmt: skip


def _choice_word(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


@exercise(
    "09.session_rule",
    "Write decide(last_seq, seq): a replica's session table holds last_seq, the number "
    "of the last command it applied for a client (None if none); a command numbered seq "
    "comes in. Return 'apply', 'answer' (applied already: answer from the table) or "
    "'ignore' (older still).",
    starter=function_starter("decide", "last_seq", "seq"),
    hint="compare seq with last_seq: bigger (or no last_seq) is new, equal is the "
    "duplicate of the last one, smaller is older than that.",
    section="thesis §6.3",
)
def _check_session_rule(answer: Any) -> str:
    f = need_function(answer, "decide", 2)
    _cases(f, _DECIDE_CASES, signature="decide", convert=_choice_word)
    return (
        "decide is the session rule of thesis §6.3: each command takes effect once, however "
        "many times the network or the client's retries deliver it."
    )


prediction(
    "09.predict_stale_read",
    "With read_mode='local', a leader cut off by a partition still believes it leads "
    "and answers gets from its own state machine. After bob's put('x', '2') went through "
    "the new leader, alice asks the old one. What does her get('x') return: '1' or '2'?",
    lambda seed: stale_read("local", seed=seed).get.value,
    "The old leader never heard of bob's put: it was committed by the majority side, "
    "under a new leader, in a higher term. Answering from its own state machine, it "
    "returns '1', although put('x', '2') had returned before alice asked: a stale read, "
    "and check() says the history is not linearizable. With ReadIndex (the default) it "
    "must first hear from a majority that it still leads; it cannot, so alice's get "
    "times out there and goes to the new leader (thesis §6.4).",
    normalize=lambda value: str(value).strip().strip("'\"") if value is not None else None,
    hint="answer '1' or '2'. Which writes does the old leader's state machine know of?",
    section="thesis §6.4",
)

prediction(
    "09.predict_late_replica",
    "With expiry_clock='local', a replica that was down applies put('lock', 'alice', "
    "ttl_ms=1000) and append('lock', '!') two seconds late, judging expiry by its own "
    "clock. What does it hold for 'lock' then: (a) 'alice!'; (b) nothing; (c) '!'?",
    lambda seed: _letter(
        (run := late_replica("local", seed=seed)).store.contents(run.late).get("lock"),
        {"alice!": "a", None: "b", "!": "c"},
    ),
    "By its clock the key had expired long before it applied the put, so the put left "
    "nothing, and the append found no key and started a new one: '!', without a time to "
    "live. The other replicas applied both entries in time, held 'alice!', and saw it "
    "expire. Same log, different states: a state machine must be deterministic (§5.3), "
    "and a local clock is not. With the time the leader stamps into each command, every "
    "replica decides expiry at the same log index.",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. At the moment this replica applies the put, has the key "
    "expired by its own clock?",
    section="§5.3, thesis §6.3",
)


def _restore_keeps_k9(seed: int) -> bool:
    with tempfile.TemporaryDirectory() as directory:
        backed_up(directory, seed=seed)
        restored = KVStore.restore(directory, seed=seed)
        get = restored.client("carol").get("k9")
        settle(restored, get)
        return get.value is not None


prediction(
    "09.predict_restore",
    "alice put k0 ... k9 one after the other, into a store that snapshots every 5 "
    "applied entries and backs up each snapshot. A new store is restored from the "
    "backups. Does it hold k9? (yes/no)",
    _restore_keeps_k9,
    "A backup is a snapshot, and a snapshot holds what was applied up to its index: the "
    "no-op and k0 ... k8 (10 entries), not k9, which came after it. Restoring brings "
    "back the state as of the newest backup; whatever came later is lost, the price of "
    "backing up only at snapshots (§7).",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. Which log index does the newest backup go up to?",
    section="§7",
)


def _shards_losing_their_leader(seed: int) -> int:
    store = sharded(seed=seed)
    victim = store.leaders[0]
    return sum(leader == victim for leader in store.leaders.values())


prediction(
    "09.predict_shard_leaders",
    "Three shards run on the same five servers, one Raft group each. We crash the server "
    "that leads shard 0. How many shards must elect a new leader? (a number)",
    _shards_losing_their_leader,
    "Each group holds its own elections, so each shard's leader is whichever of its "
    "servers won that shard's election, often a different server for each shard "
    "(store.leaders). Crashing a server stops it "
    "in every group (it is one machine), but only the groups it led need an election; "
    "in the others it was a follower, and a majority of followers is left. Spreading "
    "the leaders over the servers also spreads the load.",
    normalize=lambda value: int(value) if str(value).strip().isdigit() else None,
    hint="answer with a number. Look at store.leaders before the crash.",
    section="§5.2",
)

# ---------------------------------------------------------------- the model

_COUNTER_HISTORIES: list[tuple[list[Operation], bool, str]] = [
    (
        [
            Operation("a", {"op": "add", "n": 2}, {}, 0, 10),
            Operation("b", {"op": "read"}, {"value": 2}, 20, 30),
        ],
        True,
        "add 2 then read 2, one after the other",
    ),
    (
        [
            Operation("a", {"op": "add", "n": 2}, {}, 0, 14),
            Operation("b", {"op": "add", "n": 3}, {}, 5, 11),
            Operation("c", {"op": "read"}, {"value": 3}, 12, 20),
        ],
        True,
        "a read of 3 while add 2 is still running: add 3 came first",
    ),
    (
        [
            Operation("a", {"op": "add", "n": 2}, {}, 0, 10),
            Operation("b", {"op": "read"}, {"value": 0}, 20, 30),
        ],
        False,
        "a read of 0 after add 2 returned: the add was lost",
    ),
    (
        [
            Operation("a", {"op": "add", "n": 1}, None, 0, None),
            Operation("b", {"op": "read"}, {"value": 1}, 20, 30),
            Operation("b", {"op": "read"}, {"value": 0}, 40, 50),
        ],
        False,
        "an add whose outcome is unknown may take effect, but not be undone",
    ),
]


class _Counter:
    """The checker's model around the student's step function."""

    def __init__(self, step: Any) -> None:
        self.student_step = step

    def init(self) -> int:
        return 0

    def step(self, state: int, input: Any, output: Any) -> tuple[bool, Any]:
        result = call(self.student_step, state, input, output)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise Wrong(
                f"step({state!r}, {input!r}, {output!r}) returned {_show(result)}: "
                "return a pair (ok, new_state)."
            )
        return bool(result[0]), result[1]


_STEP_CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    ((0, {"op": "add", "n": 2}, {}), (True, 2), "an add always works and adds n."),
    ((5, {"op": "add", "n": -1}, {}), (True, 4), "n may be negative."),
    ((4, {"op": "read"}, {"value": 4}), (True, 4), "a read of the counter's value works."),
    ((4, {"op": "read"}, {"value": 5}), (False, 4), "a read of another value is illegal."),
    ((4, {"op": "read"}, None), (True, 4), "an unknown output (None) fits any state."),
    ((4, {"op": "add", "n": 1}, None), (True, 5), "an add with an unknown outcome took effect."),
]


@exercise(
    "09.counter_model",
    "Write step(state, input, output) for a counter model: input {'op': 'add', 'n': k} or "
    "{'op': 'read'} (output {'value': v}, or None when unknown); return (ok, new_state).",
    starter=function_starter("step", "state", "input", "output"),
    hint="an add returns (True, state + input['n']); a read returns (output is None or "
    "output['value'] == state, state), and never changes the state.",
    section="Herlihy & Wing 1990",
)
def _check_counter_model(answer: Any) -> str:
    f = need_function(answer, "step", 3)
    _cases(
        f, _STEP_CASES, signature="step", convert=lambda v: tuple(v) if isinstance(v, list) else v
    )
    model = _Counter(f)
    for history, expected, story in _COUNTER_HISTORIES:
        result = check_linearizable(history, model)
        if result.ok is not expected:
            raise Wrong(
                f"with your step, check_linearizable says {story} is "
                f"{'' if result.ok else 'not '}linearizable; it is{'' if expected else ' not'}."
            )
    return (
        "step is a sequential specification: with it, check_linearizable decides whether "
        "any history of a counter could have happened one operation at a time."
    )
