"""Entry point of the packaged project: ``python -m fraud_detection`` or ``fraud-detection``.

Accepts everything ``kedro run`` accepts (``--pipelines``, ``--env``, ``--conf-source``,
``--params``...), so a cluster job can run any pipeline from the wheel alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kedro.framework.cli.project import run
from kedro.framework.project import configure_project


def main(*args, **kwargs):
    configure_project(Path(__file__).parent.name)
    kwargs["standalone_mode"] = not hasattr(sys, "ps1")  # interactive: return, don't exit
    return run(*args, **kwargs)


if __name__ == "__main__":
    main()
