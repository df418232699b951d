"""Generic typed parsing: a TOML table becomes the keyword arguments of a schema dataclass."""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Mapping

from core.config.problems import _problem
from core.config.schema import SECRET_KEYS


# --------------------------------------------------------------------------------------------
# Generic typed parsing driven by the dataclass annotations.
# --------------------------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    if origin in (collections.abc.Mapping, dict):
        return "table of strings"
    return {str: "string", int: "integer", float: "number", bool: "boolean (true/false)"}.get(tp, str(tp))


def _coerce(value: Any, tp: Any) -> tuple[bool, Any]:
    """Return (ok, converted). No silent conversions except seed-compatible numeric strings."""
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        for arg in typing.get_args(tp):
            if arg is type(None):
                continue
            ok, converted = _coerce(value, arg)
            if ok:
                return True, converted
        return False, None
    if origin is tuple:
        (item_tp, _) = typing.get_args(tp)
        if not isinstance(value, list):
            return False, None
        items = []
        for item in value:
            ok, converted = _coerce(item, item_tp)
            if not ok:
                return False, None
            items.append(converted)
        return True, tuple(items)
    if origin in (collections.abc.Mapping, dict):
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            return False, None
        return True, types.MappingProxyType(dict(value))
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
        # The seed passes Fargate sizes as strings ("512"); accept digit strings.
        if isinstance(value, str) and value.isdigit():
            return True, int(value)
        return False, None
    if tp is str:
        return isinstance(value, str), value
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and abs(value) != float("inf"):
            return True, float(value)
        return False, None
    raise TypeError(f"unsupported config type {tp!r}")  # a bug in this module, not user input


def _user_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if not f.metadata.get("internal")]


def _is_required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _parse_table(cls: type, data: Mapping[str, Any], source: str, problems: list[str]) -> dict:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in _user_fields(cls)}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key in SECRET_KEYS:
            problems.append(_problem(source, key, f"secrets do not belong in configuration files: {SECRET_KEYS[key]}"))
            continue
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(_problem(source, key, f"unknown key{hint}"))
            continue
        ok, converted = _coerce(raw, hints[key])
        if not ok:
            problems.append(
                _problem(source, key, f"expected {_type_name(hints[key])}, got {raw!r}")
            )
            continue
        values[key] = converted
    for name, f in known.items():
        if _is_required(f) and name not in data:
            problems.append(_problem(source, name, "required key is missing"))
    return values


def _read_toml(path: Path, source: str, problems: list[str]) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(_problem(source, "(file)", f"cannot read: {exc.strerror}"))
        return None
    except UnicodeDecodeError:
        problems.append(_problem(source, "(file)", "not UTF-8 text"))
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(_problem(source, "(file)", f"invalid TOML: {exc}"))
        return None
