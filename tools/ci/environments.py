#!/usr/bin/env python3
"""The CI matrix, derived from environments/*.toml (so a new file is planned and deployed without
editing a workflow). Prints GitHub step outputs:

  standard=[{"env": "dev", "plan_role": ..., "deploy_role": ..., "plans": ...}, ...]
  production_like=[...]      environments whose plans run in the protected <env>-plan environment
  state_bucket=<name>

Stdlib only (core.config is), so it runs before `make install`. Exit 1 with the configuration
problems when the files are invalid."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.config import ConfigError, load_project  # noqa: E402


def matrix(root: Path = ROOT) -> dict[str, object]:
    project = load_project(root)
    backend = project.backend
    rows: dict[str, list[dict[str, str]]] = {"standard": [], "production_like": []}
    for env in project.environments:
        rows["production_like" if env.production_like else "standard"].append({
            "env": env.stack_name,
            # modules/ci_access.py names them so (tests/test_workflows.py holds them together);
            # it imports cdktf, which this script must not need.
            "plan_role": f"{backend.ci_role_name_prefix}-{env.stack_name}-plan",
            "deploy_role": f"{backend.ci_role_name_prefix}-{env.stack_name}-deploy",
            "plans": backend.state_key(env.stack_name).rsplit("/", 1)[0] + "/plans",
        })
    return {**rows, "state_bucket": backend.state_bucket_name}


def main() -> int:
    try:
        outputs = matrix()
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    for key, value in outputs.items():
        print(f"{key}={value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
