"""Local staging of PachydermDataset: private directories that go away, a clear error when
tmp_dir is unusable, and a Spark load's files fetched once per commit and never half-kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.io.core import DatasetError

from fraud_detection.datasets.pachyderm_staging import staged_for_spark, staging


def test_a_staging_directory_is_private_and_removed(tmp_path):
    with staging(str(tmp_path), "load", "default/raw@master:/t.csv") as folder:
        assert folder.parent == tmp_path and folder.name.startswith("pachyderm-load-")
        (folder / "t.csv").write_text("a\n")
    assert not folder.exists()


def test_an_unusable_tmp_dir_names_the_dataset_and_the_setting(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetError) as error, staging(str(missing), "save", "default/raw@x:/t"):
        pass
    message = str(error.value)
    assert message.startswith("default/raw@x:/t: local staging for save failed")
    assert f"tmp_dir={str(missing)!r} exists and is writable" in message


def test_spark_staging_fetches_once_per_commit(tmp_path):
    fetched: list[Path] = []

    def fetch(local: Path) -> None:
        fetched.append(local)
        local.write_text("x")

    key = ("pachd:1", "default", "raw", "a" * 32, "/t.parquet", tmp_path.name)
    first = staged_for_spark(key, str(tmp_path), "t.parquet", fetch)
    again = staged_for_spark(key, str(tmp_path), "t.parquet", fetch)
    assert first == again and first.read_text() == "x" and len(fetched) == 1


def test_a_failed_spark_fetch_leaves_nothing_and_is_tried_again(tmp_path):
    key = ("pachd:1", "default", "raw", "b" * 32, "/t.parquet", tmp_path.name)

    def broken(local: Path) -> None:
        local.write_text("half")
        raise ConnectionError("stream cut")

    with pytest.raises(ConnectionError):
        staged_for_spark(key, str(tmp_path), "t.parquet", broken)
    assert list(tmp_path.iterdir()) == []
    staged = staged_for_spark(key, str(tmp_path), "t.parquet", lambda local: local.write_text("ok"))
    assert staged.read_text() == "ok"
