"""Reference solutions to lesson 04 (storage handlers), for instructors.

``SOLUTIONS`` maps each exercise id to its answer; tests/test_exercises.py checks
that every one passes.
"""

import luminous_edu as le
from luminous_edu.storage import GALLERY


class MyStorage(le.StorageHandler):
    """Figure 2's persistent state on the Disk: one key for (term, vote), one per entry."""

    def save_hard_state(self, msg):
        self.disk.write("hard_state", (msg.current_term, msg.voted_for))  # ONE write
        self.disk.sync()

    def save_log(self, msg):
        self.disk.write(f"log/{msg.index:010d}", (msg.term, msg.data))
        self.disk.sync()

    def truncate_log(self, msg):
        for key in self.disk.keys():
            if key.startswith("log/") and int(key[4:]) >= msg.from_index:
                self.disk.delete(key)
        self.disk.sync()

    def load_state(self):
        term, vote = self.disk.read("hard_state", (0, None))
        entries = [
            le.Entry(int(key[4:]), *self.disk.read(key))
            for key in self.disk.keys()
            if key.startswith("log/")
        ]
        return le.StoredState(term, vote, entries)


store = le.FunctionStorage(name="ListStorage")


@store.save_hard_state
def save_hard_state(disk, msg):
    disk.write("hard_state", (msg.current_term, msg.voted_for))
    disk.sync()


@store.save_log
def save_log(disk, msg):
    log = disk.read("log", [])  # entry i at log[i - 1]
    log[msg.index - 1 :] = [(msg.term, msg.data)]  # replace it, drop anything after it
    disk.write("log", log)
    disk.sync()


@store.truncate_log
def truncate_log(disk, msg):
    log = disk.read("log", [])
    disk.write("log", log[: msg.from_index - 1])
    disk.sync()


@store.load_state
def load_state(disk):
    term, vote = disk.read("hard_state", (0, None))
    log = disk.read("log", [])
    return le.StoredState(term, vote, [le.Entry(i, t, d) for i, (t, d) in enumerate(log, 1)])


class FixedTermAfterVote(GALLERY["TermAfterVote"]):
    def save_hard_state(self, msg):
        self.disk.write("hard_state", (msg.current_term, msg.voted_for))  # together
        self.disk.sync()

    def load_state(self):
        term, vote = self.disk.read("hard_state", (0, None))
        entries = [
            le.Entry(int(key[4:]), *self.disk.read(key))
            for key in self.disk.keys()
            if key.startswith("log/")
        ]
        return le.StoredState(term, vote, entries)


SOLUTIONS = {
    "04.predict_vote_saved": "b",
    "04.storage_class": MyStorage,
    "04.storage_functions": store,
    "04.predict_all_crash": "yes",
    "04.predict_volatile": "no",
    "04.predict_forgets_vote": "yes",
    "04.hidden_without_faults": {"NeverSyncs"},
    "04.fix_term_after_vote": FixedTermAfterVote,
}
