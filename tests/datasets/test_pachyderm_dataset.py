"""PachydermDataset against the in-process test pachd, over real gRPC with the real
python-pachyderm 7.6 client (see tests/pachyderm_server)."""

from __future__ import annotations

import io
import json
import pickle
import re
import socket
import time

import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.io.core import DatasetError, Version
from python_pachyderm.proto.v2.pfs import pfs_pb2

from fraud_detection.datasets.pachyderm import PachydermDataset
from fraud_detection.datasets.pachyderm_transfer import download
from fraud_detection.datasets.versioned import VersionRecord

DATASET_TYPE = "fraud_detection.datasets.pachyderm.PachydermDataset"
TOKEN = "s3cret-token-value"


@pytest.fixture
def make(pachd):
    """PachydermDataset factory with a csv default, pointed at the test pachd."""

    def factory(**kwargs) -> PachydermDataset:
        args = {"repo": "raw", "path": "/transactions.csv", "file_format": "csv",
                "pachd_address": pachd.address, "create_repo": True}
        args.update(kwargs)
        return PachydermDataset(**args)

    return factory


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"step": [1, 2, 3], "type": ["CASH_OUT", "TRANSFER", "CASH_OUT"],
                         "amount": [10.5, 20.0, 7.25], "isFraud": [0, 1, 0]})


def _sorted_rows(spark_df) -> list[tuple]:
    return sorted(tuple(r[c] for c in ("step", "type", "amount", "isFraud"))
                  for r in spark_df.collect())


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_pandas_round_trip_records_commit_and_metadata(make, pachd, frame, file_format):
    dataset = make(path=f"/transactions.{file_format}", file_format=file_format)
    dataset.set_run_metadata(kedro_run_id="run-1", mlflow_run_id="mlf-1", node="split",
                             git_commit="abc123", input_commits={"raw": "pfs://x/y@1:/z"})
    dataset.save(frame)

    commit = pachd.commit("raw")
    assert dataset.last_save_commit == commit.id == dataset.resolved_commit
    description = json.loads(commit.description)
    assert {k: description[k] for k in PachydermDataset.RUN_METADATA_KEYS} == {
        "kedro_run_id": "run-1", "mlflow_run_id": "mlf-1", "node": "split",
        "git_commit": "abc123"}
    provenance = json.loads(commit.files[f"/.provenance/transactions.{file_format}.json"])
    assert provenance["commit"] == commit.id
    assert provenance["input_commits"] == {"raw": "pfs://x/y@1:/z"}
    # the save waited (InspectCommit wait=FINISHED) until pachd had finished the commit
    assert pachd.calls[-4:] == ["StartCommit", "ModifyFile", "FinishCommit", "InspectCommit"]
    assert commit.finished and not commit.error

    loaded = make(path=f"/transactions.{file_format}", file_format=file_format).load()
    pd.testing.assert_frame_equal(loaded, frame)
    assert dataset.pfs_uri() == (
        f"pfs://{pachd.address}/default/raw@{commit.id}:/transactions.{file_format}")
    # What the hooks learn (TracksVersions): the commit, which is also the digest.
    assert dataset.saved_version() == VersionRecord(
        "pachyderm", dataset.pfs_uri(), commit.id, digest=commit.id)
    assert dataset.loaded_version() is None  # this instance loaded nothing


def test_json_round_trip_and_default_metadata(make, pachd):
    dataset = make(path="/metrics.json", file_format="json", provenance=False)
    dataset.save({"auprc": 0.99, "thresholds": [0.1, 0.5]})
    assert make(path="/metrics.json", file_format="json").load() == {
        "auprc": 0.99, "thresholds": [0.1, 0.5]}
    commit = pachd.commit("raw")
    assert list(commit.files) == ["/metrics.json"]
    assert json.loads(commit.description)["mlflow_run_id"] is None


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_spark_single_file_round_trip_shares_bytes_with_pandas(make, spark, frame,
                                                               file_format):
    path = f"/transactions.{file_format}"
    make(path=path, file_format=file_format, backend="spark").save(spark.createDataFrame(frame))
    as_spark = make(path=path, file_format=file_format, backend="spark").load()
    assert _sorted_rows(as_spark) == sorted(frame.itertuples(index=False, name=None))
    as_pandas = make(path=path, file_format=file_format).load()  # the @pandas twin
    pd.testing.assert_frame_equal(as_pandas, frame, check_dtype=False)


