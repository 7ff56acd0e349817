"""Every lesson notebook, executed, stays small: at most 2 MB with its outputs.

A class downloads what it opens: 80 students on a lecture hall's Wi-Fi. The dashboard
no longer embeds BokehJS (``luminous_edu.viz.bokehjs``) and builds a tab's widgets only
when the tab is opened. Each notebook of ``notebooks/`` is executed here as
``jupyter nbconvert --execute`` would (nbclient, widget state stored in the notebook's
metadata, the larger way to save it), and its size is printed and checked. The
notebooks are copied first, so that nothing they write lands in the repository.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LIMIT_BYTES = 2_000_000


def test_every_executed_lesson_is_at_most_2_mb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(NOTEBOOKS, tmp_path / "notebooks", ignore=shutil.ignore_patterns(".ipynb_*"))
    paths = sorted((tmp_path / "notebooks").glob("*.ipynb"))
    assert len(paths) >= 10, paths
    sizes = {}
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(
            notebook,
            timeout=300,
            kernel_name="python3",
            store_widget_state=True,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
        sizes[path.name] = len(nbformat.writes(notebook).encode())
    table = "\n".join(f"  {name:32} {size / 1e6:5.2f} MB" for name, size in sizes.items())
    with capsys.disabled():
        print(f"\nexecuted lesson notebooks (limit {LIMIT_BYTES / 1e6:.0f} MB each):\n{table}")
    too_big = {name: size for name, size in sizes.items() if size > LIMIT_BYTES}
    assert not too_big, f"notebooks over {LIMIT_BYTES} bytes once executed:\n{table}"
