"""Build luminous_edu's JupyterLite site: Raft in the browser, with nothing installed.

    python jupyterlite/build.py [--out DIR] [--cache DIR]

The result (``jupyterlite/_output`` unless ``--out`` says otherwise) is a folder of
static files: JupyterLab and a Python kernel (Pyodide: CPython compiled to WebAssembly)
that run entirely in the browser, with luminous_edu and ipywidgets in it and the
lesson in ``jupyterlite/content``. Serve it with any static web server (GitHub Pages,
``python -m http.server``); no Jupyter server, no kernel on a machine of ours.

Everything comes from package registries, at build time only:

- JupyterLite and its Pyodide kernel: the Python packages ``jupyterlite-core`` and
  ``jupyterlite-pyodide-kernel``, pinned in one place, ``jupyterlite/requirements.txt``.
  The build installs them from PyPI into a virtual environment of its own (``tools`` in
  the cache folder, made again when that file changes), not into this one: the kernel's
  JupyterLab extension is made for JupyterLite, and a JupyterLab started from an
  environment that holds it fails to load it. Every other version below follows from
  them or from this environment, and the build prints them all.
- Pyodide, from the npm package ``pyodide``, at the version the kernel was made for (the
  kernel's ``PYODIDE_VERSION``). That package is Pyodide's core: the interpreter, the
  standard library and the lock file that lists Pyodide's packages. The packages
  themselves are only on Pyodide's CDN (cdn.jsdelivr.net), which the site does not use:
  it must work where only its own host is reachable.
- The pure-Python wheels the kernel needs when it starts (micropip, ipython, jedi and
  their dependencies), from PyPI at exactly the versions the lock file names. PyPI's
  wheels are not byte-identical to Pyodide's rebuilds, so their lock entries get the
  sha256 of the wheel actually served.
- luminous_edu (a wheel built from this checkout), ipywidgets and comm (at the versions
  installed here, the ones the tests use), added to the lock file with the names they
  are imported by, so that ``import luminous_edu`` loads them: no ``%pip`` cell.

The lock file keeps only the entries the site serves. Anything else (numpy, and so
bokeh, which needs it) is not in the site: ``cluster.show()`` says so and points at
``le.TableView``, which draws the cluster with ipywidgets alone.

Exit status: 0 built; 1 the build failed; 2 bad arguments; 3 something the build needs
is missing here (npm, the network), said in one sentence.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from email.parser import Parser
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONTENT = HERE / "content"
DEFAULT_OUT = HERE / "_output"
DEFAULT_CACHE = HERE / ".cache"
TOOLS_REQUIREMENTS = HERE / "requirements.txt"

#: What the kernel loads from the lock file as it starts (read in its web worker:
#: ``loadPackage(["micropip"])``, then ``piplite.install`` of ipykernel, comm,
#: pyodide-kernel, jedi and ipython; ipykernel and pyodide-kernel come with the
#: kernel's own wheels, comm is added below).
KERNEL_PACKAGES = ("micropip", "ipython", "jedi")
#: Installed here, served in the site at the same versions, for the widgets.
WIDGET_PACKAGES = ("ipywidgets", "comm")
#: The JupyterLab extensions the site needs: the widget manager, which draws ipywidgets
#: (installed here, with ipywidgets), and the kernel, an extension too (installed in the
#: tools environment). Others installed here (jupyter_bokeh's, ...) stay out.
WIDGET_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
KERNEL_EXTENSION = "@jupyterlite/pyodide-kernel-extension"
#: The files of the npm package the site serves (the ES module entry point the kernel's
#: worker imports, the WebAssembly interpreter and the standard library).
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")
LOCK = "pyodide-lock.json"
DOIT_DB = ".jupyterlite.doit.db"
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"

#: What pip and npm print when they cannot reach a registry at all.
NETWORK_TROUBLE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|connection broken by|"
    r"Temporary failure in name resolution|Network is unreachable|ConnectTimeout|"
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network request"
)


class BuildError(Exception):
    """The build failed; the message says where and why."""


class MissingRequirement(BuildError):
    """Something the build needs is not here: npm, the network, the JupyterLite tools."""


def canonical(name: str) -> str:
    """A project name as PEP 503 compares names (and Pyodide's lock file keys them)."""
    return re.sub(r"[-_.]+", "-", name).lower()


# ---------------------------------------------------------------------------
# Arguments


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python jupyterlite/build.py",
        description="Build luminous_edu's JupyterLite site (static files) from registries only.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="where to write the site; replaced if it holds an earlier site "
        "(default: jupyterlite/_output)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="where downloads and the build's work folder are kept between builds "
        "(default: jupyterlite/.cache)",
    )
    args = parser.parse_args(argv)
    args.out = args.out.resolve()
    args.cache = args.cache.resolve()
    problem = check_out_dir(args.out, args.cache)
    if problem:
        parser.error(problem)
    return args


