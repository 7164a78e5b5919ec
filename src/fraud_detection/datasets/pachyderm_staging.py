"""Local disk where ``PachydermDataset`` stages data on its way in and out of PFS.

pandas loads and every save use a private temporary directory that is gone when the call
returns. Spark reads lazily, so the files a Spark load staged must outlive the load call:
they are kept (one copy per commit, reused by later loads of it) and removed when the
process exits. A staging directory that cannot be made becomes a clear ``DatasetError``
(Kedro would otherwise report a missing file as a versioning conflict).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kedro.io.core import DatasetError

_SPARK_STAGED: dict[Hashable, Path] = {}
_SPARK_LOCK = threading.Lock()


@atexit.register
def _remove_spark_staging() -> None:
    for path in _SPARK_STAGED.values():
        shutil.rmtree(path.parent, ignore_errors=True)


@contextmanager
def staging(tmp_dir: str | None, purpose: str, location: str) -> Iterator[Path]:
    """A private temp directory under ``tmp_dir`` (the system's when ``None``), removed on
    exit; local file errors name ``location`` and the ``tmp_dir`` to fix."""
    try:
        with tempfile.TemporaryDirectory(dir=tmp_dir, prefix=f"pachyderm-{purpose}-") as tmp:
            yield Path(tmp)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise DatasetError(
            f"{location}: local staging for {purpose} failed ({exc}); check "
            f"tmp_dir={tmp_dir!r} exists and is writable."
        ) from exc


def staged_for_spark(key: Hashable, tmp_dir: str | None, name: str,
                     fetch: Callable[[Path], None]) -> Path:
    """``<a directory that lives until the process exits>/<name>``, filled once per ``key``
    (one commit of one dataset) by ``fetch``; a failed fetch leaves nothing behind."""
    with _SPARK_LOCK:
        staged = _SPARK_STAGED.get(key)
        if staged is not None and staged.exists():
            return staged
        root = Path(tempfile.mkdtemp(dir=tmp_dir, prefix="pachyderm-spark-"))
        try:
            fetch(root / name)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        _SPARK_STAGED[key] = root / name
        return _SPARK_STAGED[key]
