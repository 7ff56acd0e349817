"""Reference solutions to lesson 06 (log compaction), for instructors.

``SOLUTIONS`` maps each exercise id to its answer; tests/test_exercises.py checks
that every one passes.
"""

import importlib.util
from pathlib import Path

import luminous_edu as le
from luminous_edu.storage import GALLERY


def term_at(server, index):
    if index == 0:
        return 0
    if index == server.snapshot_index:
        return server.snapshot_term  # the entry is gone; the snapshot kept its term
    if server.snapshot_index < index <= server.last_log_index:
        return server.log[index - server.snapshot_index - 1].term
    return None  # compacted away, or not there yet


def needs_snapshot(cluster):
    if cluster.leader is None:
        return set()
    leader = cluster.servers[cluster.leader]
    return {f for f, n in leader.next_index.items() if n <= leader.snapshot_index}


def _lesson04():
    """Lesson 04's reference solutions, loaded from beside this file."""
    path = Path(__file__).with_name("lesson04.py")
    spec = importlib.util.spec_from_file_location("solutions_lesson04_for_06", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The lesson's starting point, LogStorage, is lesson 04's handler.
LogStorage = _lesson04().MyStorage


class MyStorage(LogStorage):
    def save_snapshot(self, msg):
        self.disk.write("snapshot", (msg.last_index, msg.last_term, msg.data, msg.config))
        self.disk.sync()  # durable BEFORE the CompactLog that follows deletes anything

    def compact_log(self, msg):
        for key in self.disk.keys():
            if key.startswith("log/") and int(key[4:]) <= msg.through_index:
                self.disk.delete(key)
        self.disk.sync()

    def load_state(self):
        state = super().load_state()
        stored = self.disk.read("snapshot")
        snapshot = None if stored is None else le.SaveSnapshot(*stored)
        return le.StoredState(state.current_term, state.voted_for, state.entries, snapshot)


class FixedCompactsBeforeSnapshot(GALLERY["CompactsBeforeSnapshot"]):
    def save_snapshot(self, msg):
        le.DiskStorage.save_snapshot(self, msg)  # written and synced before returning

    def compact_log(self, msg):
        le.DiskStorage.compact_log(self, msg)  # the snapshot is already on the disk


SOLUTIONS = {
    "06.predict_disk": "b",
    "06.predict_last_term": "b",
    "06.term_at": term_at,
    "06.predict_catch_up": "b",
    "06.needs_snapshot": needs_snapshot,
    "06.predict_restart_commit": "b",
    "06.storage_compaction": MyStorage,
    "06.predict_compacts_first": "c",
    "06.fix_compacts_before_snapshot": FixedCompactsBeforeSnapshot,
}
