"""Porcupine's published test histories, read into ``le.Operation`` lists.

Porcupine (https://github.com/anishathalye/porcupine, MIT licence) tests its checker on
two kinds of logs in its ``test_data/``:

- ``jepsen/etcd_NNN.log``: Jepsen runs against etcd (one register), lines like
  ``INFO  jepsen.util - 3	:invoke	:cas	[0 4]`` then ``... 3	:fail	:cas	[0 4]``;
- ``kv/cNN-ok.txt`` / ``cNN-bad.txt``: a key-value store with get, put and append,
  lines like ``{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}``.

These parsers read them the way Porcupine's own test code does, so the answers can be
compared with its expected ones: time is the position of the line among the lines
that matter; an etcd read that timed out (``:fail :read :timed-out``) has an unknown
output; an operation that never returned (the process crashed, ``:info``) has an
unknown outcome (``ret=None``); a kv get of a missing key returns "" in those logs,
which is None here (the logs never write an empty string, which the parser checks).

CI has no network, so the histories are kept converted in ``tests/data/porcupine/``
(``etcd.json.gz`` and ``kv.json.gz``), with Porcupine's expected answers taken from
its ``porcupine_test.go``. To convert them again from a Porcupine checkout:

    python tests/porcupine_logs.py /path/to/porcupine
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path
from typing import Any

import luminous_edu as le

DATA = Path(__file__).resolve().parent / "data" / "porcupine"

_JEPSEN = r"^INFO\s+jepsen\.util\s+-\s+(\d+)\s+"
_ETCD_LINES = {
    "invoke_read": re.compile(_JEPSEN + r":invoke\s+:read\s+nil$"),
    "invoke_write": re.compile(_JEPSEN + r":invoke\s+:write\s+(\d+)$"),
    "invoke_cas": re.compile(_JEPSEN + r":invoke\s+:cas\s+\[(\d+)\s+(\d+)\]$"),
    "ok_read": re.compile(_JEPSEN + r":ok\s+:read\s+(nil|\d+)$"),
    "ok_write": re.compile(_JEPSEN + r":ok\s+:write\s+(\d+)$"),
    "end_cas": re.compile(_JEPSEN + r":(ok|fail)\s+:cas\s+\[(\d+)\s+(\d+)\]$"),
    "timeout_read": re.compile(_JEPSEN + r":fail\s+:read\s+:timed-out$"),
}
_KV_LINES = {
    "invoke": re.compile(
        r'\{:process (\d+), :type :invoke, :f :(get|put|append), :key "(.*)", :value (nil|"(.*)")\}'
    ),
    "ok": re.compile(
        r'\{:process (\d+), :type :ok, :f :(get|put|append), :key ".*", :value "(.*)"\}'
    ),
}


class _Calls:
    """Open calls by process, and the operations built so far (in call order)."""

    def __init__(self) -> None:
        self.time = 0
        self.open: dict[int, int] = {}
        self.ops: list[list[Any]] = []  # [client, input, output, call, ret]

    def call(self, process: int, given: dict[str, Any]) -> None:
        self.open[process] = len(self.ops)
        self.ops.append([process, given, None, self.time, None])
        self.time += 1

    def end(self, process: int, output: dict[str, Any] | None) -> None:
        op = self.ops[self.open.pop(process)]
        op[2], op[4] = output, self.time
        self.time += 1

    def operations(self) -> list[le.Operation]:
        return [le.Operation(*op) for op in self.ops]


def parse_etcd(text: str) -> list[le.Operation]:
    """A Jepsen etcd log as register operations."""
    calls = _Calls()
    for line in text.splitlines():
        for kind, pattern in _ETCD_LINES.items():  # noqa: B007 (kind is used below)
            found = pattern.match(line)
            if found:
                break
        else:
            continue
        process = int(found.group(1))
        if kind == "invoke_read":
            calls.call(process, {"op": "read"})
        elif kind == "invoke_write":
            calls.call(process, {"op": "write", "value": int(found.group(2))})
        elif kind == "invoke_cas":
            given = {"op": "cas", "from": int(found.group(2)), "to": int(found.group(3))}
            calls.call(process, given)
        elif kind == "ok_read":
            value = None if found.group(2) == "nil" else int(found.group(2))
            calls.end(process, {"value": value})
        elif kind == "ok_write":
            calls.end(process, {"ok": True})
        elif kind == "end_cas":
            calls.end(process, {"ok": found.group(2) == "ok"})
        else:  # a read that timed out: it returned, with an output nobody knows
            calls.end(process, None)
    return calls.operations()


def parse_kv(text: str) -> list[le.Operation]:
    """A Porcupine kv log (Jepsen's EDN maps) as kv operations."""
    calls = _Calls()
    for line in text.splitlines():
        found = _KV_LINES["invoke"].search(line)
        if found:
            process, f, key, value = (
                int(found.group(1)),
                found.group(2),
                found.group(3),
                found.group(5),
            )
            given: dict[str, Any] = {"op": f, "key": key}
            if f != "get":
                if not value:
                    raise ValueError(f"an empty {f} value would read as a missing key: {line}")
                given["value"] = value
            calls.call(process, given)
            continue
        found = _KV_LINES["ok"].search(line)
        if found:
            process, f, value = int(found.group(1)), found.group(2), found.group(3)
            calls.end(process, {"value": value or None} if f == "get" else {"ok": True})
    if calls.open:
        raise ValueError("a kv operation never returned; Porcupine would read it as ''")
    return calls.operations()


def expected_answers(test_source: str) -> dict[str, bool]:
    """Which histories Porcupine's ``porcupine_test.go`` expects to be linearizable."""
    answers = {
        f"etcd_{int(n):03d}": flag == "true"
        for n, flag in re.findall(r"checkJepsen\(t, (\d+), (true|false)\)", test_source)
    }
    for name, flag in re.findall(r'checkKv\(t, "([\w-]+)", (true|false), true\)', test_source):
        answers[name] = flag == "true"
    return answers


def load(kind: str) -> dict[str, tuple[bool, list[le.Operation]]]:
    """The converted histories of ``kind`` ("etcd" or "kv"): name -> (expected answer,
    operations)."""
    with gzip.open(DATA / f"{kind}.json.gz", "rt", encoding="utf-8") as file:
        stored = json.load(file)
    return {
        name: (entry["linearizable"], [le.Operation(*op) for op in entry["operations"]])
        for name, entry in stored["histories"].items()
    }


def convert(porcupine: Path) -> None:
    """Write ``tests/data/porcupine/{etcd,kv}.json.gz`` from a Porcupine checkout."""
    answers = expected_answers((porcupine / "porcupine_test.go").read_text())
    sources = {
        "etcd": (sorted((porcupine / "test_data" / "jepsen").glob("etcd_*.log")), parse_etcd),
        "kv": (sorted((porcupine / "test_data" / "kv").glob("*.txt")), parse_kv),
    }
    DATA.mkdir(parents=True, exist_ok=True)
    for kind, (paths, parse) in sources.items():
        histories = {}
        for path in paths:
            if path.stem not in answers:  # etcd_095: "etcd cluster failed to start up"
                print(f"{path.name}: Porcupine's tests give no answer; left out")
                continue
            ops = parse(path.read_text())
            histories[path.stem] = {
                "linearizable": answers[path.stem],
                "operations": [list(op) for op in ops],
            }
        record = {
            "source": f"github.com/anishathalye/porcupine test_data/{paths[0].parent.name}",
            "model": "register" if kind == "etcd" else "kv",
            "histories": histories,
        }
        text = json.dumps(record, separators=(",", ":"), sort_keys=True)
        # mtime=0: the same histories give the same bytes
        with (
            open(DATA / f"{kind}.json.gz", "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as file,
        ):
            file.write(text.encode("utf-8"))
        good = sum(history["linearizable"] for history in histories.values())
        print(f"{kind}: {len(histories)} histories, {good} linearizable")


if __name__ == "__main__":
    convert(Path(sys.argv[1]))
