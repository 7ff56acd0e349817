"""Scenario scripts: a cluster driven by a text file of commands, each followed by the
output it must produce (the format of etcd's data-driven Raft tests).

A script is a sequence of blocks separated by blank lines::

    # Lines starting with '#' are comments.
    cluster servers=3 seed=1
    ----

    propose x
    ----
    refused: no leader known

Each block is one command line, a line ``----``, and the expected output (possibly
empty) up to the next blank line. Commands with their arguments are listed in
``COMMANDS``; words are split like a shell's (``shlex``), ``key=value`` arguments are
keyword arguments, and values are read as Python literals when they are one
(``seed=1``, ``prevote=True``, ``delay_ms=(5,15)``), as strings otherwise.

Every command that lets the cluster move prints the trace sentences it caused, one per
line, as ``step N t=T: sentence``; ``quiet=True`` hides them (useful for long runs, whose
effect a later ``status`` shows more briefly).

``LUMINOUS_REWRITE_SCRIPTS=1 python -m pytest tests/test_scripts.py`` rewrites each
script's expected outputs with what the code prints now; review the diff before
committing it.
"""

from __future__ import annotations

import ast
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import luminous_edu as le

SEPARATOR = "----"
REWRITE = os.environ.get("LUMINOUS_REWRITE_SCRIPTS") == "1"


class ScriptError(Exception):
    """A script is malformed or uses a command wrongly (not a failed expectation)."""


@dataclass
class Block:
    line: int  # 1-based line number of the command, for messages
    command: str
    expected: str
    comments: list[str]


