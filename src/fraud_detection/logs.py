"""The console that Kedro's log writes to (``conf/logging.yml``): stderr, not stdout.

A command's answer is all that stdout holds, so ``kedro provenance ... --json | jq`` works.
Where stderr is not a terminal (a file, a CI or job log), lines are 160 columns wide instead
of rich's 80, so a run ID or a path is not broken across lines.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

STDERR = Console(
    stderr=True, width=None if sys.stderr.isatty() or "COLUMNS" in os.environ else 160
)
