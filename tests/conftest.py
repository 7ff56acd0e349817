"""Shared test set-up: the tests run as nobody in particular."""

from __future__ import annotations

import os

# A student id, course or course secret set in the developer's shell would change the
# lessons' seeds and the submissions' signatures under the tests.
for variable in ("LUMINOUS_EDU_STUDENT", "LUMINOUS_EDU_COURSE", "LUMINOUS_EDU_SECRET"):
    os.environ.pop(variable, None)
