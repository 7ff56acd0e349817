"""The error type of storage handlers (the seed's user-defined ``RaftError``)."""

from __future__ import annotations


class StorageError(Exception):
    """Raise this (or a subclass of your own) from a storage handler to say that a
    storage message could not be carried out. The server that owns the handler stops;
    the rest of the cluster and the notebook keep going."""


class TornWriteError(StorageError):
    """A value on the Disk was being written when the server crashed and is garbled."""
