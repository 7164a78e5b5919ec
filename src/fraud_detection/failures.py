"""Short failures: a user error ends a command with its message; the full trace goes to a file.

Kedro prints a 170-230-line traceback box for every failed run, and a Spark failure brings
about 1,300 lines of Java frames with it; the one line that says what to fix is lost in
them. A command wrapped in :func:`reported_failures` instead ends with

    fraud-detection: the run failed; full trace in logs/last-failure.log
    (FRAUD_DETECTION_VERBOSE=1 prints it here)
    RawDataError: raw_transactions: column 'amount' missing ... in data/01_raw/x.csv; ...

for a user error (:func:`user_error`), and with the Python traceback (Java frames cut to the
first few) for anything else, which is a bug to report. The log file always holds the whole
trace, Java frames included; ``FRAUD_DETECTION_VERBOSE=1`` prints it to the console too.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from kedro.config import MissingConfigException
from kedro.io.core import DatasetError, VersionNotFoundError

from fraud_detection.errors import UserError
from fraud_detection.logs import VERBOSE, cut_java_frames, verbose
from fraud_detection.redaction import redact

LOG_FILE = Path("logs") / "last-failure.log"
_PACKAGE = Path(__file__).resolve().parent


def _known_user_errors() -> tuple[type[BaseException], ...]:
    """Errors that report user mistakes and predate :class:`UserError` (imported late: this
    module sits at the top of the layers, beside the commands that use it)."""
    from fraud_detection.hooks.mlflow_tracking import ParameterConflictError
    from fraud_detection.hooks.parameters import InvalidParameterError, UnknownParameterError
    from fraud_detection.hooks.spark import SparkMasterUnavailableError
    from fraud_detection.pipelines.split.nodes import RawDataError
    from fraud_detection.provenance.lookup import ProvenanceError
    from fraud_detection.tracking.config import TrackingUnavailableError

    return (UserError, MissingConfigException, VersionNotFoundError, RawDataError,
            UnknownParameterError, InvalidParameterError, TrackingUnavailableError,
            ParameterConflictError, SparkMasterUnavailableError, ProvenanceError)


def _raised_by_project(error: BaseException) -> bool:
    """Whether the innermost frame of ``error`` is this project's code (not Kedro's wrapper)."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and Path(frames[-1].filename).resolve().is_relative_to(_PACKAGE)


def user_error(error: BaseException) -> BaseException | None:
    """The user error behind ``error``, following explicit causes (``raise ... from``), or
    ``None`` when it is a bug. A ``DatasetError`` is a user error when the project's datasets
    raised it (their messages name the dataset and the fix), not when Kedro wraps another
    error in one."""
    known, seen = _known_user_errors(), set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, known) or (
            isinstance(current, DatasetError) and _raised_by_project(current)
        ):
            return current
        current = current.__cause__
    return None


def printable(text: str) -> str:
    """``text`` with control characters (terminal escape sequences...) and lone surrogates
    escaped, lines and tabs kept: a damaged file's bytes in a message cannot garble the
    terminal or the log."""
    return "".join(
        char if char.isprintable() or char in "\n\t" else repr(char)[1:-1]
        for char in text
    )


def full_trace(error: BaseException) -> str:
    """The whole trace, chained causes and Java frames included, without URI passwords."""
    return printable(redact("".join(traceback.format_exception(error))))


def write_log(text: str, project_path: Path) -> Path | None:
    """Write the trace to ``<project>/logs/last-failure.log`` (the system's temporary folder
    when the project is read-only), whole or not at all."""
    for target in (project_path / LOG_FILE,
                   Path(tempfile.gettempdir()) / "fraud-detection-last-failure.log"):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}")
            partial.write_text(text, encoding="utf-8", errors="backslashreplace")
            partial.replace(target)
            return target
        except OSError:
            continue
    return None


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def summary(error: BaseException, log_file: str) -> str:
    """What the console shows for ``error``: the message alone for a user error, the
    Python traceback with Java frames cut for a bug; the last lines say what went wrong."""
    found = user_error(error)
    if found is not None:
        message = cut_java_frames(printable(redact(str(found))), f"in {log_file}").strip()
        return (f"fraud-detection: the run failed; full trace in {log_file} "
                f"({VERBOSE}=1 prints it here)\n{type(found).__name__}: "
                f"{message or '(no message)'}")
    trace = cut_java_frames(full_trace(error), f"in {log_file}").rstrip()
    return (f"{trace}\n\nfraud-detection: unexpected error (a bug, not a mistake of yours): "
            f"the full trace is in {log_file}; please report it with that file.")


def report(error: BaseException, project_path: Path) -> Path | None:
    """Write the full trace to the log file and print the short form (the full one in
    verbose mode) to stderr, as the last thing the command prints."""
    text = full_trace(error)
    log_file = write_log(text, project_path)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    if log_file is None:
        click.echo(f"{text.rstrip()}\n(no log file: {project_path / LOG_FILE} is not writable)",
                   err=True)
        return None
    shown = _shown_path(log_file)
    if verbose():
        click.echo(f"{text.rstrip()}\n(also in {shown})", err=True)
    else:
        click.echo(summary(error, shown), err=True)
    return log_file


@contextmanager
def reported_failures(project_path: Path | None = None) -> Iterator[None]:
    """Run a command's body; on an error, :func:`report` it and exit with status 1.

    Click's own errors (usage, ``ClickException``) and Ctrl-C pass through unchanged.
    """
    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except Exception as error:  # noqa: BLE001 - every failure is reported, then exits
        report(error, project_path or Path.cwd())
        raise SystemExit(1) from None
