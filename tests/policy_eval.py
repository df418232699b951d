"""A small IAM policy evaluator over synthesized ``aws_iam_policy_document`` statements, for the
security tests (tests/test_iam_analysis.py, tests/test_ci_access.py).

It answers "is this request allowed by these identity statements under this boundary?" with IAM's
rules: an explicit Deny anywhere wins; otherwise the identity policy AND the boundary must both
allow. Matching follows IAM: actions case-insensitively with ``*``/``?``; resources with ``*``/``?``
across ``/`` and ``:``; IAM policy variables (written ``&{...}`` in the data source) resolved from
the request context; condition operators with IAM's absent-key rules (a negated operator is true
when its key is absent, ``...IfExists`` is true when absent, ``Null`` tests presence,
``ForAllValues`` is true on an absent key). Terraform references in resources and values are
resolved by the caller (``resolve_references``); an unresolved reference matches nothing.

Deliberately small: the operators our policies use, and an error for any other, so a new
operator cannot be silently misread."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

_VARIABLE = re.compile(r"&\{([^}]+)\}")
_REFERENCE = re.compile(r"\$\{((?:data\.)?[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}")
UNRESOLVED = "\x00unresolved\x00"


@dataclass
class Request:
    action: str
    resource: str
    context: dict[str, object] = field(default_factory=dict)


def _substitute(text: str, context: dict[str, object]) -> str:
    return _VARIABLE.sub(lambda m: str(context.get(m.group(1), UNRESOLVED)), text)


def _like(value: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _action_matches(action: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


_POSITIVE = {
    "StringEquals": lambda v, p: v == p,
    "StringLike": _like,
    "ArnEquals": lambda v, p: v == p,
    "ArnLike": _like,
    "Bool": lambda v, p: str(v).lower() == str(p).lower(),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike",
            "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


def condition_holds(test: str, variable: str, values: list[str], context: dict[str, object]) -> bool:
    qualifier = None
    if ":" in test:
        qualifier, test = test.split(":", 1)
    if_exists = test.endswith("IfExists")
    if if_exists:
        test = test[: -len("IfExists")]
    present = variable in context
    if test == "Null":
        return (not present) == (values[0] == "true")
    negated = test in _NEGATED
    operator = _POSITIVE.get(_NEGATED.get(test, test))
    if operator is None:
        raise ValueError(f"policy_eval: unsupported condition operator {test!r}")
    if not present:
        return if_exists or qualifier == "ForAllValues" or (negated and qualifier is None)
    raw = context[variable]
    request_values = list(raw) if isinstance(raw, (list, tuple, set)) else [raw]
    patterns = [_substitute(v, context) for v in values]

    def one(value) -> bool:
        return any(operator(str(value), p) for p in patterns) != negated

    if qualifier == "ForAllValues":
        return all(one(v) for v in request_values)
    return any(one(v) for v in request_values)


def statement_matches(statement: dict, request: Request) -> bool:
    actions, not_actions = statement.get("actions"), statement.get("not_actions")
    if actions is not None and not any(_action_matches(request.action, a) for a in actions):
        return False
    if not_actions is not None and any(_action_matches(request.action, a) for a in not_actions):
        return False
    resources, not_resources = statement.get("resources"), statement.get("not_resources")
    if resources is not None and not any(_like(request.resource, _substitute(r, request.context)) for r in resources):
        return False
    if not_resources is not None and any(_like(request.resource, _substitute(r, request.context)) for r in not_resources):
        return False
    return all(condition_holds(c["test"], c["variable"], c["values"], request.context)
               for c in statement.get("condition", []) or [])


def effect(statement: dict) -> str:
    return statement.get("effect", "Allow")


def decide(identity: Iterable[dict], boundary: Iterable[dict] | None, request: Request) -> str:
    """"allow", "deny" (explicit) or "implicit" (nothing allows it)."""
    identity, boundary = list(identity), None if boundary is None else list(boundary)
    everything = identity + (boundary or [])
    if any(effect(s) == "Deny" and statement_matches(s, request) for s in everything):
        return "deny"
    allowed = any(effect(s) == "Allow" and statement_matches(s, request) for s in identity)
    if boundary is not None:
        allowed = allowed and any(effect(s) == "Allow" and statement_matches(s, request) for s in boundary)
    return "allow" if allowed else "implicit"


def resolve_references(value, resolver: Callable[[str, str, str], str | None]):
    """Replace every ``${type.name.attribute}`` in strings (recursively) with ``resolver``'s
    answer, or with a value that matches nothing."""
    if isinstance(value, str):
        return _REFERENCE.sub(lambda m: resolver(*m.groups()) or UNRESOLVED, value)
    if isinstance(value, list):
        return [resolve_references(v, resolver) for v in value]
    if isinstance(value, dict):
        return {k: resolve_references(v, resolver) for k, v in value.items()}
    return value
