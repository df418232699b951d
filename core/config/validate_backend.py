"""Rules of ``backend.toml``: state bucket, lock table, and the GitHub CI settings."""

from __future__ import annotations

import re

from core.config.problems import _problem
from core.config.schema import BackendConfig
from core.config.validate_common import _check_region, _check_tags


STATE_LOCKING_MODES = ("dynamodb", "lockfile")


_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_TABLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def validate_backend(values: dict, source: str, problems: list[str]) -> None:
    if "aws_region" in values:
        _check_region(values["aws_region"], source, problems)
    bucket = values.get("state_bucket_name")
    if bucket is not None and (
        not _BUCKET_RE.match(bucket) or ".." in bucket or bucket.startswith("xn--")
        or re.match(r"^\d+\.\d+\.\d+\.\d+$", bucket)
    ):
        problems.append(_problem(source, "state_bucket_name", f"{bucket!r} is not a valid S3 bucket name (3-63 lowercase letters, digits, '-' or '.')"))
    table = values.get("lock_table_name")
    if table is not None and not _TABLE_RE.match(table):
        problems.append(_problem(source, "lock_table_name", f"{table!r} is not a valid DynamoDB table name"))
    locking = values.get("state_locking")
    if locking is not None and locking not in STATE_LOCKING_MODES:
        problems.append(_problem(source, "state_locking", f"{locking!r} is not one of {', '.join(STATE_LOCKING_MODES)}"))
    prefix = values.get("state_key_prefix")
    if prefix is not None and not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", prefix):
        problems.append(_problem(source, "state_key_prefix", f"{prefix!r} must be letters, digits, '-', '_' or '.'"))
    repo = values.get("github_repository")
    if repo is not None and not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", repo):
        problems.append(_problem(source, "github_repository", f"{repo!r} is not owner/name"))
    branch = values.get("github_deploy_branch")
    if branch is not None and (not branch or any(c in branch for c in " *?[~^:\\")):
        problems.append(_problem(source, "github_deploy_branch", f"{branch!r} is not a branch name (no wildcards)"))
    for principal in values.get("state_admin_principal_arns", ()):
        if not re.match(r"^arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$", principal):
            problems.append(_problem(source, "state_admin_principal_arns", f"{principal!r} is not an IAM role or user ARN"))
    oidc = values.get("github_oidc_provider_arn")
    if oidc is not None and not re.match(r"^arn:aws(-[a-z]+)*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$", oidc):
        problems.append(_problem(source, "github_oidc_provider_arn", f"{oidc!r} is not the GitHub OIDC provider ARN"))
    role_prefix = values.get("ci_role_name_prefix")
    if role_prefix is not None and not re.match(r"^[A-Za-z0-9+=,.@_-]{1,40}$", role_prefix):
        problems.append(_problem(source, "ci_role_name_prefix", f"{role_prefix!r} is not a valid IAM name prefix (max 40)"))
    days = values.get("noncurrent_version_expiration_days")
    if days is not None and days < 1:
        problems.append(_problem(source, "noncurrent_version_expiration_days", "must be at least 1"))
    _check_tags(values.get("tags", {}), source, problems, BackendConfig)
