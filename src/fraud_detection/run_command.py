"""``kedro run`` and ``kedro ipython`` as this project needs them.

Kedro lets a project's ``cli.py`` replace its own commands (a project command of the same
name wins, ``kedro.framework.cli.cli.KedroCLI.project_groups``). Both commands keep Kedro's
options and behaviour and change one thing each:

- ``run`` reports a failure briefly (:mod:`fraud_detection.failures`): a user error ends
  with its message and the path of the log file holding the full trace; Java stacks in
  log messages are cut short on the console;
- ``ipython`` starts the IPython of the Python that runs Kedro (``python -m IPython``).
  Kedro's own starts whichever ``ipython`` is first on ``PATH``: with the project's
  ``.venv`` not activated, another Python's, where the ``kedro.ipython`` extension cannot
  even be imported, so ``catalog``, ``context`` and ``session`` were never defined.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
from kedro.framework.cli.project import ipython as kedro_ipython
from kedro.framework.cli.project import run as kedro_run

from fraud_detection.failures import reported_failures
from fraud_detection.logs import cut_java_stacks_on_console


def _run(**options: Any) -> dict[str, Any]:
    """Kedro's ``run``, its failures reported briefly."""
    metadata = click.get_current_context().find_object(object)
    project = getattr(metadata, "project_path", None)
    cut_java_stacks_on_console()
    with reported_failures(Path(project) if project else None):
        return kedro_run.callback(**options)


run = click.Command(
    name="run",
    params=kedro_run.params,
    callback=_run,
    help=(kedro_run.help or "Run the pipeline.")
    + "\n\nA failure caused by input, parameters, configuration or an unreachable server "
    "ends with its message; the full trace is in logs/last-failure.log "
    "(FRAUD_DETECTION_VERBOSE=1 prints it).",
    short_help=kedro_run.short_help,
    context_settings=kedro_run.context_settings,
)


def _ipython(env: str | None, args: tuple[str, ...], **_: Any) -> None:
    """The running Python's IPython with Kedro's extension, as ``kedro ipython`` does."""
    if env:
        os.environ["KEDRO_ENV"] = env
    try:
        import IPython  # noqa: F401
    except ImportError as missing:
        raise click.ClickException(
            f"IPython is not installed in {sys.prefix}: run `make install` (or "
            f"`{sys.executable} -m pip install ipython`)"
        ) from missing
    command = [sys.executable, "-m", "IPython", "--ext", "kedro.ipython", *args]
    code = subprocess.run(command, check=False).returncode
    if code:
        raise click.exceptions.Exit(code)


ipython = click.Command(
    name="ipython",
    params=kedro_ipython.params,
    callback=_ipython,
    help=kedro_ipython.help,
    short_help=kedro_ipython.short_help,
    context_settings=kedro_ipython.context_settings,
)
