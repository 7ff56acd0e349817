"""Stateful property tests: random schedules of faults and inputs never break safety.

A Hypothesis ``RuleBasedStateMachine`` drives a cluster through ticks, single steps,
dropped, duplicated and reordered messages, partitions, crashes, restarts, proposals,
reads, forced timeouts, and membership changes (servers added, removed, added as
learners and promoted, one at a time or by joint consensus). After every rule: no Figure
3 violation (incremental checker, and the from-scratch ``cluster.check()`` agrees), and
the applied sequences of all servers are prefix-consistent. Runs are derandomized and
database-less, so CI is deterministic; a failure prints Hypothesis's step-by-step
reproduction plus an exported record that ``le.Cluster.load`` replays.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import luminous_edu as le

PICK = st.integers(min_value=0, max_value=10_000)
MAX_ID = 7  # membership rules add servers up to S7


class RaftCluster(RuleBasedStateMachine):
    cluster: le.Cluster
    storage: Any = None  # the built-in durable handler

    @initialize(
        servers=st.sampled_from([3, 5]),
        seed=st.integers(min_value=0, max_value=2**16),
        prevote=st.booleans(),
        check_quorum=st.booleans(),
        membership=st.sampled_from(["single", "joint"]),
        snapshot_threshold=st.sampled_from([None, 1, 2]),
        lease=st.booleans(),
    )
    def build(
        self,
        servers: int,
        seed: int,
        prevote: bool,
        check_quorum: bool,
        membership: str,
        snapshot_threshold: int | None,
        lease: bool,
    ) -> None:
        lease_reads = lease and check_quorum  # a lease needs CheckQuorum's stickiness
        self.cluster = le.Cluster(
            servers=servers,
            seed=seed,
            storage=self.storage,
            prevote=prevote,
            check_quorum=check_quorum,
            membership=membership,
            snapshot_threshold=snapshot_threshold,
            lease_reads=lease_reads,
        )
        self.proposed: list[Any] = []
        note(
            f"cluster = le.Cluster(servers={servers}, seed={seed}, prevote={prevote}, "
            f"check_quorum={check_quorum}, membership={membership!r}, "
            f"snapshot_threshold={snapshot_threshold}, lease_reads={lease_reads})"
        )

    @property
    def ids(self) -> list[int]:
        """Every server, those added by membership changes included."""
        return list(self.cluster.ids)

    # --------------------------------------------------------------- helpers

    def _pick(self, candidates: list[int], pick: int) -> int | None:
        return candidates[pick % len(candidates)] if candidates else None

    def _alive(self) -> list[int]:
        return [i for i in self.ids if self.cluster.servers[i].alive]

    def _reproduction(self) -> str:
        record = json.dumps(self.cluster.export())
        return (
            "\nReproduce this state with:\n"
            "    import json, luminous_edu as le\n"
            f"    cluster = le.Cluster.load(json.loads({record!r}))\n"
        )

    # ----------------------------------------------------------------- rules

    @rule(ms=st.integers(min_value=1, max_value=400))
    def tick(self, ms: int) -> None:
        self.cluster.run(ms)

    @rule(pick=PICK)
    def transfer(self, pick: int) -> None:
        to = self._pick([i for i in self._alive() if i != self.cluster.leader], pick)
        if to is not None:
            note(f"cluster.transfer_leadership(to={to})")
            self.cluster.transfer_leadership(to=to)

    @rule()
    def deliver(self) -> None:
        self.cluster.step()

    @rule(pick=PICK)
    def drop(self, pick: int) -> None:
        messages = [e for e in self.cluster.pending() if e.kind == "deliver"]
        if messages:
            self.cluster.drop(messages[pick % len(messages)].id)

    @rule(pick=PICK)
    def fire_out_of_order(self, pick: int) -> None:
        events = self.cluster.pending()
        if events:
            self.cluster.fire(events[pick % len(events)].id)

    @rule(rate=st.sampled_from([0.3, 1.0]), ms=st.integers(min_value=1, max_value=80))
    def duplicate(self, rate: float, ms: int) -> None:
        old = self.cluster.network
        self.cluster.network = le.Network(old.delay_ms, old.drop_rate, rate)
        self.cluster.run(ms)
        self.cluster.network = old

    @rule(mask=st.integers(min_value=1, max_value=2**MAX_ID - 1))
    def partition(self, mask: int) -> None:
        group = {i for i in self.ids if mask >> (i - 1) & 1}
        if group:
            self.cluster.partition(group)

    @rule()
    def heal(self) -> None:
        self.cluster.heal()

    @rule(pick=PICK)
    def crash(self, pick: int) -> None:
        sid = self._pick(self._alive(), pick)
        if sid is not None:
            self.cluster.crash(sid)

    @rule(pick=PICK)
    def restart(self, pick: int) -> None:
        sid = self._pick([i for i in self.ids if not self.cluster.servers[i].alive], pick)
        if sid is not None:
            self.cluster.restart(sid)

    @rule(pick=PICK)
    def reboot(self, pick: int) -> None:
        """Crash and at once restart a server: it keeps only what its storage kept."""
        sid = self._pick(self._alive(), pick)
        if sid is not None:
            self.cluster.crash(sid)
            self.cluster.restart(sid)

    @rule(pick=PICK, to_leader=st.booleans())
    def propose(self, pick: int, to_leader: bool) -> None:
        value = {"n": len(self.proposed)}
        self.proposed.append(value)
        server = None if to_leader else self._pick(self.ids, pick)
        result = self.cluster.propose(value, server=server)
        if result.accepted:
            target = self.cluster.leader if server is None else server
            assert isinstance(result.index, int) and result.index >= 1
            assert result.term == self.cluster.servers[target].current_term

    @rule(
        change=st.sampled_from(["add_server", "add_learner"]),
        sid=st.integers(min_value=1, max_value=MAX_ID),
    )
    def add(self, change: str, sid: int) -> None:
        note(f"cluster.{change}({sid})  # {getattr(self.cluster, change)(sid)}")

    @rule(change=st.sampled_from(["promote", "remove_server"]), pick=PICK)
    def promote_or_remove(self, change: str, pick: int) -> None:
        config = self.cluster.config
        if config is None:
            return
        sid = self._pick(list(config.learners if change == "promote" else config.members), pick)
        if sid is not None:
            note(f"cluster.{change}({sid})  # {getattr(self.cluster, change)(sid)}")

    @rule(pick=PICK)
    def timeout(self, pick: int) -> None:
        candidates = [
            i for i in self._alive() if self.cluster.servers[i].role is not le.Role.LEADER
        ]
        sid = self._pick(candidates, pick)
        if sid is not None:
            self.cluster.timeout(sid)

    # ------------------------------------------------------------ invariants

    @invariant()
    def figure_3_holds(self) -> None:
        c = self.cluster
        assert c.violations == [], "\n".join(map(str, c.violations)) + self._reproduction()
        from_scratch = c.check()
        assert from_scratch == [], "\n".join(map(str, from_scratch)) + self._reproduction()

    @invariant()
    def applied_sequences_are_prefix_consistent(self) -> None:
        c = self.cluster
        sequences = {i: c.applied(i) for i in self.ids}
        for i, seq in sequences.items():
            indexes = [index for index, _ in seq]
            assert indexes == sorted(set(indexes)), f"S{i} applied {indexes}" + self._reproduction()
            for _, data in seq:
                assert data in self.proposed, f"S{i} applied {data!r}, never proposed"
        # The same command at each index everywhere. (With log compaction a server
        # that installs a snapshot skips the indexes it covers: its applied list has
        # a gap there, so the lists are compared index by index.)
        at: dict[int, tuple[int, Any]] = {}
        for i, seq in sequences.items():
            for index, data in seq:
                first = at.setdefault(index, (i, data))
                assert first[1] == data, (
                    f"S{i} applied {data!r} at index {index} but S{first[0]} applied "
                    f"{first[1]!r}" + self._reproduction()
                )
        if c.snapshot_threshold is not None:
            return
        for a, sa in sequences.items():
            for b, sb in sequences.items():
                n = min(len(sa), len(sb))
                assert sa[:n] == sb[:n], (
                    f"S{a} applied {sa[:n]} but S{b} applied {sb[:n]}" + self._reproduction()
                )


TestRaftCluster = RaftCluster.TestCase
TestRaftCluster.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow],
)


# ----------------------------------------- incremental vs from-scratch checks


@settings(max_examples=25, derandomize=True, database=None, deadline=None)
@given(
    servers=st.sampled_from([3, 5]),
    seed=st.integers(min_value=0, max_value=2**31),
    proposals=st.integers(min_value=0, max_value=12),
    drop_rate=st.sampled_from([0.0, 0.1]),
    duplicate_rate=st.sampled_from([0.0, 0.2]),
    snapshot_threshold=st.sampled_from([None, 3]),
)
def test_incremental_checker_and_full_scan_agree_on_a_clean_run(
    servers: int,
    seed: int,
    proposals: int,
    drop_rate: float,
    duplicate_rate: float,
    snapshot_threshold: int | None,
) -> None:
    network = le.Network(drop_rate=drop_rate, duplicate_rate=duplicate_rate)
    c = le.Cluster(
        servers=servers, seed=seed, network=network, snapshot_threshold=snapshot_threshold
    )
    c.run_until(lambda c: c.leader is not None, 5000)
    for n in range(proposals):
        c.propose(["value", n])
        c.run(25)
    c.run(500)
    assert c.violations == []
    assert c.check() == []
    # The same run without the incremental checks: the scan alone also finds nothing.
    unchecked = le.Cluster.load({**c.export(), "config": {**c.export()["config"], "checks": False}})
    assert unchecked.trace_digest() == c.trace_digest()
    assert unchecked.violations == []
    assert unchecked.check() == []