def check_out_dir(out: Path, cache: Path) -> str | None:
    """Why ``out`` must not be the site's folder, or None. The build empties it first,
    so it must not hold (or be inside) anything else worth keeping."""
    if out == cache or out in cache.parents or cache in out.parents:
        return f"--out {out} and --cache {cache} must be separate folders"
    for source in (REPO, HERE, CONTENT):
        if out == source or out in source.parents:
            return f"--out {out} would replace {source}: choose an empty or new folder"
    if CONTENT in out.parents:
        return f"--out {out} is inside the site's content folder {CONTENT}"
    if out.exists() and not out.is_dir():
        return f"--out {out} is a file, not a folder"
    if out.is_dir() and any(out.iterdir()) and not (out / "jupyter-lite.json").exists():
        return (
            f"--out {out} is not empty and holds no earlier JupyterLite site "
            "(no jupyter-lite.json): choose an empty or new folder"
        )
    return None


# ---------------------------------------------------------------------------
# The lock file: which packages the site serves, and how Pyodide finds them


def lock_closure(packages: dict[str, Any], roots: Iterable[str]) -> list[str]:
    """The lock file's keys for ``roots`` and everything they depend on, roots first."""
    by_name = {canonical(key): key for key in packages}
    found: list[str] = []
    todo = [canonical(r) for r in roots]
    while todo:
        name = todo.pop(0)
        key = by_name.get(name)
        if key is None:
            raise BuildError(
                f"Pyodide's lock file has no package {name!r}: this build script was written "
                "for a kernel that loads it from there; check KERNEL_PACKAGES"
            )
        if key not in found:
            found.append(key)
            todo.extend(canonical(d) for d in packages[key].get("depends", []))
    return found


