"""The test pachd against the real python-pachyderm 7.6 client over real gRPC."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from python_pachyderm.pfs import uuid_re
from python_pachyderm.proto.v2.pfs import pfs_pb2


@pytest.fixture
def client(pachd):
    return pachd.client()


def _eventually(call, timeout: float = 10.0):
    """Retry while gRPC's reconnect backoff (shared by channels to one address) runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _status(excinfo) -> tuple[grpc.StatusCode, str]:
    err = excinfo.value
    while not isinstance(err, grpc.RpcError):
        err = err.__cause__
    return err.code(), err.details()


def test_repos_and_projects(client, pachd):
    client.create_repo("raw", description="transactions")
    info = client.inspect_repo("raw")
    assert (info.repo.project.name, info.description) == ("default", "transactions")
    assert [r.repo.name for r in client.list_repo()] == ["raw"]

    with pytest.raises(grpc.RpcError) as excinfo:
        client.create_repo("raw")
    assert _status(excinfo) == (grpc.StatusCode.ALREADY_EXISTS, "repo default/raw already exists")
    with pytest.raises(grpc.RpcError) as excinfo:
        client.inspect_repo("nope")
    assert _status(excinfo) == (grpc.StatusCode.NOT_FOUND, "repo default/nope not found")
    with pytest.raises(grpc.RpcError) as excinfo:
        client.create_repo("bad name")
    assert _status(excinfo)[0] == grpc.StatusCode.INVALID_ARGUMENT

    client.create_project("fraud")
    client.create_repo("raw", project_name="fraud")
    assert pachd.repos("fraud") == ["raw"]
    with pytest.raises(grpc.RpcError) as excinfo:
        client.create_repo("raw", project_name="missing")
    assert _status(excinfo) == (grpc.StatusCode.NOT_FOUND, 'project "missing" not found')
    client.delete_repo("raw")
    assert pachd.repos() == []


def test_commits_are_copy_on_write_with_global_uuid_ids(client, pachd):
    client.create_repo("raw")
    first = client.start_commit("raw", "master", description="first")
    assert uuid_re.fullmatch(first.id)
    client.put_file_bytes(first, "/a.csv", b"a1")
    client.finish_commit(first)

    second = client.start_commit("raw", "master")
    assert client.inspect_branch("raw", "master").head.id == second.id
    client.put_file_bytes(second, "/b.csv", b"b2")
    client.put_file_bytes(second, "/a.csv", b"a2")
    info = next(client.inspect_commit(second))
    assert not info.HasField("finished") and info.parent_commit.id == first.id
    client.finish_commit(second, description="second", error="job failed")

    assert pachd.files("raw", first.id) == {"/a.csv": b"a1"}
    assert pachd.files("raw", second.id) == {"/a.csv": b"a2", "/b.csv": b"b2"}
    view = pachd.commit("raw", second.id)
    assert (view.description, view.error, view.finished) == ("second", "job failed", True)
    assert pachd.commit("raw", first.id).description == "first"

    with pytest.raises(grpc.RpcError) as excinfo:
        client.finish_commit(second)
    assert _status(excinfo) == (grpc.StatusCode.UNKNOWN,  # ErrCommitFinished has no status
                                f"commit default/raw@{second.id} has already finished")
    client.start_commit("raw", "master")
    with pytest.raises(grpc.RpcError) as excinfo:
        client.start_commit("raw", "master")
    assert "has not been finished" in _status(excinfo)[1]


