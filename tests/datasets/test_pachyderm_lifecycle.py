"""PachydermDataset's commit lifecycle, auth and TLS against the test pachd behaving like
pachd 2.7: asynchronous finishing, drops that move the head back, refused drops."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kedro.io.core import DatasetError
from python_pachyderm.proto.v2.pfs import pfs_pb2

from fraud_detection.datasets import pachyderm as pachyderm_module
from fraud_detection.datasets.pachyderm import PachydermDataset
from tests.pachyderm_server import PachdServer
from tests.pachyderm_server.tls import self_signed_certificate

TOKEN = "s3cret-token-value"
PATH = "/transactions.csv"


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"step": [1, 2], "amount": [10.5, 20.0]})


def _dataset(address: str, **kwargs) -> PachydermDataset:
    args = {"repo": "raw", "path": PATH, "file_format": "csv", "pachd_address": address,
            "create_repo": True}
    return PachydermDataset(**{**args, **kwargs})


def _failed_commit(message: str) -> str:
    [commit_id] = set(re.findall(r"default/raw@([0-9a-f]{32}):", message))
    return commit_id


# ------------------------------------------------------------- finishing commits
def test_save_returns_once_pachd_finished_and_the_next_load_reads_it(pachd, frame):
    pachd.finishing_delay = 0.3
    dataset = _dataset(pachd.address)
    dataset.save(frame)
    assert pachd.commit("raw").finished  # the save waited for pachd
    pd.testing.assert_frame_equal(_dataset(pachd.address).load(), frame)


def test_load_and_exists_wait_for_a_commit_another_client_is_finishing(pachd, frame):
    _dataset(pachd.address).save(frame)
    pachd.finishing_delay = 0.3
    client = pachd.client()
    commit = client.start_commit("raw", "master")
    client.put_file_bytes(commit, PATH, frame.assign(amount=1.0).to_csv(index=False).encode())
    client.finish_commit(commit)
    assert _dataset(pachd.address).exists()
    assert _dataset(pachd.address).load()["amount"].eq(1.0).all()

    pachd.finishing_delay = 30
    slow = client.start_commit("raw", "master")
    client.finish_commit(slow)
    with pytest.raises(DatasetError, match=rf"not finished commit {slow.id} within 0.2s.*"
                                           "finish_timeout"):
        _dataset(pachd.address, finish_timeout=0.2).load()


def test_a_save_pachd_does_not_finish_in_time_is_dropped(pachd, frame):
    dataset = _dataset(pachd.address, finish_timeout=0.2)
    dataset.save(frame)
    good = dataset.last_save_commit
    pachd.finishing_delay = 30
    with pytest.raises(DatasetError, match=r"within 0.2s.* was dropped") as excinfo:
        dataset.save(frame.assign(amount=0.0))
    assert _failed_commit(str(excinfo.value)) != good
    assert pachd.client().inspect_branch("raw", "master").head.id == good


def test_a_commit_pachd_finished_with_an_error_is_refused_naming_the_error(pachd, frame):
    _dataset(pachd.address).save(frame)
    client = pachd.client()
    commit = client.start_commit("raw", "master")
    with client.modify_file_client(commit) as mfc:  # pachd's validation fails this one
        mfc.put_file_from_bytes("/transactions.csv/part-0", b"x")
    client.finish_commit(commit)
    with pytest.raises(DatasetError, match=r"finished with an error \(file / directory path "
                                           r"collision \(/transactions.csv/part-0\)\)"):
        _dataset(pachd.address).load()
    assert not _dataset(pachd.address).exists()


# ------------------------------------------------------------------ failed saves
def test_an_interrupted_save_is_dropped_and_the_interrupt_goes_on(pachd, frame, monkeypatch):
    dataset = _dataset(pachd.address)
    dataset.save(frame)
    good = dataset.last_save_commit
    real_upload = pachyderm_module.upload

    def upload_then_ctrl_c(*args, **kwargs):
        real_upload(*args, **kwargs)  # every byte written, the commit not yet finished
        raise KeyboardInterrupt

    monkeypatch.setattr(pachyderm_module, "upload", upload_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        dataset.save(frame.assign(amount=0.0))
    assert pachd.client().inspect_branch("raw", "master").head.id == good
    assert [c.id for c in pachd.commits("raw")] == [good]


def test_a_save_pachd_fails_is_dropped_naming_pachds_error(pachd, frame):
    dataset = _dataset(pachd.address)
    dataset.save(frame)
    good = dataset.last_save_commit

    def collide():  # another writer puts a file under the dataset's path into the commit
        pachd.client().put_file_bytes(("raw", pachd.commit("raw").id), PATH + "/x", b"x")

    pachd.call_hooks["FinishCommit"] = collide
    with pytest.raises(DatasetError, match=r"with an error: file / directory path collision.*"
                                           rf"back at commit {good}"):
        dataset.save(frame.assign(amount=0.0))
    assert pachd.client().inspect_branch("raw", "master").head.id == good


def test_drop_refused_for_a_commit_with_children_says_so_naming_the_commit(pachd, frame):
    """pachd fails the save's finished commit after another client already started a
    child on it: pachd refuses the drop, the commit is already finished with pachd's
    error, and the child is the head."""
    dataset = _dataset(pachd.address)
    dataset.save(frame)
    pachd.finishing_delay = 0.3
    other = pachd.client()

    def collide():
        other.put_file_bytes(("raw", pachd.commit("raw").id), PATH + "/x", b"x")

    def child():
        other.put_file_bytes(("raw", "master"), "/other.csv", b"o")  # starts on the save's

    pachd.call_hooks["FinishCommit"] = collide
    pachd.after_call_hooks["FinishCommit"] = child
    with pytest.raises(DatasetError) as excinfo:
        dataset.save(frame.assign(amount=0.0))
    message = str(excinfo.value)
    failed = _failed_commit(message)
    assert (f"pachd refused to drop commit {failed} (UNKNOWN: cannot drop a commit that has "
            f"children: default/raw@{failed})") in message
    assert "has already finished" in message  # it was already finished, with pachd's error
    head = other.inspect_branch("raw", "master").head.id
    assert head != failed and f"The head of 'master' is {head}, not the failed commit" in message
    assert pachd.commit("raw", failed).error.startswith("file / directory path collision")


def test_drop_refused_by_a_dependent_commit_set_finishes_with_the_error(pachd, frame):
    """A downstream branch joins this repo with another: a commit to the other repo during
    the save makes a commit set depending on the save's, so pachd refuses the drop."""
    dataset = _dataset(pachd.address)
    dataset.save(frame)
    client = pachd.client()
    client.create_repo("other")
    client.put_file_bytes(("other", "master"), "/o", b"o")
    client.create_repo("joined")
    client.create_branch("joined", "master", provenance=[
        pfs_pb2.Branch(repo=pfs_pb2.Repo(name=name, type="user"), name="master")
        for name in ("raw", "other")])
    pachd.call_hooks["ModifyFile"] = lambda: client.put_file_bytes(("other", "master"),
                                                                    "/o", b"o2")
    pachd.fail_modify_file_after_chunks = 1
    with pytest.raises(DatasetError, match=r"save failed .*UNAVAILABLE") as excinfo:
        dataset.save(frame.assign(amount=0.0))
    message = str(excinfo.value)
    failed = _failed_commit(message)
    assert f"pachd refused to drop commit {failed}" in message
    assert "cannot be dropped because it has subvenant commit sets" in message
    assert "so it was finished with the error instead" in message
    assert "still the head of 'master' (finished with an error)" in message
    assert f"`pachctl drop commit {failed}`" in message
    commit = pachd.commit("raw", failed)
    assert commit.finished and commit.error.startswith("Kedro save failed: UNAVAILABLE")
    with pytest.raises(DatasetError, match="finished with an error"):
        _dataset(pachd.address).load()  # this project's loads refuse it


