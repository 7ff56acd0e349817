"""nbgitpuller links: how a course on a JupyterHub hands the lessons to its students.

`nbgitpuller <https://nbgitpuller.readthedocs.io>`_, installed in the hub's single-user
environment, serves ``{server}/git-pull``. A student who clicks a link of this form::

    {hub}/hub/user-redirect/git-pull?repo={repo}&urlpath={urlpath}&branch={branch}

logs in if needed, and the hub sends them to their own server (``user-redirect``),
starting it first. nbgitpuller then clones the repository into a folder of their home,
or on a later click merges what changed without touching their edits, and opens
``urlpath``, a path under their server: ``lab/tree/{folder}/notebooks/00_welcome.ipynb``
opens lesson 00 in JupyterLab.

What this module follows, from nbgitpuller's documentation (``url-options``) and its
link generator, checked against nbgitpuller 1.3's handlers:

- The parameters are query parameters, each value percent-encoded whole, as a browser
  encodes a form (``/`` and ``:`` too), in the generator's order: ``repo``, ``urlpath``,
  then ``branch`` if one is given. Without ``branch``, nbgitpuller takes the
  repository's default branch.
- ``urlpath`` is relative to the student's server (no leading ``/``) and must name the
  folder the repository is cloned into, which nbgitpuller derives from the repository
  URL: its last ``/``-separated part, after removing trailing slashes, kept as it is
  (``https://github.com/ada/luminous_edu.git`` gives ``luminous_edu.git``).

nbgitpuller copies the whole repository (the branch given) into every student's home:
publish the lessons from a repository or branch without ``notebooks/solutions/``.
"""

from __future__ import annotations

import argparse
import re
import urllib.parse
from typing import TextIO

from ..errors import LuminousError

#: The folder of the repository that holds the lessons.
NOTEBOOKS_FOLDER = "notebooks"

#: Each lesson's notebook, by lesson number (the keys of ``seeds.REFERENCE_SEEDS``; a
#: test checks both against the notebooks folder).
LESSON_NOTEBOOKS = {
    "00": "00_welcome.ipynb",
    "01": "01_leader_election.ipynb",
    "02": "02_log_replication.ipynb",
    "03": "03_safety.ipynb",
    "04": "04_storage_handlers.ipynb",
    "05": "05_faults_and_partitions.ipynb",
    "06": "06_log_compaction.ipynb",
    "07": "07_membership_changes.ipynb",
    "08": "08_prevote_and_friends.ipynb",
    "09": "09_kv_store.ipynb",
    "10": "10_hunting_bugs.ipynb",
}

#: Where the hub sends a logged-in user to their own server's nbgitpuller.
GIT_PULL_PATH = "hub/user-redirect/git-pull"

# What git clones (nbgitpuller passes the URL to ``git clone``): a URL with one of these
# schemes, or the scp-like ``user@host:path``.
_SCHEMES = ("https", "http", "git", "ssh", "file")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:[^/\s].*$")
# A page of a repository on a forge, copied from the browser, is no clone URL.
_PAGE_OF_A_REPOSITORY = re.compile(r"/(?:-/)?(?:tree|blob)/")


def clone_folder(repo: str) -> str:
    """The folder nbgitpuller clones ``repo`` into, in the student's home: the last
    ``/``-separated part of the URL with trailing slashes removed, ``.git`` kept."""
    return repo.rstrip("/").split("/")[-1]


def nbgitpuller_link(hub: str, repo: str, urlpath: str, branch: str | None = None) -> str:
    """The link that pulls ``repo`` (``branch``, else its default branch) into the
    student's server on ``hub`` and then opens ``urlpath`` there."""
    hub, repo = check_hub(hub), check_repo(repo)
    query = [("repo", repo), ("urlpath", urlpath.lstrip("/"))]
    if branch is not None:
        query.append(("branch", check_branch(branch)))
    return f"{hub}/{GIT_PULL_PATH}?{urllib.parse.urlencode(query)}"


