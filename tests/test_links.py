"""``luminous-edu links`` (issue 17): nbgitpuller links to the lessons, against the
format nbgitpuller documents (``docs/topic/url-options.rst``, its link generator) and
its handlers (nbgitpuller 1.3): ``{hub}/hub/user-redirect/git-pull`` with ``repo``,
``urlpath`` and ``branch`` as query parameters, each value percent-encoded whole, and
``urlpath`` naming the folder nbgitpuller clones into (the URL's last part, ``.git``
kept). The hub test (``tests/browser/test_hub.py``) clicks such a link on a real hub."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from luminous_edu.__main__ import main
from luminous_edu.errors import LuminousError
from luminous_edu.exercises import links, seeds

ROOT = Path(__file__).resolve().parents[1]


def test_a_lesson_link_is_the_one_nbgitpullers_generator_makes() -> None:
    # What nbgitpuller's link generator gives for this hub, repository, branch and file
    # (JupyterLab): the documented form, byte for byte.
    assert links.nbgitpuller_link(
        "https://hub.example.edu",
        "https://github.com/ada/luminous_edu",
        "lab/tree/luminous_edu/notebooks/00_welcome.ipynb",
        branch="students",
    ) == (
        "https://hub.example.edu/hub/user-redirect/git-pull"
        "?repo=https%3A%2F%2Fgithub.com%2Fada%2Fluminous_edu"
        "&urlpath=lab%2Ftree%2Fluminous_edu%2Fnotebooks%2F00_welcome.ipynb"
        "&branch=students"
    )


def parsed(link: str) -> tuple[urllib.parse.SplitResult, list[tuple[str, str]]]:
    parts = urllib.parse.urlsplit(link)
    return parts, urllib.parse.parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)


def test_every_lesson_and_the_folder_get_a_link_that_decodes_to_what_was_asked() -> None:
    repo = "https://gitlab.example.edu/raft/lessons+2026.git"  # a '+', and .git
    found = links.lesson_links("https://example.edu/jupyter/", repo, branch="fall/2026")
    lessons = [links.LESSON_NOTEBOOKS[n] for n in sorted(seeds.REFERENCE_SEEDS)]
    assert [name for name, _ in found] == ["notebooks/", *lessons]
    for name, link in found:
        parts, query = parsed(link)
        assert (parts.scheme, parts.netloc) == ("https", "example.edu")
        assert parts.path == "/jupyter/hub/user-redirect/git-pull"  # under the hub's prefix
        assert [key for key, _ in query] == ["repo", "urlpath", "branch"]
        values = dict(query)
        assert values["repo"] == repo and values["branch"] == "fall/2026"
        # nbgitpuller keeps ".git" in the folder name, and the urlpath must name it
        folder = "lab/tree/lessons+2026.git/notebooks"
        assert values["urlpath"] == (folder if name.endswith("/") else f"{folder}/{name}")
        # each value is encoded whole: no raw '/', ':' or '+' (a space) in the query
        assert not any(c in parts.query for c in "/:+")
    # every link opens a notebook this repository has
    for _name, link in found[1:]:
        urlpath = dict(parsed(link)[1])["urlpath"]
        assert (ROOT / urlpath.removeprefix("lab/tree/lessons+2026.git/")).is_file(), urlpath


def test_without_a_branch_nbgitpuller_takes_the_repositorys_default() -> None:
    link = links.nbgitpuller_link("http://127.0.0.1:8000", "file:///srv/git/raft", "lab/tree/raft")
    assert [key for key, _ in parsed(link)[1]] == ["repo", "urlpath"]


@pytest.mark.parametrize(
    ("repo", "folder"),
    [
        ("https://github.com/ada/luminous_edu", "luminous_edu"),
        ("https://github.com/ada/luminous_edu/", "luminous_edu"),
        ("https://github.com/ada/luminous_edu.git", "luminous_edu.git"),
        ("git@github.com:ada/raft-course.git", "raft-course.git"),
        ("file:///srv/courses/raft", "raft"),
    ],
)
def test_the_folder_is_the_one_nbgitpuller_clones_into(repo: str, folder: str) -> None:
    assert links.clone_folder(repo) == folder
    urlpath = dict(parsed(links.lesson_links("https://h.example", repo)[0][1])[1])["urlpath"]
    assert urlpath == f"lab/tree/{folder}/notebooks"


def test_the_lessons_listed_are_the_notebooks_folders_lessons() -> None:
    on_disk = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(links.LESSON_NOTEBOOKS.values()) == on_disk
    assert sorted(links.LESSON_NOTEBOOKS) == sorted(seeds.REFERENCE_SEEDS)
    assert all(name.startswith(f"{n}_") for n, name in links.LESSON_NOTEBOOKS.items())


@pytest.mark.parametrize(
    ("hub", "repo", "branch", "words"),
    [
        ("hub.example.edu", "https://github.com/a/r", None, "--hub 'hub.example.edu': give"),
        ("https://hub.example.edu/hub/home", "https://github.com/a/r", None, "before /hub/"),
        ("https://hub.example.edu/user/ada/lab", "https://github.com/a/r", None, "/user/"),
        ("https://hub.example.edu/?next=x", "https://github.com/a/r", None, "without a query"),
        ("https://h.example", "github.com/a/r", None, "clone URL"),
        ("https://h.example", "https://github.com/a/r/tree/main", None, "--branch"),
        ("https://h.example", "https://gitlab.com/a/r/-/blob/main/x.ipynb", None, "page of"),
        ("https://h.example", "https://github.com/", None, "clone URL"),
        ("https://h.example", "https://github.com/a/r", " ", "--branch ' ': give a branch"),
    ],
)
def test_a_wrong_address_is_refused_with_what_to_give(
    hub: str, repo: str, branch: str | None, words: str
) -> None:
    with pytest.raises(LuminousError) as caught:
        links.lesson_links(hub, repo, branch)
    assert words in str(caught.value)


def test_the_command_prints_one_line_per_link_and_says_where_students_get_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["links", "--hub", "https://hub.example.edu/", "--repo", "https://github.com/ada/raft"]
    assert main([*args, "--branch", "students"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 1 + len(links.LESSON_NOTEBOOKS)
    name, link = lines[1].split()
    assert name == "00_welcome.ipynb"
    assert link == links.nbgitpuller_link(
        "https://hub.example.edu",
        "https://github.com/ada/raft",
        "lab/tree/raft/notebooks/00_welcome.ipynb",
        "students",
    )
    assert "~/raft/" in err and "notebooks/solutions/" in err
    assert main(["links", "--hub", "https://hub.example.edu/hub/", "--repo", "x"]) == 2
    assert "luminous-edu links: --hub" in capsys.readouterr().err
