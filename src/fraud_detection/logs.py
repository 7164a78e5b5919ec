"""The console that Kedro's log writes to (``conf/logging.yml``): stderr, not stdout; and
Java stacks cut short on it.

A command's answer is all that stdout holds, so ``kedro provenance ... --json | jq`` works.
Where stderr is not a terminal (a file, a CI or job log), lines are 160 columns wide instead
of rich's 80, so a run ID or a path is not broken across lines.
"""

from __future__ import annotations

import logging
import os
import re
import sys

from rich.console import Console

STDERR = Console(
    stderr=True, width=None if sys.stderr.isatty() or "COLUMNS" in os.environ else 160
)


VERBOSE = "FRAUD_DETECTION_VERBOSE"
JAVA_FRAMES_SHOWN = 3
_JAVA_FRAME = re.compile(r"^\s+(at [\w$.<>/]+\(.*\)|\.\.\. \d+ more)\s*$")


def verbose() -> bool:
    """Whether ``FRAUD_DETECTION_VERBOSE`` asks for full traces on the console."""
    return os.environ.get(VERBOSE, "").strip().lower() in ("1", "true", "yes")


def cut_java_frames(text: str, where: str, shown: int = JAVA_FRAMES_SHOWN) -> str:
    """``text`` with each run of Java stack frames (``\\tat org.apache...``) cut to its first
    ``shown`` frames and one line saying how many more there are and ``where`` they are.

    py4j puts the whole Java stack in an exception's text: a Spark failure's message is
    about 1,300 lines, of which the first few say what failed.
    """
    out: list[str] = []
    run = 0
    for line in text.split("\n"):
        if _JAVA_FRAME.match(line):
            run += 1
            if run <= shown:
                out.append(line)
            continue
        if run > shown:
            out.append(f"\t... {run - shown} more Java frames {where}")
        run = 0
        out.append(line)
    if run > shown:
        out.append(f"\t... {run - shown} more Java frames {where}")
    return "\n".join(out)


class JavaStackFilter(logging.Filter):
    """Cuts Java stacks out of log messages on the console (``conf/logging.yml``).

    Kedro logs a failed node's error text, which for a Spark error holds the Java stack;
    the run's failure report and ``logs/last-failure.log`` keep it whole.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if verbose() or not isinstance(record.msg, str):
            return True
        message = record.getMessage()
        if "\n" in message and "at " in message:
            record.msg = cut_java_frames(message, f"({VERBOSE}=1 shows them)")
            record.args = ()
        return True



def cut_java_stacks_on_console() -> None:
    """Add :class:`JavaStackFilter` to the root logger's handlers (Kedro's rich console,
    ``conf/logging.yml``), once, and silence PySpark's query-context loggers, unless verbose.

    Done by the run command: Kedro refuses a logging configuration naming a filter or
    handler class outside ``logging`` and ``kedro``. PySpark logs every SQL error it raises
    with a query context as one JSON line holding the whole Java stack, on a handler of its
    own; the error itself still reaches the failure report and its log file.
    """
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, JavaStackFilter) for f in handler.filters):
            handler.addFilter(JavaStackFilter())
    if verbose():
        return
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
