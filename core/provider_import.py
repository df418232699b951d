"""Make ``import cdktf_cdktf_provider_aws.<resource>`` cost only that resource.

Why: the generated provider packages' ``__init__.py`` ends with ``from . import <name>`` for
every one of their submodules (about 2,100 for AWS) "to ensure their types are registered with
the jsii runtime". Building those classes takes most of a synth's wall time and memory, while
an app uses a few dozen. Each submodule is self-contained (it imports only ``.._jsii``, cdktf and
constructs), so we run the package ``__init__`` up to that eager block and let Python import
submodules on demand. Output is byte-identical (CI synthesizes every stack both ways).

Safety: it is only applied when the installed package has exactly the expected shape (the
marker comment followed by nothing but ``from . import x`` lines); otherwise, or when
``LITELLM_STOCK_PROVIDER_IMPORT=1`` is set, the normal import runs. It never edits installed
files. Call :func:`install` before anything imports the provider packages.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import types

PACKAGES = ("cdktf_cdktf_provider_aws", "cdktf_cdktf_provider_random")
DISABLE_VARIABLE = "LITELLM_STOCK_PROVIDER_IMPORT"
EAGER_MARKER = "# Loading modules to ensure their types are registered with the jsii runtime library"
_EAGER_LINE = re.compile(r"^from \. import [A-Za-z_][A-Za-z0-9_]*$")


def _split_eager_block(source: str) -> str | None:
    """The ``__init__`` source without its eager-import block, or None if the shape differs."""
    head, marker, tail = source.partition(EAGER_MARKER)
    if not marker or EAGER_MARKER in tail:
        return None
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    if not lines or not all(_EAGER_LINE.match(line) for line in lines):
        return None
    return head


def _install_one(name: str) -> bool:
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or not spec.submodule_search_locations:
        return False
    with open(spec.origin, encoding="utf-8") as handle:
        head = _split_eager_block(handle.read())
    if head is None:
        return False
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        exec(compile(head, spec.origin, "exec"), module.__dict__)  # noqa: S102 - package's own code
    except BaseException:
        del sys.modules[name]
        raise
    return True


def disabled() -> bool:
    """Whether $LITELLM_STOCK_PROVIDER_IMPORT asks for the stock import (any value but "" or "0")."""
    return os.environ.get(DISABLE_VARIABLE, "") not in ("", "0")


def install() -> tuple[str, ...]:
    """Apply the lazy import to every provider package that has the expected shape.
    Returns the names it was applied to (empty when disabled or not applicable)."""
    if disabled():
        return ()
    return tuple(name for name in PACKAGES if _install_one(name))
