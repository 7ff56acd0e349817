"""``SharedList``: copies that share their items behave as independent lists.

The safety checks keep per-index records in SharedLists so that a checkpoint copies
them in O(1) (check/shared.py). Any sequence of copies, appends, truncations and item
assignments on any of the copies must leave every copy equal to a plain list that went
through the same operations, and sharing must actually happen (a copy costs no list).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import luminous_edu as le
from luminous_edu.check.shared import SharedList

OPS = st.lists(
    st.tuples(
        st.sampled_from(["copy", "append", "extend", "truncate", "set"]),
        st.integers(0, 20),
        st.integers(0, 20),
    ),
    max_size=60,
)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(start=st.lists(st.integers(), max_size=5), ops=OPS)
def test_copies_behave_as_independent_lists(
    start: list[int], ops: list[tuple[str, int, int]]
) -> None:
    lists = [SharedList(start)]
    models = [list(start)]
    for op, which, value in ops:
        which %= len(lists)
        shared, model = lists[which], models[which]
        if op == "copy":
            stop = value if value % 3 else None
            lists.append(shared.copy(stop))
            models.append(model[:stop] if stop is not None else list(model))
        elif op == "append":
            shared.append(value)
            model.append(value)
        elif op == "extend":
            shared.extend([value, -value])
            model.extend([value, -value])
        elif op == "truncate":
            shared.truncate(value)
            del model[value:]
        elif model:
            position = value % len(model)
            shared[position] = -value - 1
            model[position] = -value - 1
        for s, m in zip(lists, models, strict=True):
            assert len(s) == len(m)
            assert list(s) == m
            assert s == m
            if m:
                assert s[-1] == m[-1] == s.last() and s[0] == m[0]
                assert s[1:] == m[1:]


def test_a_copy_shares_the_items_until_one_side_changes_them() -> None:
    a = SharedList(range(1000))
    b = a.copy()
    assert b._items is a._items  # no list copied
    a.append(1000)  # past b's end: still shared
    assert b._items is a._items and len(b) == 1000 and len(a) == 1001
    b.append(-1)  # b's end is not the list's end: b takes its own list
    assert b._items is not a._items
    assert list(b)[-2:] == [999, -1] and list(a)[-2:] == [999, 1000]


def test_checkpoints_share_what_the_checks_keep() -> None:
    """A long run's checkpoints share the checker's per-index records."""
    c = le.Cluster(servers=3, seed=1)
    assert c.run_until(lambda c: c.leader is not None, 3000)
    n = 0
    while c.step_count < 3 * le.sim.CHECKPOINT_INTERVAL:
        c.propose(n)
        n += 1
        c.run(20)
    checkers = [w.checker for w in c._history.checkpoints.values()] + [c._world.checker]
    assert len(checkers) >= 3
    assert len({id(k.committed._items) for k in checkers}) < len(checkers)
