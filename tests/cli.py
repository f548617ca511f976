"""Running the command line as a user does: ``python -m tcpip6 ARGS`` in a child
process, its output captured as text."""

from __future__ import annotations

import subprocess
import sys


def tcpip6_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``tcpip6 ARGS``, run to its end (at most ``timeout`` seconds)."""
    return subprocess.run(
        [sys.executable, "-m", "tcpip6", *args], capture_output=True, text=True, timeout=timeout
    )