def wheel_metadata(wheel: Path) -> dict[str, Any]:
    """Name, version, top-level import names and requirements (names only, leaving out
    those that only an extra asks for) of a wheel."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta_path = next(
            (n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None
        )
        if meta_path is None:
            raise BuildError(f"{wheel.name} has no .dist-info/METADATA: not a wheel?")
        meta = Parser().parsestr(zf.read(meta_path).decode())
    tops = {n.split("/")[0] for n in names}
    imports = sorted(
        t.removesuffix(".py")
        for t in tops
        if not t.endswith((".dist-info", ".data", ".pth"))
        and (t.isidentifier() or t.endswith(".py"))
    )
    requires = []
    for line in meta.get_all("Requires-Dist") or []:
        requirement, _, marker = line.partition(";")
        if "extra" in marker:
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if match:
            requires.append(canonical(match.group(1)))
    return {
        "name": canonical(meta["Name"]),
        "version": meta["Version"],
        "imports": imports,
        "requires": requires,
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def site_lock(
    lock: dict[str, Any], from_lock: dict[str, Path], added: Iterable[Path]
) -> tuple[dict[str, Any], list[str]]:
    """Pyodide's lock file rewritten for this site, and notes on what was left out.

    ``from_lock`` maps lock keys to the wheels (from PyPI) the site serves for them: each
    keeps its entry, with the sha256 of the served file. ``added`` are wheels the lock
    does not know (luminous_edu, ipywidgets, comm): each gets an entry, importable by
    its top-level names, depending on those of its requirements the site serves (the
    rest are noted). Every other entry is dropped, so that Pyodide never asks for a file
    the site does not have."""
    packages = lock["packages"]
    entries: dict[str, dict[str, Any]] = {}
    for key, wheel in from_lock.items():
        entry = dict(packages[key])
        if wheel.name != entry["file_name"]:
            raise BuildError(
                f"the lock file names {entry['file_name']} for {key}, but PyPI served {wheel.name}"
            )
        entry["sha256"] = sha256(wheel)
        entries[key] = entry
    metas = [(wheel, wheel_metadata(wheel)) for wheel in added]
    served = {canonical(k) for k in entries} | {meta["name"] for _wheel, meta in metas}
    notes = []
    for wheel, meta in metas:
        depends = [r for r in meta["requires"] if r in served]
        left_out = [r for r in meta["requires"] if r not in served]
        if left_out:
            notes.append(f"{meta['name']}: not in the site: {', '.join(left_out)}")
        entries[meta["name"]] = {
            "name": meta["name"],
            "version": meta["version"],
            "file_name": wheel.name,
            "install_dir": "site",
            "sha256": sha256(wheel),
            "package_type": "package",
            "imports": meta["imports"],
            "depends": depends,
            "unvendored_tests": False,
        }
    return {**lock, "packages": dict(sorted(entries.items()))}, notes


# ---------------------------------------------------------------------------
# Tools and downloads


def run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    """Run a command; its output on success, a BuildError (MissingRequirement when the
    registry could not be reached) naming ``what`` on failure."""
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise MissingRequirement(f"{what}: {cmd[0]} not found ({error})") from error
    if done.returncode == 0:
        return done.stdout
    said = (done.stderr + done.stdout).strip()
    tail = "\n".join(line for line in said.splitlines()[-8:] if line.strip())
    trouble = [line.strip() for line in said.splitlines() if NETWORK_TROUBLE.search(line)]
    if trouble:
        raise MissingRequirement(
            f"{what}: the package registry cannot be reached (no network?): {trouble[0]}"
        )
    raise BuildError(f"{what} failed ({' '.join(cmd[:4])} ...):\n{tail}")


def tools_python(cache: Path) -> Path:
    """The Python of the build tools' own virtual environment (``cache/tools``), with
    ``jupyterlite/requirements.txt`` installed; made, or made again when that file
    changed since, before it is used."""
    venv = cache / "tools"
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    wanted = TOOLS_REQUIREMENTS.read_text()
    stamp = venv / "requirements.txt"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if venv.exists():
        shutil.rmtree(venv)
    run([sys.executable, "-m", "venv", str(venv)], "making the build tools' environment")
    run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(TOOLS_REQUIREMENTS)],
        "installing the JupyterLite build tools from PyPI",
    )
    stamp.write_text(wanted)
    return python


#: Printed by the tools' Python: their versions, the Pyodide and Python their kernel
#: runs, and where the kernel's JupyterLab extension is installed.
_TOOLS_REPORT = """
import importlib.metadata as m, json
from jupyterlite_pyodide_kernel import constants
from jupyter_core.paths import jupyter_path
print(json.dumps({
    "jupyterlite-core": m.version("jupyterlite-core"),
    "jupyterlite-pyodide-kernel": m.version("jupyterlite-pyodide-kernel"),
    "pyodide": constants.PYODIDE_VERSION,
    "python": constants.PYODIDE_PYTHON_VERSION,
    "labextensions": jupyter_path("labextensions"),
}))
"""


def lite_versions(tools: Path) -> tuple[dict[str, str], list[str]]:
    """The build tools' versions and the Pyodide and Python their kernel runs, and the
    folders where the tools' environment keeps JupyterLab extensions."""
    report = json.loads(run([str(tools), "-c", _TOOLS_REPORT], "asking the build tools"))
    folders = report.pop("labextensions")
    return report, folders


def require_npm() -> str:
    """The path of npm, or MissingRequirement saying how to get it."""
    npm = shutil.which("npm")
    if npm is None:
        raise MissingRequirement(
            "npm is not on PATH: the build takes Pyodide from the npm registry. Install "
            "Node.js with npm (Debian: apt-get install -y nodejs npm), then build again"
        )
    return npm


def fetch_pyodide(version: str, cache: Path) -> Path:
    """The npm package pyodide@version as a tarball, downloaded once into the cache."""
    tarball = cache / "npm" / f"pyodide-{version}.tgz"
    if tarball.exists():
        return tarball
    npm = require_npm()
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tarball.parent) as tmp:
        out = run(
            [npm, "pack", f"pyodide@{version}", "--pack-destination", tmp],
            f"downloading pyodide@{version} from the npm registry",
        )
        packed = Path(tmp) / out.strip().splitlines()[-1]  # npm prints the file's name last
        if not packed.is_file():
            raise BuildError(f"npm pack pyodide@{version} made no {packed.name}: it said {out!r}")
        packed.replace(tarball)
    return tarball


