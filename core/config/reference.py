"""The README's configuration reference, rendered from the schema."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from core.config.parsing import _is_required, _type_name, _user_fields
from core.config.schema import BACKEND_FILE, ENVIRONMENTS_DIR, BackendConfig, EnvironmentConfig


def _toml_literal(value: Any) -> str:
    if value is None or value == "" or value == ():
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{}" if not value else str(value)
    return str(value)


def field_reference(cls: type) -> list[tuple[str, str, str, str]]:
    """(key, type, default, description) for the README's configuration reference."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in _user_fields(cls):
        if _is_required(f):
            default = "required"
        elif f.default_factory is not dataclasses.MISSING:
            default = _toml_literal(f.default_factory())
        else:
            default = _toml_literal(f.default)
        rows.append((f.name, _type_name(hints[f.name]), default, f.metadata.get("doc", "")))
    return rows


def reference_markdown() -> str:
    """The README's configuration reference, generated so it cannot drift from the schema."""
    out = []
    for title, cls in ((f"`{BACKEND_FILE}`", BackendConfig), (f"`{ENVIRONMENTS_DIR}/<name>.toml`", EnvironmentConfig)):
        out += [f"#### {title}", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for key, type_name, default, doc in field_reference(cls):
            cell = doc.replace('|', '/').replace('<', '\\<')
            out.append(f"| `{key}` | {type_name} | {default} | {cell} |")
        out.append("")
    return "\n".join(out)