def test_parquet_dir_partitioned_shards(make, pachd, spark, frame):
    dataset = make(path="/model_input", file_format="parquet_dir",
                   save_args={"partitionBy": ["type"], "mode": "ignored"})
    dataset.save(spark.createDataFrame(frame).repartition(2))
    shards = [p for p in pachd.files("raw") if p.startswith("/model_input/")]
    assert {p.split("/")[2] for p in shards} == {"type=CASH_OUT", "type=TRANSFER"}
    assert all(p.endswith(".parquet") for p in shards)
    assert _sorted_rows(make(path="/model_input", file_format="parquet_dir").load()) == sorted(
        frame.itertuples(index=False, name=None))

    transfers = frame[frame["type"] == "TRANSFER"]
    dataset.save(spark.createDataFrame(transfers))  # a save replaces every old shard
    shards = [p for p in pachd.files("raw") if p.startswith("/model_input/")]
    assert {p.split("/")[2] for p in shards} == {"type=TRANSFER"} and len(shards) == 1
    assert _sorted_rows(make(path="/model_input", file_format="parquet_dir").load()) == sorted(
        transfers.itertuples(index=False, name=None))


def test_parquet_dir_reads_shards_written_by_others(make, pachd, spark, frame):
    client = pachd.client()
    client.create_repo("raw")
    with client.modify_file_client(("raw", "master")) as mfc:
        for shard in range(3):
            buffer = io.BytesIO()
            frame.iloc[[shard]].to_parquet(buffer, index=False)
            mfc.put_file_from_bytes(f"/shards/shard-{shard:03d}.parquet", buffer.getvalue())
    loaded = make(path="/shards", file_format="parquet_dir").load()
    assert _sorted_rows(loaded) == sorted(frame.itertuples(index=False, name=None))


def test_spark_model_round_trip(make, pachd, spark, frame):
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.feature import StringIndexer, VectorAssembler

    data = spark.createDataFrame(frame)
    model = Pipeline(stages=[
        StringIndexer(inputCol="type", outputCol="type_index"),
        VectorAssembler(inputCols=["type_index", "amount"], outputCol="features"),
    ]).fit(data)
    make(repo="models", path="/fraud_model", file_format="spark_model").save(model)
    assert any(p.startswith("/fraud_model/metadata/") for p in pachd.files("models"))

    loaded = make(repo="models", path="/fraud_model", file_format="spark_model").load()
    assert isinstance(loaded, PipelineModel)
    expected = [r.features for r in model.transform(data).orderBy("step").collect()]
    assert [r.features for r in loaded.transform(data).orderBy("step").collect()] == expected


# ------------------------------------------------------------------- versions
def test_load_versions_are_commit_ids_and_refs(make, pachd, frame):
    dataset = make()
    dataset.save(frame)
    first = dataset.last_save_commit
    dataset.save(frame.assign(amount=0.0))
    second = dataset.last_save_commit

    pinned = make(version=Version(first, None))
    pd.testing.assert_frame_equal(pinned.load(), frame)
    assert pinned.last_load_commit == first
    pd.testing.assert_frame_equal(make(version=Version("master~1", None)).load(), frame)
    assert make().load()["amount"].eq(0.0).all()
    assert make().list_versions() == [second, first]

    catalog = DataCatalog.from_config(
        {"transactions": {"type": DATASET_TYPE, "repo": "raw", "path": "/transactions.csv",
                          "file_format": "csv", "pachd_address": pachd.address}},
        load_versions={"transactions": first},  # what `kedro run --load-versions` does
    )
    pd.testing.assert_frame_equal(catalog.load("transactions"), frame)
    pd.testing.assert_frame_equal(catalog.load("transactions", version=first), frame)


def test_global_commit_id_addresses_every_repo_of_the_commit_set(make, pachd, frame):
    client = pachd.client()
    client.create_repo("raw")
    client.create_repo("features")
    upstream = pfs_pb2.Branch(repo=pfs_pb2.Repo(name="raw", type="user"), name="master")
    client.create_branch("features", "master", provenance=[upstream])

    raw = make()
    raw.save(frame)
    global_id = raw.last_save_commit
    # A pipeline job fills the downstream commit that shares the global ID.
    client.put_file_bytes(("features", global_id), "/stats.json", b'{"rows": 3}')
    client.finish_commit(("features", global_id))

    features = make(repo="features", path="/stats.json", file_format="json",
                    version=Version(global_id, None))
    assert features.load() == {"rows": 3}
    assert features.last_load_commit == global_id
    pd.testing.assert_frame_equal(make(version=Version(global_id, None)).load(), frame)

    client.create_repo("models")
    with pytest.raises(DatasetError, match=r"exists only in: default/features, default/raw"):
        make(repo="models", path="/m.json", file_format="json",
             version=Version(global_id, None)).load()


