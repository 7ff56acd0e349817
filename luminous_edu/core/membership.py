"""The cluster configuration as data, and the quorum rules that follow from it.

Not in Figure 2: membership changes (paper §6, Ongaro's thesis chapter 4). A
configuration names the *voters* (the servers whose majority decides elections and
commitment) and the *learners* (servers that receive the log but neither vote nor count
for commitment: a new server catching up, thesis §4.2.1). During joint consensus the
configuration is C_old,new: "Agreement (for elections and entry commitment) requires
separate majorities from both the old and new configurations" (§6); ``old_voters`` then
holds C_old's voters and ``voters`` C_new's. ``joining`` names the learners that
``add_server`` or ``promote`` is bringing in: once one has caught up, the leader makes
it a voter. It is part of the configuration, so that a new leader finishes the change.

Configurations travel in the log as ordinary entries whose data is the reserved marker
(``log.MARKER_KEY``, kind ``"config"``); ``config_entry_data`` and ``parse_config`` turn
one into the other. "A server always uses the latest configuration in its log,
regardless of whether the entry is committed" (thesis §4.1).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, NamedTuple

from .log import MARKER_KEY


class Configuration(NamedTuple):
    """Who votes and who only listens. ``old_voters`` is None except in C_old,new;
    ``joining`` are learners to be made voters once caught up."""

    voters: tuple[int, ...]
    learners: tuple[int, ...] = ()
    old_voters: tuple[int, ...] | None = None
    joining: tuple[int, ...] = ()

    @classmethod
    def of(
        cls,
        voters: Iterable[int],
        learners: Iterable[int] = (),
        old_voters: Iterable[int] | None = None,
        joining: Iterable[int] = (),
    ) -> Configuration:
        """A configuration with sorted, duplicate-free member lists; only learners can
        be joining."""
        learner_set = set(learners)
        return cls(
            tuple(sorted(set(voters))),
            tuple(sorted(learner_set)),
            None if old_voters is None else tuple(sorted(set(old_voters))),
            tuple(sorted(set(joining) & learner_set)),
        )

    @property
    def joint(self) -> bool:
        """True for C_old,new (§6)."""
        return self.old_voters is not None

    @property
    def all_voters(self) -> tuple[int, ...]:
        """Everyone whose vote counts: C_new's voters, and C_old's during joint consensus."""
        if self.old_voters is None:
            return self.voters
        return tuple(sorted(set(self.voters) | set(self.old_voters)))

    @property
    def members(self) -> tuple[int, ...]:
        """Everyone a leader replicates its log to (voters of both halves, learners)."""
        return tuple(sorted(set(self.all_voters) | set(self.learners)))

    def can_vote(self, server_id: int) -> bool:
        return server_id in self.voters or (
            self.old_voters is not None and server_id in self.old_voters
        )

    def has_quorum(self, granted: Collection[int]) -> bool:
        """Do the servers in ``granted`` form a majority of the voters (of both C_old and
        C_new during joint consensus, §6)? Learners' votes never count."""
        if not _majority(self.voters, granted):
            return False
        return self.old_voters is None or _majority(self.old_voters, granted)

    def committed_index(self, match: Mapping[int, int]) -> int:
        """The highest index stored by a majority (of both halves when joint), given
        each voter's match index; voters missing from ``match`` count as 0."""
        index = _majority_index(self.voters, match)
        if self.old_voters is not None:
            index = min(index, _majority_index(self.old_voters, match))
        return index

    def quorum_size(self) -> int:
        """Votes a majority of C_new's voters needs (for narration)."""
        return len(self.voters) // 2 + 1

    def to_data(self) -> dict[str, Any]:
        """A plain JSON-compatible dict (used in snapshots and in config entries)."""
        data: dict[str, Any] = {"voters": list(self.voters)}
        if self.learners:
            data["learners"] = list(self.learners)
        if self.old_voters is not None:
            data["old_voters"] = list(self.old_voters)
        if self.joining:
            data["joining"] = list(self.joining)
        return data

    @classmethod
    def from_data(cls, data: Any) -> Configuration:
        """The inverse of ``to_data``; raises ValueError naming what is wrong."""
        if not isinstance(data, Mapping) or "voters" not in data:
            raise ValueError(
                f"{data!r} is not a configuration: expected a dict with a 'voters' list "
                "(and optionally 'learners', 'old_voters' and 'joining')"
            )
        old = data.get("old_voters")
        fields = {
            "voters": data["voters"],
            "learners": data.get("learners", []),
            "old_voters": [] if old is None else old,
            "joining": data.get("joining", []),
        }
        for name, ids in fields.items():
            if not isinstance(ids, list | tuple) or not all(type(i) is int and i >= 1 for i in ids):
                raise ValueError(f"the configuration's {name} must be a list of server ids")
        both = set(fields["voters"]) & set(fields["learners"])
        if both:
            raise ValueError(
                f"the configuration names {_names(sorted(both))} among both its voters and "
                "its learners: a server is one or the other"
            )
        return cls.of(
            fields["voters"], fields["learners"], None if old is None else old, fields["joining"]
        )

    def describe(self) -> str:
        """``{S1, S2, S3}``, with learners and C_old shown when present."""
        text = _names(self.voters)
        if self.old_voters is not None:
            text = f"C_old {_names(self.old_voters)} + C_new {text}"
        if self.learners:
            text += f", learners {_names(self.learners)}"
        return text

    def __str__(self) -> str:
        return self.describe()


def config_entry_data(config: Configuration) -> dict[str, Any]:
    """The data of a configuration entry: the reserved marker plus the members."""
    return {MARKER_KEY: "config", **config.to_data()}


def parse_config(data: Any) -> Configuration:
    """The configuration a config entry's data describes."""
    return Configuration.from_data({k: v for k, v in data.items() if k != MARKER_KEY})


def _majority(voters: tuple[int, ...], granted: Collection[int]) -> bool:
    # An empty configuration elects and commits nothing.
    return len([v for v in voters if v in granted]) > len(voters) // 2


def _majority_index(voters: tuple[int, ...], match: Mapping[int, int]) -> int:
    if not voters:
        return 0
    indexes = sorted([match.get(v, 0) for v in voters], reverse=True)
    return indexes[len(voters) // 2]


def _names(ids: Iterable[int]) -> str:
    return "{" + ", ".join(f"S{i}" for i in ids) + "}"