def test_a_commit_left_open_by_a_killed_process_is_named_with_the_fix(pachd, frame):
    dataset = _dataset(pachd.address)
    dataset.save(frame)
    left_open = pachd.client().start_commit("raw", "master")  # its writer was SIGKILLed
    with pytest.raises(DatasetError) as excinfo:
        dataset.save(frame)
    message = str(excinfo.value)
    assert f"parent commit default/raw@{left_open.id} has not been finished" in message
    assert "never finished" in message and "pachctl drop commit" in message
    with pytest.raises(DatasetError, match=rf"commit {left_open.id} is still open"):
        _dataset(pachd.address).load()


def test_a_listing_broken_mid_stream_loads_nothing(pachd, spark, frame):
    dataset = _dataset(pachd.address, path="/shards", file_format="parquet_dir")
    dataset.save(spark.createDataFrame(frame).repartition(2))
    pachd.drop_listing_after = 2
    with pytest.raises(DatasetError, match=r"default/raw@[0-9a-f]{32}:/shards.*UNAVAILABLE"):
        _dataset(pachd.address, path="/shards", file_format="parquet_dir").load()


# ---------------------------------------------------------------- auth and TLS
@pytest.fixture(scope="module")
def certificate() -> tuple[bytes, bytes]:
    return self_signed_certificate()


