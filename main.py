#!/usr/bin/env python
"""cdktf app: the ``bootstrap`` stack plus one stack per ``environments/<name>.toml``.

Configuration is validated before cdktf or a provider is imported, so a user mistake is reported
in well under a second and nothing is synthesized.
"""

from __future__ import annotations

import os
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
    BootstrapStack(app, backend=project.backend, environments=project.environments)
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
    problem = prepare_outdir(os.environ.get("CDKTF_OUTDIR"))
    if problem:
        print(f"Output directory error; nothing was synthesized: {problem}", file=sys.stderr)
        return 1
    build_app(project).synth()
    return 0


def prepare_outdir(outdir: str | None) -> str | None:
    """Create the output directory with its parents (`cdktf synth --output build/cdktf.out` in a
    fresh clone), which cdktf's App would refuse with a stack trace. Returns a problem, or None."""
    if not outdir:
        return None
    path = Path(outdir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"{outdir}: cannot create it ({error.strerror or error})"
    if not os.access(path, os.W_OK):
        return f"{outdir}: not writable"
    return None


if __name__ == "__main__":
    sys.exit(main())
