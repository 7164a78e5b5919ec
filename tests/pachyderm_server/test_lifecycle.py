"""The test pachd's commit lifecycle, listings, auth and TLS: pachd 2.7's behaviour (each
rule's source is named in state.py / servicer.py / server.py), seen through the real
python-pachyderm 7.6 client."""

from __future__ import annotations

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from python_pachyderm.proto.v2.pfs import pfs_pb2, pfs_pb2_grpc

from tests.pachyderm_server import PachdServer
from tests.pachyderm_server.tls import self_signed_certificate

FINISHED = pfs_pb2.CommitState.FINISHED


@pytest.fixture
def client(pachd):
    return pachd.client()


def _status(excinfo) -> tuple[grpc.StatusCode, str]:
    err = excinfo.value
    while not isinstance(err, grpc.RpcError):
        err = err.__cause__
    return err.code(), err.details()


def _head(client, repo: str = "raw") -> str:
    return client.inspect_branch(repo, "master").head.id


def test_finish_is_asynchronous_and_reads_wait_for_finished(client, pachd):
    pachd.finishing_delay = 0.3
    client.create_repo("raw")
    commit = client.start_commit("raw", "master")
    assert _head(client) == commit.id  # StartCommit moves the head at once
    client.put_file_bytes(commit, "/a", b"1")
    client.finish_commit(commit)
    info = next(client.inspect_commit(commit))
    assert info.HasField("finishing") and not info.HasField("finished")
    with pytest.raises(grpc.RpcError) as excinfo:
        client.finish_commit(commit)
    assert _status(excinfo) == (grpc.StatusCode.UNKNOWN,
                                f"commit default/raw@{commit.id} has already finished")
    # A child may start on a finishing parent; a read of the finishing commit waits.
    assert client.get_file(("raw", commit.id), "/a").read() == b"1"
    assert pachd.commit("raw", commit.id).finished
    assert next(client.inspect_commit(commit, FINISHED)).HasField("finished")


def test_errored_commit_stays_the_head_and_is_readable(client, pachd):
    client.create_repo("raw")
    client.put_file_bytes(("raw", "master"), "/a", b"good")
    commit = client.start_commit("raw", "master")
    client.put_file_bytes(commit, "/a", b"partial")
    client.finish_commit(commit, error="job failed")
    assert _head(client) == commit.id
    assert client.get_file(("raw", "master"), "/a").read() == b"partial"
    nxt = client.start_commit("raw", "master")  # the next commit starts from the last good
    assert pachd.files("raw", nxt.id) == {"/a": b"good"}


def test_validation_fails_a_file_directory_collision(client, pachd):
    pachd.finishing_delay = 0.1
    client.create_repo("raw")
    commit = client.start_commit("raw", "master")
    with client.modify_file_client(commit) as mfc:
        mfc.put_file_from_bytes("/model", b"file")
        mfc.put_file_from_bytes("/model/part-0", b"dir")
    client.finish_commit(commit)
    assert not next(client.inspect_commit(commit)).error  # only once pachd validated it
    info = next(client.inspect_commit(commit, FINISHED))
    assert info.error == "file / directory path collision (/model/part-0)"


def test_drop_moves_the_head_back_or_to_a_new_empty_commit(client, pachd):
    client.create_repo("raw")
    first = client.start_commit("raw", "master")
    client.put_file_bytes(first, "/a", b"1")
    client.finish_commit(first)
    second = client.start_commit("raw", "master")  # open: dropped without finishing
    client.put_file_bytes(second, "/a", b"2")
    client.drop_commit(second.id)
    assert _head(client) == first.id
    assert client.get_file(("raw", "master"), "/a").read() == b"1"

    client.drop_commit(first.id)  # no parent: pachd makes an empty commit the head
    empty = pachd.commit("raw")
    assert empty.id not in (first.id, second.id) and empty.files == {}
    assert (empty.origin, empty.finished) == ("AUTO", True)


def test_drop_refuses_children_and_dependent_commit_sets(client, pachd):
    client.create_repo("raw")
    client.create_repo("other")
    client.create_repo("joined")
    client.put_file_bytes(("other", "master"), "/o", b"o")
    client.create_branch("joined", "master", provenance=[
        pfs_pb2.Branch(repo=pfs_pb2.Repo(name=name, type="user"), name="master")
        for name in ("raw", "other")])
    first = client.start_commit("raw", "master")  # also opens joined@<same id>
    client.put_file_bytes(("other", "master"), "/o", b"o2")  # joined gets a child commit
    other_id = _head(client, "other")
    assert pachd.commit("joined", other_id).parent_id == first.id

    with pytest.raises(grpc.RpcError) as excinfo:
        client.drop_commit(first.id)
    assert _status(excinfo) == (
        grpc.StatusCode.UNKNOWN,
        (f'commit set "id:\\"{first.id}\\"" cannot be dropped because it has subvenant '
        f'commit sets: [id:"{other_id}"]'))
    assert _head(client) == first.id

    plain = client.start_commit("raw", "plain")
    client.finish_commit(plain)
    client.put_file_bytes(("raw", "plain"), "/p", b"child")
    with pytest.raises(grpc.RpcError) as excinfo:
        client.drop_commit(plain.id)
    assert _status(excinfo) == (grpc.StatusCode.UNKNOWN,
                                f"cannot drop a commit that has children: default/raw@{plain.id}")


