"""Shared test set-up: the tests run as nobody in particular."""

from __future__ import annotations

import os

# A student id, course or course secret set in the developer's shell (or the user name
# of a JupyterHub the tests run on) would change the lessons' seeds, the submissions'
# signatures and where they are written under the tests.
for variable in (
    "LUMINOUS_EDU_STUDENT",
    "LUMINOUS_EDU_COURSE",
    "LUMINOUS_EDU_SECRET",
    "LUMINOUS_EDU_SUBMISSIONS",
    "JUPYTERHUB_USER",
    "BINDER_REPO_URL",
    "BINDER_LAUNCH_HOST",
):
    os.environ.pop(variable, None)