def lesson_links(hub: str, repo: str, branch: str | None = None) -> list[tuple[str, str]]:
    """``(name, link)`` for the lessons' folder (``notebooks/``), then for each lesson
    (its notebook's name), in JupyterLab."""
    hub = check_hub(hub)
    folder = f"{clone_folder(check_repo(repo))}/{NOTEBOOKS_FOLDER}"
    links = [(f"{NOTEBOOKS_FOLDER}/", nbgitpuller_link(hub, repo, f"lab/tree/{folder}", branch))]
    for _lesson, notebook in sorted(LESSON_NOTEBOOKS.items()):
        link = nbgitpuller_link(hub, repo, f"lab/tree/{folder}/{notebook}", branch)
        links.append((notebook, link))
    return links


def check_hub(hub: str) -> str:
    """The hub's address without a trailing slash, or ``LuminousError`` saying why not."""
    parts = urllib.parse.urlsplit(hub.strip() if isinstance(hub, str) else "")
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise LuminousError(
            f"--hub {hub!r}: give the hub's address as students open it, e.g. "
            "https://hub.example.edu (or https://example.edu/jupyter if it runs under a path)"
        )
    segments = parts.path.split("/")
    if parts.query or parts.fragment or "hub" in segments or "user" in segments:
        raise LuminousError(
            f"--hub {hub!r}: give the hub's address alone, the part before /hub/ or "
            "/user/, without a query: e.g. https://hub.example.edu"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def check_repo(repo: str) -> str:
    """``repo`` if git can clone it, or ``LuminousError`` saying what to give."""
    text = repo.strip() if isinstance(repo, str) else ""
    parts = urllib.parse.urlsplit(text)
    cloneable = (parts.scheme in _SCHEMES and clone_folder(parts.path)) or _SCP_LIKE.match(text)
    if not cloneable or any(c.isspace() for c in text) or parts.query or parts.fragment:
        raise LuminousError(
            f"--repo {repo!r}: give the git repository's clone URL, e.g. "
            "https://github.com/OWNER/luminous_edu"
        )
    if _PAGE_OF_A_REPOSITORY.search(parts.path):
        raise LuminousError(
            f"--repo {repo!r} is a page of the repository, not its clone URL: give the "
            "URL up to the repository's name, and the branch with --branch"
        )
    return text


def check_branch(branch: str) -> str:
    if not isinstance(branch, str) or not branch.strip() or any(c.isspace() for c in branch):
        raise LuminousError(f"--branch {branch!r}: give a branch (or tag) name, e.g. main")
    return branch


# ---------------------------------------------------------------- the command


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``luminous-edu links --hub URL --repo URL [--branch B]``."""
    parser = commands.add_parser(
        "links",
        help="nbgitpuller links to the lessons on a JupyterHub",
        description="Print the nbgitpuller link of the lessons' folder and of each lesson: "
        "a student who clicks one gets the repository's notebooks in their own server on "
        "the hub (cloned the first time, updated later without losing their edits) and "
        "the lesson open in JupyterLab. The hub's single-user environment needs "
        "nbgitpuller (docs/jupyterhub/).",
    )
    parser.add_argument(
        "--hub", required=True, help="the hub's address, e.g. https://hub.example.edu"
    )
    parser.add_argument(
        "--repo",
        required=True,
        help="the git repository the lessons are published in (its clone URL), e.g. "
        "https://github.com/OWNER/luminous_edu",
    )
    parser.add_argument(
        "--branch", default=None, help="the branch to pull (default: the repository's default)"
    )


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the links: one ``name link`` line each, the folder first."""
    links = lesson_links(args.hub, args.repo, args.branch)
    width = max(len(name) for name, _ in links)
    for name, link in links:
        out.write(f"{name.ljust(width)}  {link}\n")
    err.write(
        f"Each student gets the repository in ~/{clone_folder(args.repo.strip())}/ on their "
        "server. nbgitpuller copies the whole repository (or branch): publish the lessons "
        f"from one without {NOTEBOOKS_FOLDER}/solutions/.\n"
    )
    return 0
