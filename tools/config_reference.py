#!/usr/bin/env python
"""Regenerate (``--write``) or verify (default) the README's configuration reference table,
which is generated from the schema in core/config/schema.py."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import reference_markdown  # noqa: E402

START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def render(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{reference_markdown()}{END}{tail}"


def main() -> int:
    path = ROOT / "README.md"
    current = path.read_text()
    wanted = render(current)
    if "--write" in sys.argv[1:]:
        path.write_text(wanted)
        return 0
    if current != wanted:
        print("README.md's configuration reference is out of date: run tools/config_reference.py --write",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