def parse(text: str, name: str = "<script>") -> list[Block]:
    """Split a script into blocks; raise ScriptError naming the line if malformed."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    comments: list[str] = []
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.startswith("#"):
            comments.append(line)
            i += 1
            continue
        start = i + 1
        if i + 1 >= len(lines) or lines[i + 1] != SEPARATOR:
            raise ScriptError(
                f"{name}:{start}: a command line must be followed by a line '{SEPARATOR}'"
            )
        i += 2
        output: list[str] = []
        while i < len(lines) and lines[i].strip():
            output.append(lines[i])
            i += 1
        blocks.append(Block(start, line, "\n".join(output), comments))
        comments = []
    if comments:
        raise ScriptError(f"{name}: comments after the last command; put them before one")
    return blocks


def render(blocks: list[Block], outputs: list[str]) -> str:
    """The script text with ``outputs`` as the expected outputs."""
    parts = []
    for block, output in zip(blocks, outputs, strict=True):
        head = "\n".join([*block.comments, block.command, SEPARATOR])
        parts.append(head + ("\n" + output if output else ""))
    return "\n\n".join(parts) + "\n"


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _split(line: str) -> tuple[str, list[Any], dict[str, Any]]:
    words = shlex.split(line)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if eq and key.isidentifier():
            kwargs[key] = _value(value)
        else:
            args.append(_value(word))
    return words[0], args, kwargs


def _entry(entry: Any) -> str:
    kind = entry.kind
    data = kind if kind != "command" else str(entry.data)
    return f"{entry.term}/{data}"


def _server_line(cluster: le.Cluster, sid: int) -> str:
    s = cluster.servers[sid]
    if not s.alive:
        return f"S{sid} down"
    voted = "-" if s.voted_for is None else f"S{s.voted_for}"
    parts = [
        f"S{sid} {s.role.value}",
        f"term={s.current_term}",
        f"voted={voted}",
        f"commit={s.commit_index}",
        f"applied={s.last_applied}",
    ]
    if s.snapshot_index:
        parts.append(f"snapshot={s.snapshot_index}/{s.snapshot_term}")
    parts.append("log=[" + " ".join(_entry(e) for e in s.log) + "]")
    return " ".join(parts)


def _config_line(config: Any) -> str:
    def names(ids: Any) -> str:
        return ",".join(f"S{i}" for i in ids) or "-"

    line = f"voters={names(config.voters)} learners={names(config.learners)}"
    if config.old_voters is not None:
        line += f" old_voters={names(config.old_voters)}"
    return line


class Runner:
    """Runs the commands of one script against one cluster."""

    def __init__(self) -> None:
        self.cluster: le.Cluster | None = None
        self.clusters: list[le.Cluster] = []  # every cluster built, in order
        self.commands: dict[str, Callable[..., str]] = {
            name.replace("_", "-"): getattr(self, "cmd_" + name) for name in COMMANDS
        }

    # ------------------------------------------------------------ plumbing

    def run(self, line: str) -> str:
        name, args, kwargs = _split(line)
        if name not in self.commands:
            raise ScriptError(f"unknown command {name!r}; known: {', '.join(self.commands)}")
        if name != "cluster" and self.cluster is None:
            raise ScriptError("the script must start with a 'cluster ...' command")
        quiet = bool(kwargs.pop("quiet", False))
        before = len(self.cluster.trace) if self.cluster is not None else 0
        result = self.commands[name](*args, **kwargs)
        lines = [] if quiet or name == "cluster" else self._trace_since(before)
        if result:
            lines.append(result)
        return "\n".join(lines)

    @property
    def c(self) -> le.Cluster:
        assert self.cluster is not None
        return self.cluster

    def _trace_since(self, before: int) -> list[str]:
        trace = self.c.trace
        return [f"step {e.step} t={e.time}: {e.sentence}" for e in trace[min(before, len(trace)) :]]

    # ------------------------------------------------------------ commands

    def cmd_cluster(self, **options: Any) -> str:
        """cluster [servers=N] [seed=N] [any Cluster option=value]: build the cluster."""
        self.cluster = le.Cluster(**options)
        self.clusters.append(self.cluster)
        return ""

    def cmd_step(self, n: int = 1) -> str:
        """step [N]: take N steps (default 1)."""
        for _ in range(n):
            self.c.step()
        return ""

    def cmd_run(self, ms: int) -> str:
        """run MS: let MS virtual milliseconds pass."""
        self.c.run(ms)
        return ""

    def cmd_run_until(self, what: str, *args: Any, max_ms: int = 10_000) -> str:
        """run-until leader | run-until applied INDEX [max_ms=N]: run until a leader is
        known, or every running server applied through INDEX; say when."""
        c = self.c
        if what == "leader":
            done = c.run_until(lambda c: c.leader is not None, max_ms=max_ms, warn=False)
            summary = f"S{c.leader} leads term {c.servers[c.leader].current_term}" if done else ""
        elif what == "applied" and len(args) == 1:
            index = int(args[0])
            done = c.run_until(
                lambda c: all(
                    c.servers[i].last_applied >= index for i in c.servers if c.servers[i].alive
                ),
                max_ms=max_ms,
                warn=False,
            )
            summary = f"every running server applied through {index}" if done else ""
        else:
            raise ScriptError("run-until takes 'leader' or 'applied INDEX'")
        if not done:
            return f"not reached within {max_ms} ms (t={c.now} ms)"
        return f"{summary} (step {c.step_count}, t={c.now} ms)"

    def cmd_propose(self, data: Any, server: int | None = None) -> str:
        """propose DATA [server=I]: a client command."""
        r = self.c.propose(data, server=server)
        if r.accepted:
            return f"accepted: index {r.index}, term {r.term}"
        hint = "no leader known" if r.leader_hint is None else f"leader hint S{r.leader_hint}"
        return f"refused: {hint}"

    def cmd_leader(self) -> str:
        """leader: who leads now, as the cluster sees it."""
        leader = self.c.leader
        if leader is None:
            return "no leader"
        return f"S{leader} leads term {self.c.servers[leader].current_term}"

    def cmd_status(self, *ids: int) -> str:
        """status [I ...]: one line per server: role, term, vote, commit, log as term/data."""
        return "\n".join(_server_line(self.c, i) for i in (ids or tuple(self.c.servers)))

    def cmd_crash(self, sid: int) -> str:
        """crash I"""
        self.c.crash(sid)
        return ""

    def cmd_restart(self, sid: int) -> str:
        """restart I"""
        self.c.restart(sid)
        return ""

    def cmd_disconnect(self, sid: int) -> str:
        """disconnect I"""
        self.c.disconnect(sid)
        return ""

    def cmd_connect(self, sid: int) -> str:
        """connect I"""
        self.c.connect(sid)
        return ""

    def cmd_partition(self, *groups: Any) -> str:
        """partition 1,2 3,4,5: cut the links between the groups."""
        self.c.partition(*({g} if isinstance(g, int) else set(g) for g in groups))
        return ""

    def cmd_heal(self) -> str:
        """heal: remove every partition and reconnect every server."""
        self.c.heal()
        return ""

    def cmd_timeout(self, sid: int) -> str:
        """timeout I: fire server I's election timer now."""
        self.c.timeout(sid)
        return ""

    def cmd_network(self, **rates: Any) -> str:
        """network [drop_rate=R] [duplicate_rate=R] [delay_ms=(LOW,HIGH)]"""
        self.c.set_network(**rates)
        return ""

    def cmd_call(self, method: str, *args: Any, **kwargs: Any) -> str:
        """call METHOD [args] [key=value]: any public Cluster method; prints its result."""
        if method.startswith("_") or not callable(getattr(self.c, method, None)):
            raise ScriptError(f"call: the Cluster has no public method {method!r}")
        result = getattr(self.c, method)(*args, **kwargs)
        return "" if result is None else repr(result)

    def cmd_read(self, server: int | None = None, then_ms: int = 0) -> str:
        """read [server=I] [then_ms=MS]: a linearizable read of the applied values, then
        MS virtual ms of running; prints the read's state afterwards."""
        handle = self.c.read(lambda sm: list(sm.values), server=server)
        if then_ms:
            self.c.run(then_ms)
        return repr(handle)

    def cmd_config(self, *ids: int) -> str:
        """config [I ...]: the configuration as the leader sees it (cluster.config), or
        as each server I sees it (the latest in its log, committed or not)."""
        if not ids:
            config = self.c.config
            return "no server is running" if config is None else _config_line(config)
        return "\n".join(f"S{i} {_config_line(self.c.servers[i].config)}" for i in ids)

    def cmd_violations(self) -> str:
        """violations: every safety or durability violation seen, or 'none'."""
        return "\n".join(str(v) for v in self.c.violations) or "none"

    def cmd_errors(self) -> str:
        """errors: handler errors (first line of each), or 'none'."""
        return "\n".join(str(e).splitlines()[0] for e in self.c.errors) or "none"


COMMANDS = [
    name[4:] for name in vars(Runner) if name.startswith("cmd_") and callable(vars(Runner)[name])
]


def run_script(path: Path) -> tuple[str, str]:
    """Run the script at ``path``; return (expected text, actual text)."""
    text = path.read_text()
    blocks = parse(text, path.name)
    runner = Runner()
    outputs = []
    for block in blocks:
        try:
            outputs.append(runner.run(block.command))
        except ScriptError as error:
            raise ScriptError(f"{path.name}:{block.line}: {error}") from None
        except (le.LuminousError, TypeError, ValueError) as error:
            outputs.append(f"error: {error}")
    return text, render(blocks, outputs)
