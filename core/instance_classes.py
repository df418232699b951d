"""Which ElastiCache node types, RDS instance classes and bastion instance types a configuration
may name: ``<prefix>.<family>.<size>`` with a family and size AWS offers.

A bare shape check (``cache.<word>.<word>``) let ``cache.t9.huge`` or ``db.x9.giant`` through to a
failed ``terraform apply``; these tables catch the typo at config load, naming the file and key.
They list what can be created today; AWS adds families every year or so, and a new one is a line
here (the error names this file).

Sources (AWS documentation, consulted December 2026):

* ElastiCache: the ``CacheNode`` API reference ("The following node types are supported by
  ElastiCache", current generation only: previous-generation nodes can no longer be created) and
  "Supported node types" in the ElastiCache guide for the r6gd (data tiering) and c7gn (network
  optimized) families. Sizes are per family: ``cache.t4g.large`` does not exist.
* RDS: "DB instance class types" in the RDS user guide (general purpose, memory optimized,
  burstable; the Oracle-only ``.tpcN.memNx`` preconfigured classes are left out, as are the
  deprecated m1-m3, r3 and t1). Sizes vary too much per family and engine to tabulate; any
  documented size is accepted with any family.
"""

from __future__ import annotations

import re

_GRAVITON_SIZES = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
_BURSTABLE_CACHE_SIZES = ("micro", "small", "medium")

CACHE_NODE_SIZES: dict[str, tuple[str, ...]] = {
    # General purpose.
    "t2": _BURSTABLE_CACHE_SIZES,
    "t3": _BURSTABLE_CACHE_SIZES,
    "t4g": _BURSTABLE_CACHE_SIZES,
    "m4": ("large", "xlarge", "2xlarge", "4xlarge", "10xlarge"),
    "m5": ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"),
    "m6g": _GRAVITON_SIZES,
    "m7g": _GRAVITON_SIZES,
    # Memory optimized.
    "r4": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"),
    "r5": ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"),
    "r6g": _GRAVITON_SIZES,
    "r7g": _GRAVITON_SIZES,
    # Memory optimized with data tiering (SSD).
    "r6gd": ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"),
    # Network optimized.
    "c7gn": _GRAVITON_SIZES,
}

RDS_FAMILIES: tuple[str, ...] = (
    # General purpose.
    "m8g", "m8gd", "m7g", "m7i", "m6g", "m6gd", "m6i", "m6id", "m6in", "m5", "m5d", "m4",
    # Memory optimized.
    "r8g", "r8gd", "r7g", "r7i", "r6g", "r6gd", "r6i", "r6id", "r6in", "r5", "r5b", "r5d", "r4",
    "x2g", "x2idn", "x2iedn", "x2iezn", "x1", "x1e", "z1d",
    # Compute optimized (Multi-AZ DB clusters).
    "c6gd",
    # Burstable.
    "t4g", "t3", "t2",
)
RDS_SIZES: tuple[str, ...] = (
    "micro", "small", "medium", "large", "xlarge", "2xlarge", "3xlarge", "4xlarge", "6xlarge",
    "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge", "48xlarge",
    "metal", "metal-24xl", "metal-48xl",
)
# EC2 sizes, for the bastion (whose family only has to be Graviton: a ``g`` after the generation).
EC2_SIZES: tuple[str, ...] = (
    "nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "3xlarge", "4xlarge",
    "6xlarge", "8xlarge", "9xlarge", "10xlarge", "12xlarge", "16xlarge", "18xlarge", "24xlarge",
    "32xlarge", "48xlarge", "metal", "metal-16xl", "metal-24xl", "metal-32xl", "metal-48xl",
)

CACHE_NODE_EXAMPLES = "cache.t4g.micro, cache.t4g.small, cache.m7g.large, cache.r7g.xlarge"
RDS_EXAMPLES = "db.t4g.micro, db.t4g.medium, db.m7g.large, db.r7g.xlarge"
_WHERE = "(the known ones are in core/instance_classes.py)"

_SHAPE = re.compile(r"^(?P<prefix>[a-z]+)\.(?P<family>[a-z0-9]+)\.(?P<size>[a-z0-9-]+)$")
_GRAVITON_FAMILY = re.compile(r"^[a-z]+[0-9]+g[a-z]*$")


def cache_node_type_problem(node_type: str) -> str | None:
    """Why ``node_type`` is not an ElastiCache node type that can be created, or None."""
    match = _SHAPE.match(node_type)
    if not match or match["prefix"] != "cache":
        return f"{node_type!r} is not a cache node type (cache.<family>.<size>, e.g. {CACHE_NODE_EXAMPLES})"
    family, size = match["family"], match["size"]
    if family not in CACHE_NODE_SIZES:
        return (f"{node_type!r}: unknown node family {family!r}; known: {', '.join(CACHE_NODE_SIZES)} "
                f"{_WHERE} (e.g. {CACHE_NODE_EXAMPLES})")
    if size not in CACHE_NODE_SIZES[family]:
        return f"{node_type!r}: cache.{family} comes in {', '.join(CACHE_NODE_SIZES[family])}"
    return None


def rds_instance_class_problem(instance_class: str) -> str | None:
    """Why ``instance_class`` is not an RDS DB instance class, or None."""
    match = _SHAPE.match(instance_class)
    if not match or match["prefix"] != "db":
        return f"{instance_class!r} is not an RDS instance class (db.<family>.<size>, e.g. {RDS_EXAMPLES})"
    family, size = match["family"], match["size"]
    if family not in RDS_FAMILIES:
        return (f"{instance_class!r}: unknown instance class family {family!r}; known: "
                f"{', '.join(RDS_FAMILIES)} {_WHERE} (e.g. {RDS_EXAMPLES})")
    if size not in RDS_SIZES:
        return f"{instance_class!r}: unknown size {size!r}; sizes: {', '.join(RDS_SIZES)} (e.g. {RDS_EXAMPLES})"
    return None


def graviton_instance_type_problem(instance_type: str) -> str | None:
    """Why ``instance_type`` is not a Graviton (arm64) EC2 instance type, or None."""
    family, _, size = instance_type.partition(".")
    if not _GRAVITON_FAMILY.match(family) or not size:
        return f"{instance_type!r} is not a Graviton (arm64) instance type such as t4g.nano"
    if size not in EC2_SIZES:
        return f"{instance_type!r}: unknown size {size!r}; sizes: {', '.join(EC2_SIZES)} (e.g. t4g.nano, t4g.micro)"
    return None
