"""Entry point of the packaged project: ``python -m fraud_detection`` or ``fraud-detection``.

Accepts everything ``kedro run`` accepts (``--pipeline``, ``--env``, ``--conf-source``,
``--params``...), so a cluster job can run any pipeline from the wheel alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kedro.framework.cli.utils import find_run_command
from kedro.framework.project import configure_project


def main(*args, **kwargs):
    package_name = Path(__file__).parent.name
    configure_project(package_name)
    interactive = hasattr(sys, "ps1")
    kwargs["standalone_mode"] = not interactive
    run = find_run_command(package_name)
    return run(*args, **kwargs)


if __name__ == "__main__":
    main()
