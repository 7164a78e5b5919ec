"""The one adapter: kedro-datasets' datasets tell the hooks their versions like ours do."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from kedro.io import CachedDataset, MemoryDataset
from kedro.io.core import Version
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import CSVDataset

from fraud_detection.datasets import RawCsvDataset, SparkMLModelDataset
from fraud_detection.datasets.versioned import (
    TracksVersions,
    VersionRecord,
    stored_dataset,
    version_location,
    version_record,
)

VERSION = "2026-01-01T00.00.00.000Z"


def test_a_kedro_versioned_dataset_is_its_version_folder(tmp_path):
    dataset = CSVDataset(filepath=str(tmp_path / "t.csv"), version=Version(None, VERSION))
    dataset.save(pd.DataFrame({"a": [1]}))
    file = tmp_path / "t.csv" / VERSION / "t.csv"
    expected = VersionRecord("kedro", f"file://{file}@{VERSION}", VERSION, str(file),
                             files=(file,), immutable=True)
    assert version_record(dataset, saved=True) == expected
    reader = CSVDataset(filepath=str(tmp_path / "t.csv"), version=Version(None, None))
    reader.load()
    assert version_record(reader, saved=False) == expected
    assert version_location(reader, VERSION) == str(file)


def test_an_unversioned_file_is_identified_by_its_content(tmp_path):
    dataset = JSONDataset(filepath=str(tmp_path / "m.json"))
    assert version_record(dataset, saved=True) == VersionRecord(
        "kedro", f"file://{tmp_path}/m.json", None, f"{tmp_path}/m.json",
        files=(tmp_path / "m.json",))
    assert version_location(MemoryDataset(), VERSION) is None


def test_a_remote_path_keeps_its_protocol_and_has_no_local_files():
    dataset = CSVDataset(filepath="memory:///data/t.csv", version=Version(None, VERSION))
    record = version_record(dataset, saved=True)
    assert record.path == f"memory:///data/t.csv/{VERSION}/t.csv"
    assert record.uri == f"memory:///data/t.csv/{VERSION}/t.csv@{VERSION}"
    assert record.files is None


def test_memory_and_cached_datasets(tmp_path):
    assert version_record(MemoryDataset(), saved=False) is None
    inner = JSONDataset(filepath=str(tmp_path / "m.json"))
    cached = CachedDataset(inner)
    assert stored_dataset(cached) is inner
    assert version_record(cached, saved=True) == version_record(inner, saved=True)


def test_the_projects_datasets_implement_the_interface(tmp_path):
    assert isinstance(RawCsvDataset(filepath=str(tmp_path)), TracksVersions)
    assert isinstance(SparkMLModelDataset(filepath=str(tmp_path / "m")), TracksVersions)
    assert not isinstance(CSVDataset(filepath=str(tmp_path / "t.csv")), TracksVersions)
    assert Path(version_record(RawCsvDataset(filepath=str(tmp_path)), False).path) == tmp_path
