"""Entry point of the packaged project: ``python -m fraud_detection`` or ``fraud-detection``.

Accepts everything ``kedro run`` accepts (``--pipelines``, ``--env``, ``--conf-source``,
``--params``...), so a cluster job can run any pipeline from the wheel alone, and fails as
``kedro run`` does: a user error ends with its message, the full trace in
``logs/last-failure.log`` (:mod:`fraud_detection.failures`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from kedro.framework.cli.project import run as kedro_run
from kedro.framework.project import configure_project

from fraud_detection.run_command import run


def main(*args, **kwargs):
    configure_project(Path(__file__).parent.name)
    if hasattr(sys, "ps1"):  # interactive: return, and let an error be raised as it is
        return kedro_run(*args, standalone_mode=False, **kwargs)
    return run(*args, **kwargs)


if __name__ == "__main__":
    main()
