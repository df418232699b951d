"""The README's generated configuration reference matches the schema in core/config/schema.py."""

from __future__ import annotations

import subprocess
import sys

from core.config import BackendConfig, EnvironmentConfig, field_reference
from tests.conftest import ROOT


def test_configuration_reference_is_up_to_date():
    result = subprocess.run([sys.executable, "tools/config_reference.py"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_key_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for cls in (BackendConfig, EnvironmentConfig):
        for key, *_ in field_reference(cls):
            assert f"| `{key}` |" in readme, key