def test_ancestry_refs_and_missing_refs(client):
    client.create_repo("raw")
    for n in range(3):
        client.put_file_bytes(("raw", "master"), "/n", str(n).encode())
    assert client.get_file(("raw", "master"), "/n").read() == b"2"
    assert client.get_file(("raw", "master^"), "/n").read() == b"1"
    assert client.get_file(("raw", "master~2"), "/n").read() == b"0"
    assert client.get_file(("raw", "master^^"), "/n").read() == b"0"

    with pytest.raises(grpc.RpcError) as excinfo:
        client.inspect_commit(("raw", "master~9")).__next__()
    assert _status(excinfo) == (grpc.StatusCode.NOT_FOUND,
                                "commit default/raw@master~9 not found")
    with pytest.raises(grpc.RpcError) as excinfo:
        client.inspect_branch("raw", "dev")
    assert _status(excinfo) == (grpc.StatusCode.NOT_FOUND,
                                'branch "dev" not found in repo default/raw')
    missing = "0123456789ab4def0123456789abcdef"
    with pytest.raises(grpc.RpcError) as excinfo:
        next(client.inspect_commit(("raw", missing)))
    assert _status(excinfo) == (grpc.StatusCode.NOT_FOUND,
                                f"commit default/raw@{missing} not found")


def test_global_commit_ids_span_provenance(client, pachd):
    client.create_repo("raw")
    client.create_repo("features")
    raw_master = pfs_pb2.Branch(repo=pfs_pb2.Repo(name="raw", type="user"), name="master")
    client.create_branch("features", "master", provenance=[raw_master])

    commit = client.start_commit("raw", "master")
    client.put_file_bytes(commit, "/in.csv", b"x")
    client.finish_commit(commit)
    commit_set = list(client.inspect_commit(commit.id))  # a str ID: InspectCommitSet
    assert sorted(i.commit.branch.repo.name for i in commit_set) == ["features", "raw"]
    downstream = pachd.commit("features", commit.id)
    assert (downstream.origin, downstream.finished) == ("AUTO", False)

    with pytest.raises(grpc.RpcError) as excinfo:
        client.start_commit("features", "master")
    assert "cannot start a commit on an output branch" in _status(excinfo)[1]
    client.put_file_bytes(("features", commit.id), "/out.csv", b"y")  # the "job"
    client.finish_commit(("features", commit.id))
    assert client.wait_commit(commit.id)[-1].commit.id == commit.id
    assert client.get_file(("features", commit.id), "/out.csv").read() == b"y"


def test_files_listing_and_not_found(client):
    client.create_repo("raw")
    with client.modify_file_client(("raw", "master")) as mfc:
        mfc.put_file_from_bytes("/dir/a.parquet", b"aa")
        mfc.put_file_from_bytes("/dir/sub/b.parquet", b"bbb")
        mfc.put_file_from_bytes("/empty.txt", b"")
    head = ("raw", "master")
    assert client.inspect_file(head, "/dir/sub/b.parquet").size_bytes == 3
    assert client.inspect_file(head, "/dir").size_bytes == 5
    assert [f.file.path for f in client.list_file(head, "/dir")] == ["/dir/a.parquet",
                                                                     "/dir/sub/"]
    assert [f.file.path for f in client.walk_file(head, "/dir")] == [
        "/dir/", "/dir/a.parquet", "/dir/sub/", "/dir/sub/b.parquet"]
    assert [f.file.path for f in client.glob_file(head, "/dir/**.parquet")] == [
        "/dir/a.parquet", "/dir/sub/b.parquet"]
    with pytest.raises(StopIteration):  # python-pachyderm on an empty file
        client.get_file(head, "/empty.txt")

    with pytest.raises(ConnectionError) as excinfo:
        client.get_file(head, "/nope.csv")
    commit_id = client.inspect_branch("raw", "master").head.id
    assert _status(excinfo) == (
        grpc.StatusCode.NOT_FOUND,
        f"file /nope.csv not found in repo default/raw at commit {commit_id}")
    assert client.path_exists(head, "/dir") and not client.path_exists(head, "/nope.csv")

    client.delete_file(("raw", "master"), "/dir")  # no trailing slash: the file "/dir" only
    assert [f.file.path for f in client.list_file(head, "/")] == ["/dir/", "/empty.txt"]
    client.delete_file(("raw", "master"), "/dir/")
    assert [f.file.path for f in client.list_file(head, "/")] == ["/empty.txt"]


