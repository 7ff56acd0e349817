"""The simulated Disk a storage handler writes to: the only thing that survives a crash.

Values are copied on the way in and on the way out (serialized, as a real disk would
hold bytes), so nothing a handler keeps in Python can alias what is stored. With fault
modes on, a crash undoes writes that were not yet ``sync``ed:

- ``faults=None``: every write and delete is durable at once (the default);
- ``faults="unsynced"``: writes and deletes since the last ``sync()`` are lost;
- ``faults="torn"``: the same, except that the last unsynced write is left torn: its
  key holds a garbled value whose ``read`` raises ``TornWriteError``. (If the last
  unsynced change was a delete, it is simply lost, like the others.)

A crash normally falls between two handler calls, when a correct handler has synced
everything. ``disk.cut_power_after(n)`` crashes the disk *inside* the next call
instead, after its first ``n`` writes, deletes and syncs: what a crash between the two
writes of one ``save_hard_state`` does is a lesson of its own.

``disk.table()`` shows what a Disk holds, and whether each key is synced, as a table
in a notebook or a terminal.
"""

from __future__ import annotations

import pickle
from typing import Any

from ..errors import LuminousError
from .codec import shown
from .errors import StorageError, TornWriteError
from .render import html_table, shorten, text_table

FAULT_MODES = (None, "unsynced", "torn")
_MISSING = object()


def check_fault_mode(faults: Any) -> None:
    if faults is not None and (type(faults) is not str or faults not in FAULT_MODES):
        raise LuminousError(
            f"disk_faults={shown(faults)} is not a fault mode; use None (writes durable at "
            "once), 'unsynced' (unsynced writes lost on a crash) or 'torn' (the last "
            "unsynced write torn on a crash)"
        )


class PowerLoss(BaseException):
    """Raised by a Disk whose power was cut in the middle of a handler call (see
    ``Disk.cut_power_after``). A ``BaseException``, so that a handler's ``except
    Exception`` cannot swallow it and carry on as if nothing happened."""


class _Torn(bytes):
    """Marks a value whose write a crash interrupted."""


