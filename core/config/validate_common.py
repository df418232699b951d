"""Checks shared by both files and by several validator modules."""

from __future__ import annotations

import re
from typing import Mapping

from core.config.parsing import _user_fields
from core.config.problems import _problem


# --------------------------------------------------------------------------------------------
# Semantic checks. Each returns nothing and appends messages; they only run on values that
# parsed with the right type.
# --------------------------------------------------------------------------------------------


# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_SG_ID_RE = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")


def _check_tags(tags: Mapping[str, str], source: str, problems: list[str], config_class: type) -> None:
    keys = {f.name for f in _user_fields(config_class)}
    for key, value in tags.items():
        if key in keys:
            # TOML has no way to end a table: every key written below a [tags] header (typically
            # one appended to the end of the file) lands in it and would silently become a tag.
            problems.append(_problem(source, f"tags.{key}", f"{key!r} is a configuration key, not a tag: in TOML every "
                                     "line after a [tags] header belongs to that table until the next [header]; "
                                     "move the key above [tags] (or write tags = { ... } on one line)"))
            continue
        if not key or len(key) > 128 or key.lower().startswith("aws:"):
            problems.append(_problem(source, f"tags.{key}", "tag keys are 1-128 chars and may not start with 'aws:'"))
        if len(value) > 256:
            problems.append(_problem(source, f"tags.{key}", "tag values are at most 256 chars"))


def _check_region(region: str, source: str, problems: list[str]) -> None:
    if not _REGION_RE.match(region):
        problems.append(_problem(source, "aws_region", f"{region!r} is not an AWS region name (e.g. 'eu-west-1')"))