def unpack_pyodide(tarball: Path, dest: Path) -> dict[str, Any]:
    """Copy Pyodide's core files out of the npm tarball; return its lock file."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        for name in PYODIDE_FILES:
            member = tar.extractfile(f"package/{name}")
            if member is None:
                raise BuildError(f"{tarball.name} has no package/{name}")
            (dest / name).write_bytes(member.read())
        lock_file = tar.extractfile(f"package/{LOCK}")
        if lock_file is None:
            raise BuildError(f"{tarball.name} has no package/{LOCK}")
        lock: dict[str, Any] = json.loads(lock_file.read())
    return lock


def pip_download(specs: list[str], python: str, dest: Path) -> None:
    """Download pure-Python wheels for the browser's Python from PyPI (no dependencies:
    the lock file names every one)."""
    if not specs:
        return
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            python,
            "--retries",
            "1",
            "--timeout",
            "30",
            "--dest",
            str(dest),
            *specs,
        ],
        f"downloading {len(specs)} wheels from PyPI ({', '.join(specs[:3])}, ...)",
    )


def wheel_name_version(wheel: Path) -> tuple[str, str]:
    """A wheel file's project name (canonical) and version, from its file name."""
    name, version = wheel.name.split("-")[:2]
    return canonical(name), version


def pypi_wheels(wanted: list[tuple[str, str]], python: str, folder: Path) -> dict[str, Path]:
    """The wheels of these (name, version) pairs, downloaded into ``folder`` unless an
    earlier build left them there; by canonical name."""

    def present() -> dict[tuple[str, str], Path]:
        return {wheel_name_version(w): w for w in sorted(folder.glob("*.whl"))}

    keys = [(canonical(n), v) for n, v in wanted]
    pip_download([f"{n}=={v}" for n, v in keys if (n, v) not in present()], python, folder)
    have = present()
    absent = [f"{n}=={v}" for n, v in keys if (n, v) not in have]
    if absent:
        raise BuildError(f"pip left no wheel for {', '.join(absent)} in {folder}")
    return {n: have[n, v] for n, v in keys}


