#!/usr/bin/env python
"""cdktf app: the ``bootstrap`` stack plus one stack per ``environments/<name>.toml``.

Configuration is validated before cdktf or a provider is imported, so a user mistake is reported
in well under a second and nothing is synthesized.

``LITELLM_STACKS=dev`` (comma-separated) synthesizes only those stacks: a diff, deploy or destroy
of one environment then costs the same with 2 or 20 environment files (the Makefile sets it).
``main.py --preflight <action> <stack>`` checks what the Makefile's diff/deploy/destroy need before
the cdktf CLI starts (a valid stack name, no placeholder bucket); it imports no cdktf.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from pathlib import Path

from core.config import BACKEND_FILE, ENVIRONMENTS_DIR, ConfigError, ProjectConfig, load_project

ROOT = Path(__file__).resolve().parent
STACKS_VARIABLE = "LITELLM_STACKS"
BOOTSTRAP = "bootstrap"
# What the shipped backend.toml holds until the user picks a bucket name of their own.
PLACEHOLDER_BUCKET_PREFIX = "change-me"
PLACEHOLDER_ACCOUNT = "000000000000"
PLACEHOLDER_ALARM_EMAIL = re.compile(r'(?m)^alarm_email\s*=\s*".*@example\.com"')
# Actions that talk to the state backend (the placeholder bucket cannot be theirs).
BACKEND_ACTIONS = ("diff", "deploy", "destroy")

# The same quiet, offline behaviour whether cdktf runs the app through `make` or straight from a
# shell (`npx cdktf diff dev`): the jsii runtime (a Node child of this process) otherwise prints a
# DEP0044 deprecation error on Node 22 and, on an older system Node, an end-of-life banner that
# reaches the user as Python b'!!...' lines. The heap size is the cdktf CLI's own default, which
# it stops applying once NODE_OPTIONS is set.
_QUIET_NODE_OPTIONS = ("--max-old-space-size=4096", "--disable-warning=DEP0044")
# jsii names the Node majors whose end-of-life banner is silenced; 20 runs this app correctly
# (the whole suite passes on it) but is past jsii's support date.
_SILENCED_END_OF_LIFE_NODE = "20"


def quiet_node_environment(environ=os.environ, root: Path = ROOT) -> None:
    # The repo's pinned Node (npm package "node", Makefile: `make install`) first, as the Makefile
    # does, so jsii runs on a supported runtime when main.py is started by hand or by npx.
    pinned = root / "node_modules" / ".bin"
    path = environ.get("PATH", "")
    if (pinned / "node").exists() and not path.startswith(str(pinned)):
        environ["PATH"] = f"{pinned}{os.pathsep}{path}"
    options = environ.get("NODE_OPTIONS", "").split()
    for option in _QUIET_NODE_OPTIONS:
        flag = option.split("=")[0]
        if option not in options and not (flag == "--max-old-space-size" and any(o.startswith(flag) for o in options)):
            options.append(option)
    environ["NODE_OPTIONS"] = " ".join(options)
    environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", _SILENCED_END_OF_LIFE_NODE)


def build_app(project: ProjectConfig, outdir: str | None = None, only: frozenset[str] | None = None):
    """``only``: the stack names to build (None: all)."""
    from core import provider_import

    provider_import.install()  # before anything imports a provider package

    from cdktf import App

    from bootstrap.backend_stack import BootstrapStack
    from stacks.environment_stack import EnvironmentStack

    app = App(outdir=outdir) if outdir else App()
    if only is None or BOOTSTRAP in only:
        BootstrapStack(app, backend=project.backend, environments=project.environments)
    for env in project.environments:
        if only is None or env.stack_name in only:
            EnvironmentStack(app, env=env, backend=project.backend)
    return app


def stack_names(project: ProjectConfig) -> list[str]:
    return [BOOTSTRAP, *(env.stack_name for env in project.environments)]


def unknown_stack(project: ProjectConfig, name: str) -> str | None:
    """A message for a stack name that is not in the project (None when it is)."""
    names = stack_names(project)
    if name in names:
        return None
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (f"{name!r} is not a stack of this project{hint}; valid: {', '.join(names)} "
            f"({BOOTSTRAP} plus one per {ENVIRONMENTS_DIR}/<name>.toml)")


def selected_stacks(project: ProjectConfig, value: str | None) -> tuple[frozenset[str] | None, list[str]]:
    """Parse LITELLM_STACKS: (names or None for all, problems)."""
    if not value or not value.strip():
        return None, []
    names = [name.strip() for name in value.split(",") if name.strip()]
    problems = [f"{STACKS_VARIABLE}: {message}" for name in names if (message := unknown_stack(project, name))]
    return frozenset(names), problems


def preflight(project: ProjectConfig, action: str, stack: str, root: Path = ROOT) -> list[str]:
    """What must hold before `make <action> ENV=<stack>` starts the cdktf CLI (which would
    synthesize for seconds and then fail, or deploy into a bucket the user does not own)."""
    problems = []
    message = unknown_stack(project, stack)
    if message:
        return [f"ENV={stack}: {message}"]
    bucket = project.backend.state_bucket_name
    if action in BACKEND_ACTIONS and bucket.startswith(PLACEHOLDER_BUCKET_PREFIX):
        problems.append(f"{BACKEND_FILE}: state_bucket_name: {bucket!r} is the shipped placeholder; set a globally "
                        f"unique bucket name of your own before `make {action}` (then `make deploy-bootstrap` creates it)")
    if action == "deploy" and stack != BOOTSTRAP:
        env_file = f"{ENVIRONMENTS_DIR}/{stack}.toml"
        if PLACEHOLDER_ACCOUNT in (root / env_file).read_text():
            problems.append(f"{env_file}: still holds an all-zero placeholder (account id / certificate ARN / "
                            "image digest): replace it before deploying")
        if PLACEHOLDER_ALARM_EMAIL.search((root / env_file).read_text()):
            problems.append(f"{env_file}: alarm_email: still the example.com placeholder; set the address that "
                            "should receive alarms before deploying")
    return problems


def report_config_error(error: ConfigError) -> None:
    print(f"Configuration error ({len(error.problems)} problem(s)); nothing was synthesized:", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)


def run_preflight(argv: list[str], root: Path = ROOT) -> int:
    if not (argv == ["synth"] or (len(argv) == 2 and argv[0] in BACKEND_ACTIONS)):
        print(f"usage: main.py --preflight synth | main.py --preflight {'|'.join(BACKEND_ACTIONS)} <stack>",
              file=sys.stderr)
        return 2
    try:
        project = load_project(root)
    except ConfigError as error:
        report_config_error(error)
        return 1
    problems = preflight(project, argv[0], argv[1], root) if len(argv) == 2 else []
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def main(root: Path = ROOT) -> int:
    try:
        project = load_project(root)
    except ConfigError as error:
        report_config_error(error)
        return 1
    only, problems = selected_stacks(project, os.environ.get(STACKS_VARIABLE))
    if problems:
        print("Stack selection error; nothing was synthesized:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    problem = prepare_outdir(os.environ.get("CDKTF_OUTDIR"))
    if problem:
        print(f"Output directory error; nothing was synthesized: {problem}", file=sys.stderr)
        return 1
    quiet_node_environment()
    build_app(project, only=only).synth()
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
    if sys.argv[1:2] == ["--preflight"]:
        sys.exit(run_preflight(sys.argv[2:]))
    sys.exit(main())