# ---------------------------------------------------------------- failure modes
@pytest.mark.parametrize("partial", [False, True], ids=["atomic-server", "partial-server"])
def test_failed_save_leaves_the_branch_byte_for_byte_as_it_was(make, pachd, frame, partial):
    dataset = make()
    dataset.save(frame)
    good = dataset.last_save_commit
    other_user = pachd.client()  # another client of the cluster, plain python-pachyderm
    before = other_user.get_file(("raw", "master"), "/transactions.csv").read()

    pachd.fail_modify_file_after_chunks = 1  # the data file arrives, the provenance does not
    pachd.modify_file_fault_partial = partial
    with pytest.raises(DatasetError, match=r"save failed .*UNAVAILABLE") as excinfo:
        dataset.save(frame.assign(amount=-1.0))
    assert pachd.faults_triggered == ["ModifyFile:/.provenance/transactions.csv.json"]
    message = str(excinfo.value)
    [failed_id] = re.findall(r"default/raw@([0-9a-f]{32}):/transactions.csv", message)
    assert f"Commit {failed_id} was dropped, so branch 'master' is back at commit {good}" \
        in message and "no partial data was published" in message
    assert "DropCommitSet" in pachd.calls and "FinishCommit" not in pachd.calls[-4:]

    assert other_user.inspect_branch("raw", "master").head.id == good
    assert other_user.get_file(("raw", "master"), "/transactions.csv").read() == before
    assert pachd.commits("raw")[0].id == good
    assert failed_id not in {c.id for c in pachd.commits("raw")}
    assert dataset.last_save_commit == good
    pd.testing.assert_frame_equal(make().load(), frame)

    pachd.reset_faults()
    dataset.save(frame.assign(amount=1.0))
    assert make().load()["amount"].eq(1.0).all()


def test_open_head_commit_is_not_read(make, pachd, frame):
    make().save(frame)
    in_progress = pachd.client().start_commit("raw", "master")
    with pytest.raises(DatasetError, match=rf"{in_progress.id} is still open.*pachctl wait"):
        make().load()
    assert not make().exists()


def test_truncated_download_is_an_error_never_wrong_data(make, pachd):
    big = pd.DataFrame({"x": range(300_000)})  # about 2 MiB: several 1 MiB frames
    make().save(big)
    pachd.drop_get_file_after = 1024 * 1024 + 123
    dataset = make()
    commit = pachd.commit("raw").id
    with pytest.raises(DatasetError, match=rf"default/raw@{commit}:/transactions.csv.*cut short"):
        dataset.load()
    assert dataset.last_load_commit is None
    assert pachd.faults_triggered == ["GetFile:/transactions.csv:1048699"]


def test_empty_files_download_as_empty(pachd, tmp_path):
    client = pachd.client()
    client.create_repo("raw")
    with client.modify_file_client(("raw", "master")) as mfc:
        mfc.put_file_from_bytes("/dir/empty.parquet", b"")
        mfc.put_file_from_bytes("/dir/one.bin", b"1")
    head = client.inspect_branch("raw", "master").head
    count = download(client, head, "/dir", True, tmp_path / "dir", "loc")
    assert count == 2
    assert (tmp_path / "dir" / "empty.parquet").read_bytes() == b""
    assert (tmp_path / "dir" / "one.bin").read_bytes() == b"1"


def test_empty_file_loads_through_spark(make, pachd, spark):
    client = pachd.client()
    client.create_repo("raw")
    client.put_file_bytes(("raw", "master"), "/empty.csv", b"")
    assert make(path="/empty.csv", backend="spark").load().count() == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_pachd_fails_fast_naming_the_address(make):
    address = f"127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with pytest.raises(DatasetError) as excinfo:
        make(pachd_address=address).load()
    assert time.monotonic() - started < 3
    message = str(excinfo.value)
    assert address in message and "PACHD_ADDRESS" in message and "pachctl connect" in message


def test_silent_pachd_times_out_after_connect_timeout(make):
    with socket.socket() as silent:  # accepts TCP, never speaks gRPC
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(DatasetError, match=r"no answer within 0.5s"):
            make(pachd_address=address, connect_timeout=0.5).save(pd.DataFrame({"a": [1]}))
        assert time.monotonic() - started < 3


