"""moto_server with this project's patches (tools/deploy_local/moto_patches.py) applied first.

    python -m tools.deploy_local.moto_server --port 5000   # always binds 127.0.0.1

Started by the deploy-local driver; runs until killed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    # AWS managed policies (AmazonSSMManagedInstanceCore, ...) exist only when loaded at start.
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

    from tools.deploy_local import moto_patches

    for patch in moto_patches.apply_all():
        print(f"moto patch: {patch.name}", flush=True)
    from moto.server import main as moto_main

    moto_main(["-H", "127.0.0.1", "-p", str(args.port)])


if __name__ == "__main__":
    main()
