"""Force a new deployment of the LiteLLM ECS service when one of its secrets gets a new value.

Packaged on its own as the Lambda's zip (handler ``handler.handler``, Python 3.12, boto3 from the
runtime), so it imports nothing from this repository. Invoked by the EventBridge rule of
``modules/rotation_redeploy.py`` with Secrets Manager's native ``Secret Label Updated`` event:

    {"source": "aws.secretsmanager", "detail-type": "Secret Label Updated",
     "resources": ["arn:aws:secretsmanager:...:secret:<name>-AbCdEf"],
     "detail": {"name": "<name>", "labelUpdated": "AWSCURRENT", "versionId": "<uuid>"}}

The event carries the secret's ARN and version id, never its value, and the function never reads
the secret (its role may not): nothing secret can reach the log. One JSON line per invocation.

Errors are logged and re-raised: EventBridge invokes the function asynchronously, so a raised error
makes Lambda retry the event (twice by default) instead of silently dropping the redeploy.
Configuration (``CLUSTER_NAME``, ``SERVICE_NAME``) is read on every invocation.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

SOURCE = "aws.secretsmanager"
DETAIL_TYPE = "Secret Label Updated"
CURRENT_LABEL = "AWSCURRENT"

# Three attempts of at most 5 + 10 s stay close to the 30 s function timeout; a timeout is an
# error, which Lambda retries like any other.
_BOTO_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=10)


class ConfigError(Exception):
    """The function's environment is incomplete (a deployment bug)."""


def log(decision: str, **fields: Any) -> None:
    """One JSON line per invocation. Callers pass ids only (ARNs, version and deployment ids)."""
    print(json.dumps({"decision": decision, **fields}, default=str, sort_keys=True), flush=True)


def make_client() -> Any:
    return boto3.client(
        "ecs",
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        config=_BOTO_CONFIG,
    )


def _setting(key: str) -> str:
    value = os.environ.get(key, "").strip()
    if not value:
        raise ConfigError(f"{key} is not set")
    return value


def current_version_change(event: Any) -> tuple[str, str | None] | None:
    """``(secret ARN, version id)`` when ``event`` says a secret's AWSCURRENT moved, else None.

    The rule already filters on exactly this; checking again keeps a hand-made invocation (or a
    rule edited in the console) from redeploying on something else.
    """
    if not isinstance(event, dict):
        return None
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
        return None
    detail = event.get("detail")
    if not isinstance(detail, dict) or detail.get("labelUpdated") != CURRENT_LABEL:
        return None
    resources = event.get("resources")
    if not isinstance(resources, list) or not resources or not isinstance(resources[0], str):
        return None
    version = detail.get("versionId")
    return resources[0], version if isinstance(version, str) else None


def _primary_deployment_id(response: dict[str, Any]) -> str | None:
    deployments = response.get("service", {}).get("deployments", [])
    for deployment in deployments:
        if deployment.get("status") == "PRIMARY":
            return deployment.get("id")
    return deployments[0].get("id") if deployments else None


def handler(event: Any, context: Any, ecs: Any = None) -> dict[str, Any]:
    change = current_version_change(event)
    if change is None:
        summary = {
            "source": event.get("source"), "detail_type": event.get("detail-type"),
        } if isinstance(event, dict) else {"type": type(event).__name__}
        log("ignored", **{k: str(v)[:200] for k, v in summary.items()})
        return {"status": "ignored"}
    secret_arn, version_id = change
    event_id = event.get("id")
    try:
        cluster, service = _setting("CLUSTER_NAME"), _setting("SERVICE_NAME")
        ecs = ecs or make_client()
        # Nothing but the flag: the same task definition and count, so the new tasks differ from
        # the old ones only in the secret values ECS resolves when it starts them.
        response = ecs.update_service(cluster=cluster, service=service, forceNewDeployment=True)
    except Exception as error:
        code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
        log("redeploy-failed", secret_id=secret_arn, version_id=version_id, event_id=event_id,
            error_type=type(error).__name__, error_code=code, error=str(error)[:500])
        raise
    deployment_id = _primary_deployment_id(response)
    log("redeployed", secret_id=secret_arn, version_id=version_id, event_id=event_id,
        cluster=cluster, service=service, deployment_id=deployment_id)
    return {"status": "redeployed", "deployment_id": deployment_id}