def wheel_sources() -> list[Path]:
    """What luminous_edu's wheel is built from: the package and the project files
    setuptools reads (``setup.py``, and the data files ``pyproject.toml`` installs: the
    Jupyter server configuration and the playground notebook of ``luminous-edu app``)."""
    files = [REPO / name for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE")]
    files += [REPO / "notebooks" / "playground.ipynb"]
    files += sorted(
        p
        for folder in ("luminous_edu", "jupyter-config")
        for p in (REPO / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    return files


def source_digest(files: list[Path]) -> str:
    """A SHA-256 over these files' paths and contents."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.relative_to(REPO)}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def own_wheel(dest: Path) -> Path:
    """luminous_edu as a wheel, built by pip from a clean copy of this checkout's
    sources (setuptools' ``build/`` folder in the checkout could hold stale modules), or
    the one an earlier build made from the same sources."""
    sources = wheel_sources()
    digest = source_digest(sources)
    stamp = dest / "sources.sha256"
    wheels = sorted(dest.glob("luminous_edu-*.whl"))
    if len(wheels) == 1 and stamp.exists() and stamp.read_text() == digest:
        return wheels[0]
    for old in wheels:
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        for path in sources:
            copy = Path(tmp) / path.relative_to(REPO)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--wheel-dir",
                str(dest),
                tmp,
            ],
            "building luminous_edu's wheel",
        )
    wheels = sorted(dest.glob("luminous_edu-*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"pip wheel left {len(wheels)} luminous_edu wheels in {dest}")
    stamp.write_text(digest)
    return wheels[0]


def lab_extension(name: str, folders: Iterable[str]) -> Path:
    """Where the JupyterLab extension ``name`` is installed, in the first of ``folders``
    that holds it."""
    for root in folders:
        candidate = Path(root) / name
        if (candidate / "package.json").exists():
            return candidate
    raise BuildError(f"the JupyterLab extension {name} is in none of {list(folders)}")


def site_problems(out: Path) -> list[str]:
    """What is wrong with the built site in ``out``: its settings must load Pyodide and
    every package from the site itself, never fall back to PyPI, and show no news."""
    config_file = out / "jupyter-lite.json"
    if not config_file.exists():
        return [f"{config_file} is missing"]
    data = json.loads(config_file.read_text())["jupyter-config-data"]
    kernel = data.get("litePluginSettings", {}).get(KERNEL_PLUGIN, {})
    problems = []
    url = kernel.get("pyodideUrl", "")
    if not url.startswith("./"):
        problems.append(f"the kernel loads Pyodide from {url or 'its default CDN'}, not the site")
    elif not (out / url).is_file() or not (out / url).with_name(LOCK).is_file():
        problems.append(f"the site has no {url} or no {LOCK} beside it")
    if kernel.get("disablePyPIFallback") is not True:
        problems.append("the kernel may fall back to PyPI (disablePyPIFallback is not set)")
    news = data.get("settingsOverrides", {}).get("@jupyterlab/apputils-extension:notification")
    if not news or news.get("fetchNews") != "false":
        problems.append("JupyterLab's news is not turned off")
    return problems


# ---------------------------------------------------------------------------
# The build


@contextlib.contextmanager
def phase(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - start


def build(out: Path, cache: Path) -> dict[str, Any]:
    """Build the site into ``out``; return what went into it (versions, timings, size)."""
    timings: dict[str, float] = {}
    require_npm()  # before anything slow: say at once what is missing
    with phase(timings, "build tools"):
        tools = tools_python(cache)
    versions, tool_extensions = lite_versions(tools)
    for package in WIDGET_PACKAGES:
        versions[package] = importlib.metadata.version(package)
    work = cache / "lite"  # the JupyterLite project folder the build runs in
    pyodide_dir = work / "static" / "pyodide"
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    if pyodide_dir.exists():
        shutil.rmtree(pyodide_dir)

    with phase(timings, "pyodide from npm"):
        lock = unpack_pyodide(fetch_pyodide(versions["pyodide"], cache), pyodide_dir)
    packages = lock["packages"]
    keys = lock_closure(packages, KERNEL_PACKAGES)
    wanted = [(packages[k]["name"], packages[k]["version"]) for k in keys]
    wanted += [(p, versions[p]) for p in WIDGET_PACKAGES]
    with phase(timings, "wheels from PyPI"):
        found = pypi_wheels(wanted, versions["python"], wheels)
    with phase(timings, "luminous_edu wheel"):
        mine = own_wheel(cache / "own")
    from_lock = {k: found[canonical(k)] for k in keys}
    added = [found[canonical(p)] for p in WIDGET_PACKAGES] + [mine]
    new_lock, notes = site_lock(lock, from_lock, added)
    for wheel in [*from_lock.values(), *added]:
        shutil.copy2(wheel, pyodide_dir / wheel.name)
    (pyodide_dir / LOCK).write_text(json.dumps(new_lock, indent=1))

    config = json.loads((HERE / "jupyter_lite_config.json").read_text())
    from jupyter_core.paths import jupyter_path

    config["LiteBuildConfig"]["federated_extensions"] = [
        str(lab_extension(WIDGET_EXTENSION, jupyter_path("labextensions"))),
        str(lab_extension(KERNEL_EXTENSION, tool_extensions)),
    ]
    (work / "jupyter_lite_config.json").write_text(json.dumps(config, indent=1))
    shutil.copy2(HERE / "jupyter-lite.json", work / "jupyter-lite.json")
    if out.exists():
        shutil.rmtree(out)
    # A fresh output folder needs every task of the build: the record of an earlier
    # build would skip some (the ones that write the kernel's settings) as done.
    (work / DOIT_DB).unlink(missing_ok=True)
    with phase(timings, "jupyter lite build"):
        run(
            [
                str(tools),
                "-m",
                "jupyterlite_core",
                "build",
                "--lite-dir",
                str(work),
                "--contents",
                str(CONTENT),
                "--output-dir",
                str(out),
            ],
            "jupyter lite build",
            cwd=work,
        )
    problems = site_problems(out)
    if problems:
        raise BuildError("the site was built but is not right:\n- " + "\n- ".join(problems))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "versions": versions,
        "served": sorted(new_lock["packages"]),
        "notes": notes,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "size_bytes": size,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        report = build(args.out, args.cache)
    except MissingRequirement as error:
        print(f"build.py: cannot build here: {error}", file=sys.stderr)
        return 3
    except BuildError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 1
    versions = ", ".join(f"{k} {v}" for k, v in report["versions"].items())
    print(f"versions: {versions}")
    print(f"Pyodide serves: {', '.join(report['served'])}")
    for note in report["notes"]:
        print(f"  {note}")
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in report["timings_s"].items())
    print(f"built {args.out} in {time.perf_counter() - start:.1f} s ({phases})")
    print(f"size {report['size_bytes'] / 1e6:.1f} MB")
    print(f"try it: python -m http.server --bind 127.0.0.1 --directory {args.out} 8000")
    print("then open http://127.0.0.1:8000/lab/index.html?path=raft_in_your_browser.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
