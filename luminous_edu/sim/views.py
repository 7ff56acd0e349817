"""Read-only views of servers, for notebooks and tests.

A view looks the server up afresh on every access, so it stays current as the cluster
steps, rewinds or restarts the server. Data handed out is a copy: changing it changes
nothing inside the cluster.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..core import Entry, Role
from ..core.membership import Configuration
from ..errors import LuminousError
from ..storage import copy_value
from ..storage.codec import shown

if TYPE_CHECKING:
    from .cluster import Cluster


class ServerView:
    """What one server knows, as Figure 2 names it."""

    __slots__ = ("_cluster", "id")

    def __init__(self, cluster: Cluster, server_id: int) -> None:
        self._cluster = cluster
        self.id = server_id

    @property
    def _server(self) -> Any:
        return self._cluster._world.servers[self.id]

    @property
    def alive(self) -> bool:
        return self._cluster._world.alive[self.id]

    @property
    def role(self) -> Role:
        return self._server.role  # type: ignore[no-any-return]

    @property
    def current_term(self) -> int:
        return self._server.current_term  # type: ignore[no-any-return]

    @property
    def voted_for(self) -> int | None:
        return self._server.voted_for  # type: ignore[no-any-return]

    @property
    def log(self) -> tuple[Entry, ...]:
        codec = self._cluster._codec
        return tuple(
            Entry(e.index, e.term, copy_value(codec, e.data)) for e in self._server.log.entries
        )

    def entries(self, first: int, last: int) -> tuple[Entry, ...]:
        """Copies of the entries with ``first <= index <= last`` (cheaper than ``log``
        when only a few are needed)."""
        for name, value in (("first", first), ("last", last)):
            if type(value) is not int:
                raise LuminousError(
                    f"entries({name}={shown(value)}): give log indexes, whole numbers "
                    "(the first entry is at index 1), e.g. entries(1, 5)"
                )
        codec = self._cluster._codec
        return tuple(
            Entry(e.index, e.term, copy_value(codec, e.data))
            for e in self._server.log.slice(first, last + 1)
        )

    @property
    def last_log_index(self) -> int:
        return self._server.log.last_index  # type: ignore[no-any-return]

    @property
    def last_log_term(self) -> int:
        return self._server.log.last_term  # type: ignore[no-any-return]

    @property
    def commit_index(self) -> int:
        return self._server.commit_index  # type: ignore[no-any-return]

    @property
    def last_applied(self) -> int:
        return self._server.last_applied  # type: ignore[no-any-return]

    @property
    def config(self) -> Configuration:
        """The latest configuration in this server's log, committed or not (thesis
        §4.1): ``voters``, ``learners``, and ``old_voters`` during joint consensus."""
        return self._server.config  # type: ignore[no-any-return]

    @property
    def leader_id(self) -> int | None:
        """Who this server believes is leader (not in Figure 2)."""
        return self._server.leader_id  # type: ignore[no-any-return]

    @property
    def votes_granted(self) -> frozenset[int]:
        """Votes a candidate, or pre-votes a pre-candidate, has collected so far."""
        server = self._server
        if server.role is Role.CANDIDATE or server.role is Role.PRECANDIDATE:
            return frozenset(server.votes_granted)
        return frozenset()

    @property
    def next_index(self) -> dict[int, int]:
        server = self._server
        return dict(server.next_index) if server.role is Role.LEADER else {}

    @property
    def match_index(self) -> dict[int, int]:
        server = self._server
        return dict(server.match_index) if server.role is Role.LEADER else {}

    @property
    def snapshot_index(self) -> int:
        return self._server.log.snapshot_index  # type: ignore[no-any-return]

    @property
    def snapshot_term(self) -> int:
        return self._server.log.snapshot_term  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        if not self.alive:
            return f"<S{self.id} down (was {self.role} in term {self.current_term})>"
        return (
            f"<S{self.id} {self.role} term={self.current_term} voted_for={self.voted_for} "
            f"log={self.last_log_index} commit={self.commit_index}>"
        )


class Servers(Mapping[int, ServerView]):
    """``cluster.servers[i]``: the view of server ``i`` (ids start at 1)."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster
        self._views: dict[int, ServerView] = {}

    def __getitem__(self, server_id: int) -> ServerView:
        self._cluster._require_server(server_id)
        view = self._views.get(server_id)
        if view is None:
            view = self._views[server_id] = ServerView(self._cluster, server_id)
        return view

    def __iter__(self) -> Iterator[int]:
        return iter(self._cluster.ids)

    def __len__(self) -> int:
        return len(self._cluster.ids)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{i}: {self[i]!r}" for i in self) + "}"