def test_large_files_stream_in_chunks_and_frames(client, pachd):
    client.create_repo("raw")
    blob = bytes(range(256)) * (25 * 4096)  # 25 MiB: two 19 MiB ModifyFile chunks
    client.put_file_bytes(("raw", "master"), "/big.bin", blob)
    assert client.inspect_file(("raw", "master"), "/big.bin").size_bytes == len(blob)
    assert client.get_file(("raw", "master"), "/big.bin").read() == blob


def test_drop_squash_and_wait(client, pachd):
    client.create_repo("raw")
    ids = []
    for n in range(3):
        client.put_file_bytes(("raw", "master"), "/n", str(n).encode())
        ids.append(client.inspect_branch("raw", "master").head.id)
    with pytest.raises(grpc.RpcError) as excinfo:
        client.drop_commit(ids[1])
    assert "cannot drop a commit that has children" in _status(excinfo)[1]
    client.squash_commit(ids[1])
    assert pachd.commit("raw", ids[2]).parent_id == ids[0]
    client.drop_commit(ids[2])
    assert client.inspect_branch("raw", "master").head.id == ids[0]

    open_commit = client.start_commit("raw", "master")
    threading.Timer(0.2, client.finish_commit, args=[open_commit]).start()
    infos = client.wait_commit(("raw", open_commit.id))
    assert infos[0].HasField("finished")


def test_get_file_drop_returns_truncated_bytes_silently(client, pachd):
    client.create_repo("raw")
    client.put_file_bytes(("raw", "master"), "/f", b"x" * (3 * 1024 * 1024))
    pachd.drop_get_file_after = 1024 * 1024 + 10
    data = client.get_file(("raw", "master"), "/f").read()
    # python-pachyderm swallows the error (and read() even drops the last byte it got)
    assert 1024 * 1024 <= len(data) < 1024 * 1024 + 10 and set(data) == {ord("x")}
    assert pachd.faults_triggered == ["GetFile:/f:1048586"]


@pytest.mark.parametrize("partial", [False, True])
def test_modify_file_fault(client, pachd, partial):
    client.create_repo("raw")
    commit = client.start_commit("raw", "master")
    pachd.fail_modify_file_after_chunks = 1
    pachd.modify_file_fault_partial = partial
    with pytest.raises(grpc.RpcError) as excinfo, client.modify_file_client(commit) as mfc:
        mfc.put_file_from_bytes("/a", b"first")
        mfc.put_file_from_bytes("/b", b"second")
    assert _status(excinfo)[0] == grpc.StatusCode.UNAVAILABLE
    expected = {"/a": b"first", "/b": b""} if partial else {}
    assert pachd.files("raw", commit.id) == expected


def test_unavailable_refused_and_auth(client, pachd):
    client.create_repo("raw")
    pachd.unavailable = True
    with pytest.raises(grpc.RpcError) as excinfo:
        client.inspect_repo("raw")
    assert _status(excinfo)[0] == grpc.StatusCode.UNAVAILABLE
    pachd.reset_faults()

    pachd.refuse_connections()
    with pytest.raises(ConnectionError):
        client.inspect_repo("raw")
    pachd.accept_connections()
    fresh = pachd.client()
    assert _eventually(lambda: fresh.inspect_repo("raw")).repo.name == "raw"
    assert fresh.health_check().status == 1  # SERVING
    assert fresh.get_remote_version().minor == 7

    pachd.require_token = "s3cret"
    with pytest.raises(grpc.RpcError) as excinfo:
        fresh.inspect_repo("raw")
    assert _status(excinfo)[0] == grpc.StatusCode.UNAUTHENTICATED
    assert pachd.client(auth_token="s3cret").inspect_repo("raw").repo.name == "raw"


def test_server_starts_fast():
    from tests.pachyderm_server import PachdServer

    started = time.perf_counter()
    with PachdServer() as server:
        assert server.address.startswith("127.0.0.1:")
        assert server.client().list_repo() is not None
    assert time.perf_counter() - started < 2
