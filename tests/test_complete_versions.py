"""Versioned datasets load their newest complete version and name what they skip.

Version folders are laid out as an interrupted save leaves them: a save marker of a process
that was killed (a real process, killed), of a process on another host, of a process still
running; an empty data folder; only Spark's ``_temporary`` files. Loads go through Kedro's
own version resolution, with the project's rule installed as ``settings.py`` installs it.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kedro.io import Version
from kedro.io.core import VersionNotFoundError
from kedro_datasets.json import JSONDataset
from kedro_datasets.spark import SparkDatasetV2

from fraud_detection.datasets.complete_versions import (
    MARKER,
    IncompleteVersionError,
    install,
    process_identity,
)

install()


@pytest.fixture(scope="module")
def killed() -> dict:
    """The identity of a real process that was killed (its process ID may be reused later:
    the start time tells them apart)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    identity = process_identity(process.pid)
    process.kill()
    process.wait()
    return identity


def _marker(folder: Path, identity: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(json.dumps(identity))


def _version(index: int) -> str:
    return f"2026-01-01T00.00.{index:02d}.000Z"


def _spark_versions(root: Path, states: list[str], killed: dict, running: dict) -> None:
    """Version folders of a Spark parquet dataset at ``root``, oldest first, by state."""
    for index, state in enumerate(states):
        data = root / _version(index) / root.name
        data.mkdir(parents=True)
        if state == "own_empty":  # this process's save, stopped before writing anything
            _marker(data.parent, process_identity())
        if state in ("empty", "own_empty"):
            continue
        if state == "temporary":
            (data / "_temporary/0/_temporary").mkdir(parents=True)
            (data / "_temporary/0/_temporary/part-0.parquet").write_bytes(b"PAR1")
            continue
        (data / "part-00000.parquet").write_bytes(b"PAR1 not read here")
        (data / "_SUCCESS").write_bytes(b"")
        identities = {"killed": killed, "elsewhere": {**killed, "host": "other-host"},
                      "running": running, "own": process_identity()}
        if state in identities:
            _marker(data.parent, identities[state])


STATES = ["complete", "own", "killed", "elsewhere", "running", "empty", "temporary",
          "own_empty"]
COMPLETE = {"complete", "own"}


@pytest.fixture(scope="module")
def running():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield process_identity(process.pid)
    process.kill()
    process.wait()


@settings(max_examples=150, deadline=None)
@given(states=st.lists(st.sampled_from(STATES), min_size=1, max_size=6))
def test_the_newest_complete_version_resolves_whatever_the_others_hold(
    states, killed, running
):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "table.parquet"
        _spark_versions(root, states, killed, running)
        dataset = SparkDatasetV2(filepath=str(root), version=Version(None, None))
        complete = [i for i, state in enumerate(states) if state in COMPLETE]
        if not complete:
            with pytest.raises(VersionNotFoundError, match="no complete version of"):
                dataset.resolve_load_version()
            assert not dataset.exists()
            return
        assert dataset.resolve_load_version() == _version(complete[-1])
        for index, state in enumerate(states):
            explicit = SparkDatasetV2(filepath=str(root), version=Version(_version(index), None))
            if state in COMPLETE:
                assert explicit.resolve_load_version() == _version(index)
            else:
                with pytest.raises(IncompleteVersionError, match=_version(index)):
                    explicit.resolve_load_version()


def test_a_killed_save_is_skipped_by_name_and_the_reason_given(tmp_path, killed, caplog):
    path = tmp_path / "metrics.json"
    JSONDataset(filepath=str(path), version=Version(None, _version(1))).save({"auprc": 0.9})
    unfinished = path / _version(2)
    (unfinished / "metrics.json").parent.mkdir(parents=True)
    (unfinished / "metrics.json").write_text('{"auprc": 0.')  # cut short by the kill
    _marker(unfinished, killed)

    with caplog.at_level(logging.WARNING):
        assert JSONDataset(filepath=str(path), version=Version(None, None)).load() == {
            "auprc": 0.9}
    assert (f"{path}: skipped unfinished version {_version(2)}: its save never finished: "
            f"process {killed['pid']} on host {socket.gethostname()} no longer runs "
            f"(killed during the save); loading {_version(1)} instead") in caplog.text

    with pytest.raises(IncompleteVersionError) as refused:
        JSONDataset(filepath=str(path), version=Version(_version(2), None)).load()
    assert str(refused.value).startswith(
        f"version {_version(2)} of {path} cannot be loaded: its save never finished")
    assert "--load-versions" in str(refused.value)


def test_spark_never_sees_an_empty_or_temporary_only_folder(spark, tmp_path, caplog):
    path = tmp_path / "table.parquet"
    SparkDatasetV2(filepath=str(path), version=Version(None, _version(1))).save(spark.range(3))
    (path / _version(2) / "table.parquet/_temporary/0").mkdir(parents=True)
    (path / _version(3) / "table.parquet").mkdir(parents=True)

    with caplog.at_level(logging.WARNING):
        assert SparkDatasetV2(filepath=str(path), version=Version(None, None)).load().count() == 3
    for version in (_version(2), _version(3)):
        assert f"skipped unfinished version {version}: it holds no data file" in caplog.text

    (path / _version(1) / "table.parquet/_SUCCESS").unlink()
    for part in (path / _version(1) / "table.parquet").glob("part-*"):
        part.unlink()
    with pytest.raises(Exception, match=r"no complete version of .*table.parquet: version "):
        SparkDatasetV2(filepath=str(path), version=Version(None, None)).load()
