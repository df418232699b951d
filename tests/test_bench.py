"""tools/bench.py's many-environments project (the `make diff ENV=dev` with 20 files row)."""

from __future__ import annotations

import sys

from core.config import load_project
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import bench  # noqa: E402


def test_the_benchmark_project_has_twenty_valid_environments_and_the_shipped_ones(tmp_path):
    project = load_project(bench.project_with_environments(tmp_path / "p", bench.MANY_ENVIRONMENTS))
    names = [env.stack_name for env in project.environments]
    assert len(names) == bench.MANY_ENVIRONMENTS and {"dev", "prod"} <= set(names)
    assert len({env.environment for env in project.environments}) == len(names)


def test_the_goal_line_compares_twenty_files_with_two(capsys):
    rows = [("x, 2 environment files", (10.0, 1), None), (f"x, {bench.MANY_ENVIRONMENTS} environment files", (10.5, 1), None)]
    bench.print_one_stack_goal(rows)
    assert "10.50 s / 10.00 s = 1.05 -> meets" in capsys.readouterr().out
