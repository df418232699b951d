#!/usr/bin/env python
"""cdktf app: the ``bootstrap`` stack plus one stack per ``environments/<name>.toml``.

Configuration is validated before cdktf or a provider is imported, so a user mistake is reported
in well under a second and nothing is synthesized.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.config import ConfigError, ProjectConfig, load_project

ROOT = Path(__file__).resolve().parent


def build_app(project: ProjectConfig, outdir: str | None = None):
    from core import provider_import

    provider_import.install()  # before anything imports a provider package

    from cdktf import App

    from bootstrap.backend_stack import BootstrapStack
    from stacks.environment_stack import EnvironmentStack

    app = App(outdir=outdir) if outdir else App()
    BootstrapStack(app, backend=project.backend)
    for env in project.environments:
        EnvironmentStack(app, env=env, backend=project.backend)
    return app


def main(root: Path = ROOT) -> int:
    try:
        project = load_project(root)
    except ConfigError as error:
        print(f"Configuration error ({len(error.problems)} problem(s)); nothing was synthesized:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    build_app(project).synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
