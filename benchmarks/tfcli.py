"""The benchmark scripts' one way to run tokenfall: the real CLI in a subprocess, as a user would."""

from __future__ import annotations

import json
import subprocess
import sys


def tf(*args: str) -> dict:
    """Run `tokenfall ARGS`; its JSON output parsed (empty when it printed none); its error ends the script."""
    r = subprocess.run([sys.executable, "-m", "tokenfall", *args], capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stderr)
    return json.loads(r.stdout) if r.stdout.strip().startswith(("{", "[")) else {}
