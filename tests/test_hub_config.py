"""The course's hub configuration (issue 17), ``docs/jupyterhub/``, without a hub:
what ``jupyterhub_config.py`` sets for the course's settings, what its pre-spawn hook
does to the submissions folder where each server runs as its student's Unix account
(the case the hub test, one Unix user for all, cannot reach), and that the Zero to
JupyterHub values in ``config.yaml`` say the same. ``tests/browser/test_hub.py`` runs
``jupyterhub_config.py`` on a real hub."""

from __future__ import annotations

import types
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml
from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner
from traitlets.config.loader import Config, PyFileConfigLoader

from luminous_edu.exercises import classroom, links, seeds

DOCS = Path(__file__).resolve().parents[1] / "docs" / "jupyterhub"
EXAMPLE_REPO = "https://github.com/OWNER/luminous_edu"


def course_config(monkeypatch: pytest.MonkeyPatch, **environment: str) -> Config:
    """jupyterhub_config.py as JupyterHub loads it, in a hub environment holding only
    ``environment`` among the course's settings."""
    for name in (
        "LUMINOUS_EDU_COURSE",
        "LUMINOUS_EDU_HUB_LESSONS_REPO",
        "LUMINOUS_EDU_HUB_LESSONS_BRANCH",
        "LUMINOUS_EDU_HUB_SUBMISSIONS",
        "LUMINOUS_EDU_HUB_IDLE_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return PyFileConfigLoader("jupyterhub_config.py", path=str(DOCS)).load_config()


def a_spawner(kind: type, name: str) -> Any:
    return kind(user=types.SimpleNamespace(name=name, admin=False))


def test_each_server_gets_the_course_and_its_students_submissions_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    c = course_config(
        monkeypatch, LUMINOUS_EDU_COURSE="raft-fall", LUMINOUS_EDU_HUB_SUBMISSIONS=str(tmp_path)
    )
    environment = c.Spawner.environment
    assert environment[seeds.COURSE_VARIABLE] == "raft-fall"
    folder = environment[classroom.SUBMISSIONS_VARIABLE](
        a_spawner(SimpleLocalProcessSpawner, "ada")
    )
    assert folder == str(tmp_path / "ada")
    # no student id is set: the kernels take JupyterHub's JUPYTERHUB_USER
    assert seeds.STUDENT_VARIABLE not in environment
    assert c.Spawner.default_url == "/lab"  # no lessons repository given: links only


def test_with_a_lessons_repository_every_start_pulls_the_lessons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = course_config(
        monkeypatch,
        LUMINOUS_EDU_HUB_LESSONS_REPO=EXAMPLE_REPO,
        LUMINOUS_EDU_HUB_LESSONS_BRANCH="students",
    )
    path, query = c.Spawner.default_url.split("?")
    assert path == "/git-pull"
    assert urllib.parse.parse_qsl(query) == [
        ("repo", EXAMPLE_REPO),
        ("urlpath", f"lab/tree/{links.clone_folder(EXAMPLE_REPO)}/notebooks"),
        ("branch", "students"),
    ]
    # the folder the links open is the one this pull makes
    (folder_link,) = [
        link
        for name, link in links.lesson_links("https://h.edu", EXAMPLE_REPO)
        if name == "notebooks/"
    ]
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(folder_link).query))["urlpath"] == (
        "lab/tree/luminous_edu/notebooks"
    )


def test_the_idle_culler_is_a_hub_managed_service_with_the_scopes_it_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = course_config(monkeypatch, LUMINOUS_EDU_HUB_IDLE_TIMEOUT="1800")
    (service,) = c.JupyterHub.services
    assert service["command"][1:] == ["-m", "jupyterhub_idle_culler", "--timeout=1800"]
    (role,) = c.JupyterHub.load_roles
    assert role["services"] == [service["name"]]
    # jupyterhub-idle-culler's README: what it needs to stop servers, and no more
    assert sorted(role["scopes"]) == sorted(
        ["list:users", "read:users:activity", "read:servers", "delete:servers"]
    )


def test_where_servers_run_as_their_students_the_folder_is_theirs_and_the_instructors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    c = course_config(monkeypatch, LUMINOUS_EDU_HUB_SUBMISSIONS=str(tmp_path / "sub"))
    hook = c.Spawner.pre_spawn_hook
    calls: list[tuple[str, Path, int, int | None]] = []
    monkeypatch.setattr("os.chown", lambda p, uid, gid: calls.append(("chown", Path(p), uid, gid)))
    monkeypatch.setattr("os.chmod", lambda p, mode: calls.append(("chmod", Path(p), mode, None)))
    monkeypatch.setattr("pwd.getpwnam", lambda name: types.SimpleNamespace(pw_uid=1234))
    monkeypatch.setattr("grp.getgrnam", lambda name: types.SimpleNamespace(gr_gid=4321))

    hook(a_spawner(LocalProcessSpawner, "ada"))  # JupyterHub's default: one account each
    assert (tmp_path / "sub" / "ada").is_dir()
    assert calls == [
        ("chown", tmp_path / "sub", 0, 4321),
        ("chmod", tmp_path / "sub", 0o2751, None),  # others pass through, cannot list
        ("chown", tmp_path / "sub" / "ada", 1234, 4321),
        ("chmod", tmp_path / "sub" / "ada", 0o2750, None),  # ada writes, instructors read
    ]
    calls.clear()
    hook(a_spawner(SimpleLocalProcessSpawner, "grace"))  # one Unix user for all
    assert (tmp_path / "sub" / "grace").is_dir() and calls == []


def test_the_kubernetes_values_say_what_jupyterhub_config_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = yaml.safe_load((DOCS / "config.yaml").read_text())
    local = course_config(
        monkeypatch,
        LUMINOUS_EDU_HUB_LESSONS_REPO=EXAMPLE_REPO,
        LUMINOUS_EDU_HUB_LESSONS_BRANCH="students",
    )
    single = values["singleuser"]
    assert single["defaultUrl"] == local.Spawner.default_url
    assert (
        single["extraEnv"][seeds.COURSE_VARIABLE]
        == local.Spawner.environment[seeds.COURSE_VARIABLE]
    )
    mount = single["storage"]["extraVolumeMounts"]["submissions"]
    assert single["extraEnv"][classroom.SUBMISSIONS_VARIABLE] == mount["mountPath"]
    assert mount["subPath"] == "{username}"  # a student's server sees its own folder only
    (init,) = single["initContainers"]
    assert init["volumeMounts"] == [{k: mount[k] for k in ("name", "mountPath", "subPath")}]
    (service,) = local.JupyterHub.services
    assert values["cull"]["enabled"] is True
    assert f"--timeout={values['cull']['timeout']}" in service["command"]
    assert single["image"]["name"].endswith("/luminous_edu")
