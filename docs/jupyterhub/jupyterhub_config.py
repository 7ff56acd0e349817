"""JupyterHub configuration for a course taught with luminous_edu, on one machine.

Each student logs in with their Unix account (PAM) and gets a JupyterLab server of
their own, running as that account, from the Python environment the hub runs in, which
must also hold luminous_edu and nbgitpuller (README.md beside this file says how to set
it up). What it sets up:

- the lessons come with nbgitpuller: a student's server pulls the course repository
  into their home each time it starts, and ``luminous-edu links`` prints a link per
  lesson;
- each student's kernels know the course (``LUMINOUS_EDU_COURSE``) and, from
  JupyterHub itself, the student (``JUPYTERHUB_USER``), so every student gets runs of
  their own, the same at every visit;
- ``le.exercises.submission("lesson04.json")`` writes into the student's own folder of
  the course's submissions directory, which the instructors' group can read and no
  other student can, for ``luminous-edu grade``;
- servers idle for an hour are stopped by jupyterhub-idle-culler, a service the hub
  starts and stops itself.

The course's settings come from the hub's environment (defaults in brackets):
``LUMINOUS_EDU_COURSE`` [raft-2026], ``LUMINOUS_EDU_HUB_LESSONS_REPO`` (the git URL
students pull the lessons from; unset: no pull at start, links only),
``LUMINOUS_EDU_HUB_LESSONS_BRANCH`` [the repository's default branch],
``LUMINOUS_EDU_HUB_STUDENTS`` and ``LUMINOUS_EDU_HUB_INSTRUCTORS`` (the Unix groups of
the course's students and instructors) [raft-2026 / instructors],
``LUMINOUS_EDU_HUB_SUBMISSIONS`` [/srv/raft-2026/submissions] and
``LUMINOUS_EDU_HUB_IDLE_TIMEOUT`` [3600 seconds].

Start it as root in the folder where the hub keeps its database and cookie secret::

    cd /srv/jupyterhub && jupyterhub -f /path/to/jupyterhub_config.py

tests/browser/test_hub.py runs this file, with only the authenticator, the spawner and
the network addresses changed for a test on 127.0.0.1.
"""

import os
import sys
import urllib.parse
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub provides get_config to its config files)

COURSE = os.environ.get("LUMINOUS_EDU_COURSE", "raft-2026")
LESSONS_REPO = os.environ.get("LUMINOUS_EDU_HUB_LESSONS_REPO", "")
LESSONS_BRANCH = os.environ.get("LUMINOUS_EDU_HUB_LESSONS_BRANCH", "")
STUDENTS_GROUP = os.environ.get("LUMINOUS_EDU_HUB_STUDENTS", COURSE)
INSTRUCTORS_GROUP = os.environ.get("LUMINOUS_EDU_HUB_INSTRUCTORS", "instructors")
SUBMISSIONS = Path(os.environ.get("LUMINOUS_EDU_HUB_SUBMISSIONS", f"/srv/{COURSE}/submissions"))
IDLE_TIMEOUT_S = int(os.environ.get("LUMINOUS_EDU_HUB_IDLE_TIMEOUT", "3600"))

# ------------------------------------------------------------------- who logs in
# JupyterHub's default authenticator, PAM, checks Unix accounts. Students are the
# members of the course's group, instructors of theirs (they become the hub's admins).
# A university's single sign-on instead: an OAuthenticator, or LTI from the course's
# learning platform (ltiauthenticator), with their own allowed_users / admin_users.
c.PAMAuthenticator.allowed_groups = {STUDENTS_GROUP, INSTRUCTORS_GROUP}
c.PAMAuthenticator.admin_groups = {INSTRUCTORS_GROUP}

# ------------------------------------------------------- each student's server
# JupyterHub's default spawner starts each server as the student's Unix account, with
# JupyterLab, from this Python environment (jupyterhub-singleuser on PATH).
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    # The student id is the hub's user name (JUPYTERHUB_USER, which JupyterHub sets).
    # To key the runs on another id (a roster number), also set LUMINOUS_EDU_STUDENT
    # here, e.g. from the authenticator's auth_state in a function of the spawner.
    "LUMINOUS_EDU_COURSE": COURSE,
    # Where le.exercises.submission("lessonNN.json") writes (prepare_student makes it).
    "LUMINOUS_EDU_SUBMISSIONS": lambda spawner: str(SUBMISSIONS / spawner.user.name),
}

if LESSONS_REPO:
    # Every start of a student's server pulls the lessons (nbgitpuller clones them into
    # ~/<folder> the first time, and later merges the course's changes without touching
    # the student's), then opens the lessons' folder. nbgitpuller names the folder after
    # the URL's last part, as luminous_edu.exercises.links.clone_folder does.
    folder = LESSONS_REPO.rstrip("/").split("/")[-1]
    pull = [("repo", LESSONS_REPO), ("urlpath", f"lab/tree/{folder}/notebooks")]
    if LESSONS_BRANCH:
        pull.append(("branch", LESSONS_BRANCH))
    c.Spawner.default_url = "/git-pull?" + urllib.parse.urlencode(pull)


def prepare_student(spawner):
    """Before a server starts: the student's folder in the submissions directory.

    Where each server runs as its student's Unix account (the default spawner, with the
    hub running as root), the folder belongs to the student and the instructors' group
    (mode 2750: the student writes, instructors read, nobody else looks in), inside a
    directory only instructors can list. Where every server runs as one Unix user
    (SimpleLocalProcessSpawner, a container per student), the folder is only made:
    permissions cannot tell students apart there; give each a separate mount instead
    (config.yaml does this on Kubernetes)."""
    from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner

    folder = SUBMISSIONS / spawner.user.name
    folder.mkdir(parents=True, exist_ok=True)
    runs_as_the_student = isinstance(spawner, LocalProcessSpawner) and not isinstance(
        spawner, SimpleLocalProcessSpawner
    )
    if runs_as_the_student:
        import grp
        import pwd

        instructors = grp.getgrnam(INSTRUCTORS_GROUP).gr_gid
        os.chown(SUBMISSIONS, 0, instructors)
        os.chmod(SUBMISSIONS, 0o2751)  # students may pass through, instructors list
        os.chown(folder, pwd.getpwnam(spawner.user.name).pw_uid, instructors)
        os.chmod(folder, 0o2750)  # files made inside belong to the instructors' group


c.Spawner.pre_spawn_hook = prepare_student

# ------------------------------------------------------------------- idle servers
# jupyterhub-idle-culler, started and stopped by the hub, stops servers idle for
# IDLE_TIMEOUT_S (their files stay; the student's next visit starts a new server). It
# needs these permissions on the hub's API, and nothing more.
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={IDLE_TIMEOUT_S}"],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