def test_unavailable_pachd_names_address(make, pachd):
    pachd.unavailable = True
    with pytest.raises(DatasetError, match=rf"pachd at grpc://{pachd.address} is unavailable"):
        make().load()


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"repo": "nope"}, r"default/nope@master:/transactions.csv: repo default/nope not found"),
        ({"branch": "dev"}, r"default/raw@dev:/transactions.csv: branch \"dev\" not found"),
        ({"version": Version("0123456789ab4def0123456789abcdef", None)},
         r"default/raw@0123456789ab4def0123456789abcdef:/transactions.csv: commit "),
        ({"version": Version("master~5", None)}, r"default/raw@master~5:/transactions.csv"),
        ({"path": "/missing.csv"}, r"default/raw@[0-9a-f]{32}:/missing.csv: file /missing.csv"),
        ({"project": "other"}, r"other/raw@master:/transactions.csv: repo other/raw not found"),
    ],
    ids=["repo", "branch", "commit", "ancestry", "path", "project"],
)
def test_missing_things_name_project_repo_commit_path(make, frame, kwargs, pattern):
    make().save(frame)
    with pytest.raises(DatasetError, match=pattern):
        make(**kwargs).load()
    assert make(**kwargs).exists() is False


def test_create_repo_flag(make, pachd, frame):
    with pytest.raises(DatasetError, match=r"repo default/fresh not found.*create_repo: true"):
        make(repo="fresh", create_repo=False).save(frame)
    assert pachd.repos() == []
    make(repo="fresh", create_repo=True).save(frame)
    assert pachd.repos() == ["fresh"]
    assert make(repo="fresh", create_repo=False).exists()


# ------------------------------------------------------------- configuration
def test_token_is_sent_but_never_shown(make, pachd, frame):
    pachd.require_token = TOKEN
    dataset = make(credentials={"auth_token": TOKEN})
    dataset.save(frame)
    pd.testing.assert_frame_equal(dataset.load(), frame)
    shown = [str(dataset), repr(dataset), json.dumps(dataset._describe(), default=str),
             pachd.commit("raw").description, dataset.pfs_uri()]
    assert not any(TOKEN in text for text in shown)
    assert pickle.loads(pickle.dumps(dataset)).load().shape == frame.shape

    with pytest.raises(DatasetError, match="UNAUTHENTICATED.*auth_token") as excinfo:
        make(credentials={"auth_token": "wrong-" + TOKEN}).load()
    assert TOKEN not in str(excinfo.value)

    catalog = DataCatalog.from_config(
        {"tx": {"type": DATASET_TYPE, "repo": "raw", "path": "/transactions.csv",
                "file_format": "csv", "pachd_address": pachd.address,
                "credentials": "pachyderm"}},
        credentials={"pachyderm": {"auth_token": TOKEN}},
    )
    pd.testing.assert_frame_equal(catalog.load("tx"), frame)


def test_address_from_env_then_pachctl_config(monkeypatch, tmp_path, pachd, frame):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("PACH_CONFIG", raising=False)
    monkeypatch.delenv("PACHD_ADDRESS", raising=False)
    kwargs = {"repo": "raw", "path": "/t.json", "file_format": "json", "create_repo": True}
    with pytest.raises(DatasetError, match=r"No pachd address.*PACHD_ADDRESS.*pachctl connect"):
        PachydermDataset(**kwargs).load()

    monkeypatch.setenv("PACHD_ADDRESS", f"grpc://{pachd.address}")
    PachydermDataset(**kwargs).save({"from": "env"})
    monkeypatch.delenv("PACHD_ADDRESS")

    config = tmp_path / ".pachyderm" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"v2": {"active_context": "local", "contexts": {
        "local": {"pachd_address": f"grpc://{pachd.address}", "session_token": TOKEN}}}}))
    pachd.require_token = TOKEN  # pachctl's session token is used with its address
    assert PachydermDataset(**kwargs).load() == {"from": "env"}


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"file_format": "xlsx"}, "Unknown file_format 'xlsx'"),
        ({"file_format": "parquet_dir", "backend": "pandas"}, "does not support backend"),
        ({"repo": "bad/name"}, "Invalid Pachyderm repo name"),
        ({"path": "../etc"}, "must not contain '..'"),
        ({"credentials": {"password": "x"}}, r"Unknown credentials keys \['password'\]"),
        ({"connect_timeout": 0}, "connect_timeout must be a positive"),
    ],
)
def test_invalid_arguments(make, kwargs, pattern):
    with pytest.raises(DatasetError, match=pattern):
        make(**kwargs)


def test_projects_and_provenance_path(make, pachd, frame):
    pachd.client().create_project("fraud")
    dataset = make(project="fraud", provenance_path="/_meta/tx.json")
    dataset.save(frame)
    assert sorted(pachd.files("raw", project="fraud")) == ["/_meta/tx.json",
                                                           "/transactions.csv"]
    assert dataset.pfs_uri().startswith(f"pfs://{pachd.address}/fraud/raw@")
    pd.testing.assert_frame_equal(make(project="fraud").load(), frame)
