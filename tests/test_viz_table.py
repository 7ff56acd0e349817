"""le.TableView: the cluster as a table with Step, Back and Run, ipywidgets only (for
JupyterLite, where bokeh cannot go). Headless: the widgets' values, the buttons clicked
from Python."""

from __future__ import annotations

import re

import pytest

import luminous_edu as le
from luminous_edu.viz.table import TableView, servers_html


def rows(view: TableView) -> dict[int, dict[str, str]]:
    """Each server's row attributes, by server id."""
    found = {}
    for attrs in re.findall(r"<tr (data-server[^>]*)>", view.table.value):
        row = dict(re.findall(r"data-([a-z-]+)='([^']*)'", attrs))
        found[int(row["server"])] = row
    return found


def header_indexes(html: str) -> list[int]:
    header = html.split("<br>", 1)[1].split("</th>", 1)[0]
    return [int(i) for i in re.findall(r">(\d+)</span>", header)]


def elected(seed: int = 7) -> le.Cluster:
    cluster = le.Cluster(servers=5, seed=seed)
    assert cluster.run_until(lambda c: c.leader is not None, 2000)
    return cluster


def test_a_row_per_server_with_role_term_vote_and_commit() -> None:
    cluster = elected()
    cluster.propose("x=1")
    cluster.run(100)
    view = TableView(cluster)
    shown = rows(view)
    assert sorted(shown) == [1, 2, 3, 4, 5]
    for sid, row in shown.items():
        server = cluster.servers[sid]
        assert row["role"] == server.role.value
        assert row["term"] == str(server.current_term)
        assert row["commit"] == str(server.commit_index)
        assert row["last-index"] == str(server.log[-1].index)
    assert shown[cluster.leader]["role"] == "leader"
    assert f"step {cluster.step_count}" in view.status.value
    assert f"t={cluster.now} ms" in view.status.value
    assert f"leader S{cluster.leader}" in view.status.value
    assert "x=1" in view.table.value  # in the entry's tooltip


def test_step_back_and_run_drive_the_cluster_and_redraw() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    view = TableView(cluster)
    assert view.back_button.disabled  # nothing to go back to at step 0
    view.step_button.click()
    assert cluster.step_count == 1 and "step 1 " in view.status.value
    assert cluster.trace.text(last=1) in view.narration.value.replace("&#x27;", "'")
    assert not view.back_button.disabled
    view.back_button.click()
    assert cluster.step_count == 0 and "step 0 " in view.status.value
    view.run_button.click()
    assert cluster.now >= 100 and f"t={cluster.now} ms" in view.status.value


def test_a_crashed_server_is_down_and_refresh_follows_code() -> None:
    cluster = elected()
    view = TableView(cluster)
    old = cluster.leader
    assert old is not None
    cluster.crash(old)
    assert rows(view)[old]["role"] == "leader"  # not redrawn yet
    view.refresh()
    assert rows(view)[old]["role"] == "down"
    assert "no leader" in view.status.value


def test_a_control_that_cannot_act_says_so_in_the_view() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    view = TableView(cluster)
    view.on_back()
    assert view.last_notice == "Already at step 0."
    for sid in cluster.servers:
        cluster.crash(sid)
    view.step_button.click()  # only the crashes' inputs are recorded: nothing scheduled
    assert "Nothing is scheduled" in view.last_notice
    view.refresh()
    assert all(row["role"] == "down" for row in rows(view).values())


def test_logs_line_up_by_index_and_show_only_the_newest_columns() -> None:
    cluster = elected()
    for i in range(30):
        cluster.propose(i)
        cluster.run(20)
    cluster.run(200)
    last = cluster.servers[cluster.leader].log[-1].index
    html = servers_html(cluster, log_columns=10)
    assert header_indexes(html) == list(range(last - 9, last + 1))
    view = TableView(cluster, log_columns=10)
    # Every server holds the whole log: ten cells each, after the "…" of older ones.
    logs = re.findall(r"<tr data-server.*?… (.*?)</td></tr>", view.table.value)
    assert len(logs) == 5
    assert all(len(re.findall(r"<span ", cells)) == 10 for cells in logs)


def test_compacted_indexes_are_drawn_as_snapshot_cells() -> None:
    cluster = le.Cluster(servers=3, seed=1, snapshot_threshold=4)
    assert cluster.run_until(lambda c: c.leader is not None, 2000)
    for i in range(8):
        cluster.propose(i)
        cluster.run(30)
    server = cluster.servers[1]
    assert server.snapshot_index > 0
    html = servers_html(cluster, log_columns=40)
    assert header_indexes(html)[0] == 1
    assert "in a snapshot" in html


def test_bad_options_are_refused_with_what_was_wrong() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    with pytest.raises(le.LuminousError, match="run_ms must be a whole number >= 1"):
        TableView(cluster, run_ms=0)
    with pytest.raises(le.LuminousError, match="narration_lines"):
        TableView(cluster, narration_lines=-1)
    with pytest.raises(TypeError, match=r"needs a le\.Cluster"):
        TableView("cluster")  # type: ignore[arg-type]


def test_le_table_view_is_the_same_class() -> None:
    assert le.TableView is TableView
