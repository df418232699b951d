"""Run with the contract venv's Python: LiteLLM's own DATABASE_* -> URL assembly, then a login.

Prints JSON: for each assembly LiteLLM has, the URL's host/port/database and what the server
said (never the password). ``construct_database_url_from_env_vars`` is what the 1.108.x CLI
runs; ``DatabaseURLSettings`` is what the newest image's docker-entrypoint.sh runs before it.
"""

from __future__ import annotations

import json
import os
import urllib.parse

import psycopg
from litellm.proxy.db.db_url_settings import DatabaseURLSettings
from litellm.proxy.utils import construct_database_url_from_env_vars

password = os.environ.get("DATABASE_PASSWORD") or "\0"
results = {}
for name, url in (
    ("construct_database_url_from_env_vars", construct_database_url_from_env_vars()),
    ("DatabaseURLSettings", DatabaseURLSettings.from_env().build_writer_url()),
):
    entry: dict = {"assembled": url is not None}
    if url is not None:
        parsed = urllib.parse.urlsplit(url)
        entry["netloc_after_credentials"] = parsed.netloc.rpartition("@")[2]
        entry["path"] = parsed.path
        try:
            with psycopg.connect(url, connect_timeout=5) as connection:
                entry["connected_as"] = list(connection.execute(
                    "select current_user, current_database()").fetchone())
        except Exception as error:  # noqa: BLE001 - reported to the test
            message = f"{type(error).__name__}: {error}"
            for secret in (password, urllib.parse.quote_plus(password)):
                message = message.replace(secret, "***")
            entry["error"] = message
    results[name] = entry
print(json.dumps(results))
