"""Exit handlers of the hooks: each runs once at exit, the last registered first."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
from fraud_detection.hooks.interrupts import at_exit

class Hook:
    def __init__(self, name):
        self.name = name
    def finish(self):
        print("finish", self.name)

first, second = Hook("first"), Hook("second")
at_exit(first.finish)
at_exit(second.finish)
at_exit(first.finish)  # a second run in the same process registers again
"""


def test_each_handler_runs_once_the_last_registered_first():
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.splitlines() == ["finish second", "finish first"]