@pytest.fixture
def tls_pachd(certificate):
    with PachdServer(tls=certificate) as server:
        server.require_token = TOKEN
        yield server


def test_token_and_tls_round_trip(tls_pachd, certificate, frame, tmp_path):
    ca_file = tmp_path / "pachd-ca.pem"
    ca_file.write_bytes(certificate[0])
    dataset = _dataset(tls_pachd.url, root_certs_file=str(ca_file),
                       credentials={"auth_token": TOKEN})
    dataset.save(frame)
    pd.testing.assert_frame_equal(dataset.load(), frame)
    assert dataset.pfs_uri().startswith(f"pfs://{tls_pachd.address}/default/raw@")
    from_credentials = _dataset(tls_pachd.url, credentials={
        "auth_token": TOKEN, "root_certs_file": str(ca_file)})
    pd.testing.assert_frame_equal(from_credentials.load(), frame)


@pytest.mark.parametrize(("token", "pachd_says", "we_say"), [
    ("wrong-" + TOKEN, "provided auth token is corrupted or has expired", "A token was sent"),
    (None, "no authentication token", "No token was sent"),
], ids=["wrong", "missing"])
def test_a_refused_token_fails_clearly_without_the_secret(tls_pachd, certificate, tmp_path,
                                                          monkeypatch, token, pachd_says,
                                                          we_say):
    monkeypatch.delenv("PACH_PYTHON_AUTH_TOKEN", raising=False)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(certificate[0])
    credentials = {"auth_token": token} if token else None
    with pytest.raises(DatasetError) as excinfo:
        _dataset(tls_pachd.url, root_certs_file=str(ca_file), credentials=credentials).load()
    message = str(excinfo.value)
    assert f"UNAUTHENTICATED: {pachd_says}" in message and we_say in message
    assert "auth_token" in message and TOKEN not in message


def test_tls_needs_the_servers_ca(tls_pachd, tmp_path):
    wrong_ca = tmp_path / "other-ca.pem"
    wrong_ca.write_bytes(self_signed_certificate()[0])
    with pytest.raises(DatasetError, match=r"Cannot reach pachd at grpcs://.*root_certs_file"):
        _dataset(tls_pachd.url, root_certs_file=str(wrong_ca), connect_timeout=2,
                 credentials={"auth_token": TOKEN}).load()
    with pytest.raises(DatasetError, match=r"If pachd serves TLS, use a grpcs:// address"):
        _dataset(tls_pachd.address, connect_timeout=2).load()
    with pytest.raises(DatasetError, match=r"Cannot read the CA file root_certs_file="):
        _dataset(tls_pachd.url, root_certs_file=str(tmp_path / "missing.pem")).load()
    (tmp_path / "not.pem").write_text("hello")
    with pytest.raises(DatasetError, match=r"holds no PEM certificate"):
        _dataset(tls_pachd.url, root_certs_file=str(tmp_path / "not.pem")).load()


# ------------------------------------------------------------------ arguments
@settings(max_examples=200, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                 st.booleans(), st.text(max_size=5), st.none()))
def test_timeouts_are_positive_finite_seconds_or_a_clear_error(value):
    args = {"repo": "raw", "path": PATH, "file_format": "csv", "pachd_address": "x:1"}
    valid = (isinstance(value, (int, float)) and not isinstance(value, bool)
             and math.isfinite(value) and value > 0)
    for name in ("finish_timeout", "connect_timeout"):
        if valid:
            PachydermDataset(**args, **{name: value})
        else:
            with pytest.raises(DatasetError, match=rf"^{name} must be a positive number"):
                PachydermDataset(**args, **{name: value})
