#!/usr/bin/env python
"""`make hcl`: every stack as plain Terraform (HCL) in ``hcl/<stack>/``, a folder a team can
commit and keep using with Terraform alone, without Python or cdktf (the exit route from a
framework HashiCorp has sunset).

This is what ``cdktf synth --hcl`` does, without the CLI: the CLI only sets SYNTH_HCL_OUTPUT for
the app (the conversion to HCL happens in the cdktf library) and formats the result. Here the
app runs directly, then ``terraform fmt`` formats. tests/test_hcl_exit_route.py validates
exactly this output with Terraform.

One repair on top: cdktf writes attributes its bindings type loosely (the WAF rules' nested
``statement`` blocks) as HCL object arguments under a warning comment, which Terraform rejects
("An argument named "statement" is not expected here"). :func:`untyped_attributes_as_blocks`
rewrites each such argument in block syntax; ``cdktf synth --hcl`` alone leaves them broken.

Per stack only ``main.tf`` and ``assets/`` (the Lambda packages it references) are rewritten;
anything else you keep in the folder (your own .tf files, terraform.tfvars) stays.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = ROOT / "hcl"
STACK_FILE = "main.tf"
# The bootstrap stack keeps its state in a local file next to its code (bootstrap/backend_stack.py
# writes the path relative to cdktf.out/stacks/bootstrap/); the exported copy must point at the
# same file from its own folder.
BOOTSTRAP_STATE = ROOT / "bootstrap" / "terraform.tfstate"
SYNTHESIZED_BOOTSTRAP_STATE_PATH = '"../../../bootstrap/terraform.tfstate"'


class ExportError(Exception):
    pass


# The first line of the comment cdktf puts above an attribute it could only write untyped.
UNTYPED_WARNING = "# Warning: The following attribute is of an unexpected type."
_OBJECT_OPEN = re.compile(r"^(\w+) = \{$")
_LIST_OPEN = re.compile(r"^(\w+) = \[$")


def untyped_attributes_as_blocks(text: str) -> str:
    """Rewrite every ``name = { ... }`` argument that follows cdktf's untyped-attribute warning as
    nested blocks: an object becomes ``name { ... }``, a list of objects repeated ``name { ... }``
    blocks; scalars and lists of scalars stay arguments. (In these provider schemas every object
    under such an attribute is a block.)"""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        if not lines[index].strip().startswith(UNTYPED_WARNING):
            out.append(lines[index])
            index += 1
            continue
        while index < len(lines) and (lines[index].strip().startswith("#") or not lines[index].strip()):
            index += 1
        if index == len(lines) or not _OBJECT_OPEN.match(lines[index].strip()):
            raise ExportError(f"hcl export: expected `name = {{` after cdktf's untyped-attribute warning, "
                              f"found {lines[index].strip() if index < len(lines) else 'the end'!r}")
        index = _rewrite_object(lines, index, out)
    return "\n".join(out)


def _rewrite_object(lines: list[str], index: int, out: list[str]) -> int:
    """``lines[index]`` opens an object; writes it as blocks; returns the index after it."""
    # Each open bracket: ("block", None) for an object written as a block, ("blocks", name) for a
    # list of objects, ("list", None) for a list of scalars kept as an argument.
    open_: list[tuple[str, str | None]] = []
    while True:
        line = lines[index].strip()
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if match := _OBJECT_OPEN.match(line):
            out.append(f"{match[1]} {{")
            open_.append(("block", None))
        elif (match := _LIST_OPEN.match(line)) and following == "{":
            open_.append(("blocks", match[1]))
        elif match:
            out.append(line)
            open_.append(("list", None))
        elif line == "{" and open_ and open_[-1][0] == "blocks":
            out.append(f"{open_[-1][1]} {{")
            open_.append(("block", None))
        elif line in ("}", "},"):
            if not open_ or open_.pop()[0] != "block":
                raise ExportError(f"hcl export: unbalanced braces in an untyped attribute near line {index + 1}")
            out.append("}")
        elif line in ("]", "],"):
            if not open_ or open_[-1][0] not in ("blocks", "list"):
                raise ExportError(f"hcl export: unbalanced brackets in an untyped attribute near line {index + 1}")
            if open_.pop()[0] == "list":
                out.append("]")
        else:
            out.append(line)
        index += 1
        if not open_:
            return index


def synthesize_hcl(outdir: Path, python: str = sys.executable, env: dict[str, str] | None = None) -> None:
    """The app with SYNTH_HCL_OUTPUT, as `cdktf synth --hcl` runs it: HCL into outdir/stacks/."""
    full_env = dict(os.environ if env is None else env, SYNTH_HCL_OUTPUT="true", CDKTF_OUTDIR=str(outdir))
    full_env.pop("LITELLM_STACKS", None)  # every stack
    result = subprocess.run([python, "main.py"], cwd=ROOT, env=full_env, capture_output=True, text=True)
    if result.returncode != 0:
        raise ExportError(result.stderr.strip() or result.stdout.strip() or f"main.py exited {result.returncode}")


def write_stack(synthesized: Path, target: Path) -> None:
    text = untyped_attributes_as_blocks((synthesized / "cdk.tf").read_text())
    if synthesized.name == "bootstrap":
        if SYNTHESIZED_BOOTSTRAP_STATE_PATH not in text:
            raise ExportError("bootstrap: its local state path changed; update tools/hcl_export.py")
        relative = os.path.relpath(BOOTSTRAP_STATE, target)
        text = text.replace(SYNTHESIZED_BOOTSTRAP_STATE_PATH, f'"{relative}"')
    target.mkdir(parents=True, exist_ok=True)
    (target / STACK_FILE).write_text(text)
    shutil.rmtree(target / "assets", ignore_errors=True)
    if (synthesized / "assets").is_dir():
        shutil.copytree(synthesized / "assets", target / "assets")


def terraform_fmt(dest: Path, terraform: str | None) -> bool:
    if not terraform:
        return False
    subprocess.run([terraform, "fmt", "-recursive", "-list=false", str(dest)], check=True,
                   capture_output=True, text=True)
    return True


def export(dest: Path = DEFAULT_DEST, *, env: dict[str, str] | None = None,
           terraform: str | None = shutil.which("terraform")) -> list[str]:
    """Write hcl/<stack>/main.tf for every stack; returns the stack names."""
    with tempfile.TemporaryDirectory(prefix="hcl-export-") as tmp:
        synthesize_hcl(Path(tmp), env=env)
        stacks = sorted(path for path in (Path(tmp) / "stacks").iterdir() if (path / "cdk.tf").is_file())
        for synthesized in stacks:
            write_stack(synthesized, dest / synthesized.name)
    terraform_fmt(dest, terraform)
    return [path.name for path in stacks]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_DEST, help="folder (default: hcl/)")
    args = parser.parse_args()
    try:
        stacks = export(args.output.resolve())
    except ExportError as error:
        print(error, file=sys.stderr)
        return 1
    shown = os.path.relpath(args.output.resolve(), Path.cwd())
    for name in stacks:
        print(f"{shown}/{name}/{STACK_FILE}")
    if not shutil.which("terraform"):
        print("terraform not on PATH: the files are valid but not formatted (run terraform fmt -recursive)",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