class Disk:
    """Durable key-value storage for one server. Keys are strings; values are any
    picklable Python values (numbers, strings, tuples, lists, dicts, dataclasses...).

    ``name`` is for people ("S1's disk"); ``faults`` is the fault mode (see the module
    docstring); ``server_id`` is the id of the server that owns the disk, or None. A
    handler that keeps files of its own (``JsonLinesStorage``) uses it to name them.
    """

    def __init__(
        self, name: str = "disk", faults: str | None = None, server_id: int | None = None
    ) -> None:
        check_fault_mode(faults)
        if server_id is not None and type(server_id) is not int:
            raise LuminousError(f"server_id={shown(server_id)}: give a whole number or None")
        self.name = name
        self.faults = faults
        self.server_id = server_id
        self._data: dict[str, bytes] = {}
        # key -> value at the last sync (_MISSING if absent), for keys changed since.
        self._unsynced: dict[str, Any] = {}
        self._last_unsynced: str | None = None
        self._power_left: int | None = None  # operations until a power cut, if armed
        self._power_off = False
        self.writes = 0
        self.syncs = 0

    def clone(self) -> Disk:
        twin = object.__new__(Disk)
        twin.__dict__.update(self.__dict__)
        twin._data = dict(self._data)
        twin._unsynced = dict(self._unsynced)
        return twin

    def __deepcopy__(self, memo: dict[int, Any]) -> Disk:
        return self.clone()

    # ---------------------------------------------------------- handler API

    def write(self, key: str, value: Any) -> None:
        """Store a copy of ``value`` under ``key`` (visible at once; durable at once
        unless the disk has fault modes, then durable at the next ``sync()``)."""
        if type(key) is not str:
            _bad_key(key)
        try:
            blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            raise StorageError(
                f"{self.name} cannot store {shown(value)} under {shown(key)}: it cannot be "
                f"serialized ({error}); store plain values such as numbers, strings, "
                "lists, tuples and dicts"
            ) from None
        if self._power_left is not None:
            self._use_power()
        if self.faults is not None:
            self._remember(key)
        self._data[key] = blob
        self.writes += 1

    def read(self, key: str, default: Any = None) -> Any:
        """A fresh copy of the value stored under ``key``, or ``default``."""
        if type(key) is not str:
            _bad_key(key)
        blob = self._data.get(key)
        if blob is None:
            return default
        if isinstance(blob, _Torn):
            raise TornWriteError(
                f"the value under {shown(key)} on {self.name} is torn: the server crashed while "
                "writing it, before sync(); call disk.sync() after writes that must survive"
            )
        return pickle.loads(blob)

    def delete(self, key: str) -> None:
        """Remove ``key`` (no error if it is absent)."""
        if type(key) is not str:
            _bad_key(key)
        if self._power_left is not None:
            self._use_power()
        if key in self._data:
            if self.faults is not None:
                self._remember(key)
            del self._data[key]
            self.writes += 1

    def keys(self) -> list[str]:
        """Every key, sorted (unsynced writes are visible until a crash)."""
        return sorted(self._data)

    def sync(self) -> None:
        """Make every write and delete so far durable: a crash can no longer undo
        them. Call it before returning from a handler method."""
        if self._power_left is not None:
            self._use_power()
        self._unsynced.clear()
        self._last_unsynced = None
        self.syncs += 1

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def contents(self) -> dict[str, Any]:
        """A copy of everything stored, by key in sorted order (torn values shown as
        the string ``"<torn>"``)."""
        return {
            key: "<torn>" if isinstance(self._data[key], _Torn) else self.read(key)
            for key in self.keys()
        }

    @property
    def unsynced_keys(self) -> list[str]:
        """Keys written or deleted since the last sync (with fault modes on; with
        ``faults=None`` every write is durable at once and this list stays empty)."""
        return sorted(self._unsynced)

    def table(self) -> DiskTable:
        """What this Disk holds, one row per key: the key, its value and whether it is
        synced. Shown as a table in a notebook, as aligned text in a terminal."""
        rows: list[tuple[str, str, str]] = []
        for key in sorted(set(self._data) | set(self._unsynced)):
            blob = self._data.get(key)
            if blob is None:
                if self._unsynced[key] is _MISSING:
                    continue  # written and deleted again, never synced: as if never there
                rows.append((key, "(deleted)", "no: a crash would bring it back"))
            elif isinstance(blob, _Torn):
                rows.append((key, "<torn>", "torn: read() raises TornWriteError"))
            else:
                synced = "no: a crash would lose it" if key in self._unsynced else "yes"
                rows.append((key, shorten(repr(pickle.loads(blob))), synced))
        if self.faults is None:
            note = "faults=None: every write is durable at once"
        else:
            note = f"faults={self.faults!r}: a crash loses what is not synced"
        return DiskTable(f"{self.name} ({note})", rows)

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def __repr__(self) -> str:
        return f"<Disk {self.name}: {len(self._data)} keys, faults={self.faults!r}>"

    # ------------------------------------------------------------- crashes

    def crash(self) -> None:
        """What a power loss does to this disk under its fault mode."""
        if self.faults is None or not self._unsynced:
            self._unsynced.clear()
            return
        torn_key = self._last_unsynced if self.faults == "torn" else None
        for key, old in self._unsynced.items():
            if key == torn_key and key in self._data:
                new = self._data[key]
                self._data[key] = _Torn(new[: max(1, len(new) // 2)])
            elif old is _MISSING:
                self._data.pop(key, None)
            else:
                self._data[key] = old
        self._unsynced.clear()
        self._last_unsynced = None

    def cut_power_after(self, operations: int) -> None:
        """Arm a power cut: the next ``operations`` writes, deletes and syncs happen;
        the one after does not. Instead the disk crashes (as ``crash()`` does, under
        its fault mode) and raises ``PowerLoss``, and every later write, delete and
        sync raises ``PowerLoss`` too, until ``power_on()``."""
        if type(operations) is not int or operations < 0:
            raise LuminousError(f"operations={shown(operations)}: give a whole number >= 0")
        self._power_left = operations
        self._power_off = False

    def power_on(self) -> None:
        """Disarm a power cut, or bring the disk back after one (its contents are what
        the crash left)."""
        self._power_left = None
        self._power_off = False

    @property
    def power_cut(self) -> bool:
        """True from the moment an armed power cut happens until ``power_on()``."""
        return self._power_off

    def _use_power(self) -> None:
        if self._power_off:
            raise PowerLoss(
                f"{self.name} has no power since its power was cut; call power_on() first"
            )
        if self._power_left == 0:
            self._power_off = True
            self.crash()
            raise PowerLoss(f"the power of {self.name} was cut")
        assert self._power_left is not None
        self._power_left -= 1

    def _remember(self, key: str) -> None:
        if key not in self._unsynced:
            self._unsynced[key] = self._data.get(key, _MISSING)
        self._last_unsynced = key


class DiskTable:
    """A snapshot of a Disk's contents for people: ``str()`` gives aligned text,
    a notebook shows an HTML table. ``rows`` holds ``(key, value, synced)`` strings."""

    headers = ("key", "value", "synced?")

    def __init__(self, title: str, rows: list[tuple[str, str, str]]) -> None:
        self.title = title
        self.rows = rows

    def __str__(self) -> str:
        if not self.rows:
            return f"{self.title}: empty"
        return f"{self.title}\n{text_table(self.headers, self.rows)}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if not self.rows:
            return html_table(self.headers, [], caption=f"{self.title}: empty")
        styles = ["" if synced == "yes" else "color: #a61b1b" for _, _, synced in self.rows]
        return html_table(self.headers, self.rows, caption=self.title, row_styles=styles)


def _bad_key(key: object) -> None:
    raise StorageError(f"Disk keys are strings; got {shown(key)} ({type(key).__name__})")