def test_waiting_on_a_dropped_commit_fails(client, pachd):
    client.create_repo("raw")
    commit = client.start_commit("raw", "master")
    pachd.call_hooks["InspectCommit"] = lambda: pachd.client().drop_commit(commit.id)
    with pytest.raises(grpc.RpcError) as excinfo:
        next(client.inspect_commit(commit, FINISHED))
    assert _status(excinfo)[0] in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.NOT_FOUND)


def test_walk_and_glob_results_and_order(client, pachd):
    client.create_repo("raw")
    commit = client.start_commit("raw", "master")
    with pytest.raises(grpc.RpcError) as excinfo, client.modify_file_client(commit) as mfc:
        mfc.put_file_from_bytes("/bad[1]", b"x")  # ValidateFilename
    assert _status(excinfo) == (
        grpc.StatusCode.UNKNOWN,
        "path (/bad[1]) invalid: globbing character ([) not allowed in path")
    client.finish_commit(commit)
    commit = client.start_commit("raw", "master")
    with client.modify_file_client(commit) as mfc:
        for path in ("/dir/sub/b.parquet", "/dir-a", "/dir/a.parquet", "/z"):
            mfc.put_file_from_bytes(path, path.encode())
    client.finish_commit(commit)
    head = ("raw", commit.id)
    assert [f.file.path for f in client.walk_file(head, "/")] == [
        "/", "/dir-a", "/dir/", "/dir/a.parquet", "/dir/sub/", "/dir/sub/b.parquet", "/z"]
    assert [f.file.path for f in client.glob_file(head, "/dir/*")] == [
        "/dir/a.parquet", "/dir/sub/"]
    with pytest.raises(grpc.RpcError) as excinfo:
        list(client.walk_file(head, "/nope"))
    assert _status(excinfo) == (grpc.StatusCode.NOT_FOUND,
                                f"commit/{commit.id} does not contain item: (/nope)")

    pachd.drop_listing_after = 2
    with pytest.raises(grpc.RpcError) as excinfo:
        list(client.walk_file(head, "/"))
    assert _status(excinfo)[0] == grpc.StatusCode.UNAVAILABLE


def test_auth_metadata_as_pachd_reads_it(pachd):
    pachd.require_token = "s3cret"
    stub = pfs_pb2_grpc.APIStub(grpc.insecure_channel(pachd.address))
    request = pfs_pb2.ListRepoRequest()
    for metadata, expected in [
        ((), (grpc.StatusCode.UNAUTHENTICATED, "no authentication token (try logging in)")),
        ((("authn-token", "nope"),), (
            grpc.StatusCode.UNAUTHENTICATED,
            "provided auth token is corrupted or has expired (try logging in again)")),
        ((("authn-token", "s3cret"), ("authn-token", "s3cret")), (
            grpc.StatusCode.UNKNOWN, "multiple authentication token keys found in context")),
    ]:
        with pytest.raises(grpc.RpcError) as excinfo:
            list(stub.ListRepo(request, metadata=metadata))
        assert (excinfo.value.code(), excinfo.value.details()) == expected
    assert list(stub.ListRepo(request, metadata=(("authn-token", "s3cret"),))) == []
    assert pachd.client().health_check().status == 1  # health checks need no token


def test_tls_with_a_self_signed_certificate():
    with PachdServer(tls=self_signed_certificate()) as server:
        assert server.url.startswith("grpcs://127.0.0.1:")
        client = server.client()
        client.create_repo("raw")
        assert [r.repo.name for r in client.list_repo()] == ["raw"]


_SEGMENT = st.text(alphabet="ab-_.0", min_size=1, max_size=3).filter(
    lambda s: s not in (".", ".."))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_SEGMENT, min_size=1, max_size=3).map(lambda p: "/" + "/".join(p)),
                min_size=1, max_size=8, unique=True))
def test_walk_lists_every_file_and_directory_in_byte_order(paths):
    """driver_file.go walkFile over fileset/dir_inserter.go: each file once, each parent
    directory (ending in "/") once before its contents, all in byte order of the path."""
    from tests.pachyderm_server.state import Pfs

    files = {p: b"" for p in paths if not any(q.startswith(p + "/") for q in paths)}
    pfs = Pfs()
    pfs.create_repo("default", "raw", "", False)
    commit = pfs.start_commit(pfs.repo("default", "raw"), "master", None, "")
    commit.files = files
    walked = [entry.path for entry in pfs.walk(commit, "/")]
    dirs = {p[: i + 1] for p in files for i, c in enumerate(p) if c == "/"}
    assert walked == sorted(dirs | set(files))
    assert len(walked) == len(set(walked))
