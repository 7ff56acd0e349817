"""A real JupyterHub on 127.0.0.1, running the course configuration in
``docs/jupyterhub/jupyterhub_config.py``, for ``test_hub.py``; it does not import pytest.

- The hub is this Python's ``jupyterhub`` (the test extra installs it, with
  jupyterhub-idle-culler and nbgitpuller): the single-user environment is this one, the
  environment whose JupyterLab, bokeh and jupyter_bokeh the other browser tests use.
- Its proxy is configurable-http-proxy, the Node.js proxy JupyterHub starts by default
  and Zero to JupyterHub deploys, pinned to ``PROXY_VERSION`` and installed from the npm
  registry once into a cache folder (``install_proxy``).
- The test's configuration loads the course's file unchanged, then only swaps in
  DummyAuthenticator and SimpleLocalProcessSpawner (every user's server is a process of
  the test's own user, with a home in a temporary folder) and puts every address on
  127.0.0.1: the proxy's public and API ports, the hub's and each server's.
- Every process the hub starts is remembered by PID (the proxy, the idle culler, the
  users' servers and their kernels) and ``Hub.stop`` checks that none outlives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from labdriver import LAB_OVERRIDES, _alive, descendants, free_port, log_tail, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
COURSE_CONFIG = ROOT / "docs" / "jupyterhub" / "jupyterhub_config.py"
PROXY_PACKAGE = "configurable-http-proxy"
PROXY_VERSION = "5.1.0"  # needs Node.js 18 or newer (Debian 12 has 18)
NODE_MAJOR = 18
HUB_MODULES = ("jupyterhub", "jupyterhub_idle_culler", "nbgitpuller")

HOW_TO_INSTALL = (
    "install Node.js 18 or newer with npm (Debian: apt-get install -y nodejs npm), git, and "
    "the test extra (pip install -e '.[test]', which brings jupyterhub, "
    "jupyterhub-idle-culler and nbgitpuller)"
)


def missing_requirements() -> str | None:
    """Why a hub cannot run here, or None if it can (the browser is checked apart)."""
    problems = []
    for module in HUB_MODULES:
        try:
            __import__(module)
        except ImportError:
            problems.append(f"the Python module {module!r} is not installed")
    for tool in ("node", "npm", "git"):
        if shutil.which(tool) is None:
            problems.append(f"{tool} is not on PATH")
    node = shutil.which("node")
    if node:
        version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
        found = re.match(r"v(\d+)\.", version.strip())
        if not found or int(found.group(1)) < NODE_MAJOR:
            problems.append(f"Node.js {version.strip()} is older than {NODE_MAJOR}")
    if not problems:
        return None
    return f"the JupyterHub test cannot run: {'; '.join(problems)}. To run it, {HOW_TO_INSTALL}"


def install_proxy(cache: Path) -> Path:
    """configurable-http-proxy at PROXY_VERSION, installed from the npm registry into
    ``cache`` once; returns its command. RuntimeError with npm's words if it fails."""
    command = cache / "node_modules" / ".bin" / PROXY_PACKAGE
    if command.exists():
        return command
    npm = shutil.which("npm") or "npm"
    result = subprocess.run(
        [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--no-save",
            "--prefix",
            str(cache),
            f"{PROXY_PACKAGE}@{PROXY_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0 or not command.exists():
        raise RuntimeError(
            f"npm install {PROXY_PACKAGE}@{PROXY_VERSION} failed (exit {result.returncode}): "
            f"{result.stderr.strip()[-1500:]}"
        )
    return command


def lessons_repository(where: Path, name: str, branch: str) -> str:
    """A git repository ``where/name`` holding this checkout's lessons (the student
    notebooks of ``notebooks/``, not its solutions), as a course publishes them; returns
    its ``file://`` URL, which nbgitpuller clones like any other."""
    repo = where / name
    (repo / "notebooks").mkdir(parents=True)
    for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        shutil.copy(notebook, repo / "notebooks" / notebook.name)
    git = ["git", "-c", "user.name=luminous_edu tests", "-c", "user.email=tests@localhost"]
    for args in (["init", "-q", "-b", branch], ["add", "-A"], ["commit", "-q", "-m", "lessons"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    return repo.as_uri()


# The test's configuration (JupyterHub gives it c and load_subconfig; SETTINGS is
# written above it): the course's file, then what a test on 127.0.0.1 needs.
TEST_CONFIG = """\
load_subconfig(SETTINGS["course_config"])

# Anyone listed logs in with any password; each server is a process of the test's user
# with its home under the test's folder. Everything listens on 127.0.0.1 only.
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = set(SETTINGS["users"])
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = SETTINGS["homes"] + "/{username}"
c.JupyterHub.bind_url = SETTINGS["public_url"]
c.JupyterHub.hub_bind_url = SETTINGS["hub_url"]
c.ConfigurableHTTPProxy.api_url = SETTINGS["proxy_api_url"]
c.ConfigurableHTTPProxy.command = [SETTINGS["proxy"]]
c.ConfigurableHTTPProxy.pid_file = SETTINGS["work"] + "/proxy.pid"
c.JupyterHub.db_url = "sqlite:///" + SETTINGS["work"] + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = SETTINGS["work"] + "/cookie_secret"
c.Spawner.ip = "127.0.0.1"
c.Spawner.cmd = SETTINGS["singleuser"]
c.Spawner.args = SETTINGS["server_args"]
c.Spawner.environment.update(SETTINGS["server_environment"])
c.JupyterHub.last_activity_interval = SETTINGS["activity_interval_s"]
# A token for the test to read the hub's API with, as an instructor's script would.
c.JupyterHub.services.append({"name": "test", "api_token": SETTINGS["token"]})
c.JupyterHub.load_roles.append(
    {"name": "test", "scopes": ["list:users", "read:servers"], "services": ["test"]}
)
"""


class Hub:
    """The course's JupyterHub on 127.0.0.1, its files in ``work``."""

    def __init__(
        self, work: Path, proxy: Path, users: list[str], environment: dict[str, str]
    ) -> None:
        self.work = work
        self.proxy = proxy
        self.users = users
        #: The hub's environment: the course's settings (``LUMINOUS_EDU_COURSE``...).
        self.environment = environment
        self.port = 0
        self.token = os.urandom(16).hex()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = work / "jupyterhub.log"
        self._known_pids: set[int] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def homes(self) -> Path:
        return self.work / "homes"

    def _write_config(self, activity_interval_s: int) -> Path:
        # Each server gets private Jupyter folders (nothing of the machine's user leaks
        # in) and the settings that silence JupyterLab's news, as labdriver's servers do.
        lab = self.work / "lab"
        (lab / "app-settings").mkdir(parents=True, exist_ok=True)
        (lab / "app-settings" / "overrides.json").write_text(json.dumps(LAB_OVERRIDES))
        server_args = [f"--LabApp.app_settings_dir={lab / 'app-settings'}"]
        if os.geteuid() == 0:  # CI runs as root, and so do the servers of this spawner
            server_args.insert(0, "--allow-root")
        settings = {
            "course_config": str(COURSE_CONFIG),
            "users": self.users,
            "homes": str(self.homes()),
            "work": str(self.work),
            "public_url": self.url,
            "hub_url": f"http://127.0.0.1:{free_port()}",
            "proxy_api_url": f"http://127.0.0.1:{free_port()}",
            "proxy": str(self.proxy),
            "singleuser": [sys.executable, "-m", "jupyterhub.singleuser"],
            "server_args": server_args,
            "server_environment": {
                "PATH": os.environ.get("PATH", os.defpath),
                "PYTHONPATH": str(ROOT),  # the kernels import this checkout
                "PYTHONUNBUFFERED": "1",
                "JUPYTER_CONFIG_DIR": str(lab / "config"),
                "JUPYTER_DATA_DIR": str(lab / "data"),
                "JUPYTERLAB_WORKSPACES_DIR": str(lab / "workspaces"),
                # how often each server tells the hub it was used (default 300 s)
                "JUPYTERHUB_ACTIVITY_INTERVAL": str(activity_interval_s),
            },
            "activity_interval_s": activity_interval_s,
            "token": self.token,
        }
        path = self.work / "jupyterhub_test_config.py"
        path.write_text(f"SETTINGS = {settings!r}\n\n{TEST_CONFIG}")
        return path

    def start(self, timeout: float = 60.0, activity_interval_s: int = 300) -> Hub:
        self.work.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.environment, "PYTHONUNBUFFERED": "1"}
        for attempt in range(3):
            self.port = free_port()
            config = self._write_config(activity_interval_s)
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "jupyterhub", "-f", str(config)],
                    cwd=self.work,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            if wait_until_up(self.proc, f"{self.url}/hub/api/", timeout):
                self.note_processes()
                return self
            self.stop()
            if attempt == 2:
                break
        raise RuntimeError(f"JupyterHub did not start; its log:\n{self.log_tail()}")

    def api(self, path: str) -> Any:
        """GET the hub's REST API (``/hub/api/{path}``) with the test's token."""
        request = urllib.request.Request(f"{self.url}/hub/api/{path}")
        request.add_header("Authorization", f"token {self.token}")
        with urllib.request.urlopen(request, timeout=10) as r:
            return json.loads(r.read())

    def log_tail(self, chars: int = 6000) -> str:
        return log_tail(self.log_path, chars)

    def note_processes(self) -> list[int]:
        """Remember every process the hub started so far; returns them."""
        if self.proc is not None:
            self._known_pids.update(descendants(self.proc.pid))
        return sorted(self._known_pids)

    def commands(self) -> dict[int, str]:
        """The command line of each process the hub started that is still running."""
        found = {}
        for pid in sorted(self._known_pids):
            with contextlib.suppress(OSError):
                raw = Path(f"/proc/{pid}/cmdline").read_bytes()
                if _alive(pid):
                    found[pid] = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        return found

    def processes_of(self, user: str) -> dict[int, str]:
        """The running processes the hub started for ``user`` (their server and its
        kernels, which inherit its ``JUPYTERHUB_USER``), with their command lines."""
        mine = {}
        for pid, command in self.commands().items():
            with contextlib.suppress(OSError):
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                if f"JUPYTERHUB_USER={user}".encode() in environ:
                    mine[pid] = command
        return mine

    def stop(self, timeout: float = 60.0) -> list[int]:
        """Stop the hub as an administrator would (SIGTERM: it stops the users' servers,
        the proxy and its services), then anything still running that it started.
        Returns the PIDs that outlived the hub's own shutdown (they are killed)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return []
        self._known_pids.update(descendants(proc.pid))
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in self._known_pids):
            time.sleep(0.1)
        outlived = self.leftover_processes()
        for pid in outlived:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        return outlived

    def leftover_processes(self) -> list[int]:
        return self.leftover_processes_among(sorted(self._known_pids))

    @staticmethod
    def leftover_processes_among(pids: list[int]) -> list[int]:
        return [p for p in pids if _alive(p)]


def listening_addresses(pids: list[int]) -> dict[int, list[str]]:
    """The TCP addresses (``ip:port``) each of ``pids`` listens on, read from /proc
    (Linux): every socket in LISTEN state among the process's open files."""
    listening: dict[str, str] = {}  # socket inode -> address
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # TCP_LISTEN
                    listening[fields[9]] = _address(fields[1], width)
    found: dict[int, list[str]] = {}
    for pid in pids:
        addresses = []
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    inode = target[len("socket:[") : -1] if target.startswith("socket:[") else ""
                    if inode in listening:
                        addresses.append(listening[inode])
        if addresses:
            found[pid] = sorted(addresses)
    return found


def _address(hex_address: str, width: int) -> str:
    """``0100007F:1F90`` -> ``127.0.0.1:8080`` (IPv6 in /proc/net/tcp6: 4 words, each in
    the machine's byte order; an IPv4-mapped one is shown as IPv4)."""
    host, port = hex_address.split(":")
    raw = b"".join(int(host[i : i + 8], 16).to_bytes(4, sys.byteorder) for i in range(0, width, 8))
    if width == 8:
        text = ".".join(str(b) for b in raw)
    elif raw[:12] == b"\0" * 10 + b"\xff\xff":
        text = ".".join(str(b) for b in raw[12:])
    else:
        import ipaddress

        text = str(ipaddress.IPv6Address(raw))
    return f"{text}:{int(port, 16)}"
