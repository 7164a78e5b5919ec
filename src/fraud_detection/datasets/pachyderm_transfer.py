"""Moving bytes between PFS and local disk, streamed and verified.

Downloads stream ``get_file`` to disk chunk by chunk and compare the byte count with the
size pachd reports for the same pinned commit: python-pachyderm 7.6 swallows a gRPC
error in the middle of a ``GetFile`` stream and hands back truncated bytes, so the size
check is what turns a broken stream into an error instead of wrong data. Uploads read
local files lazily in the client's 19 MiB chunks, all in one ``ModifyFile`` stream.
"""

from __future__ import annotations

import io
from pathlib import Path

from kedro.io.core import DatasetError

CHUNK_SIZE = 4 * 1024 * 1024
FILE, DIRECTORY = 1, 2  # pfs_v2.FileType


class _LazyReader(io.RawIOBase):
    """Opens its file on first read and closes it at EOF, so many files stay cheap."""

    def __init__(self, path: Path):
        super().__init__()
        self._path = path
        self._handle = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.closed:
            return b""
        if self._handle is None:
            self._handle = open(self._path, "rb")  # noqa: SIM115 - closed at EOF/close()
        data = self._handle.read(size)
        if not data:
            self.close()
        return data

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        super().close()


def download_file(client, commit, pfs_path: str, expected_size: int, local: Path,
                  location: str) -> None:
    """Stream one PFS file to ``local``; DatasetError unless exactly the expected bytes."""
    local.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with local.open("wb") as out:
        try:
            stream = client.get_file(commit, pfs_path)
        except StopIteration:  # python-pachyderm: an empty file has no first frame
            stream = None
        if stream is not None:
            try:
                while chunk := stream.read(CHUNK_SIZE):
                    out.write(chunk)
                    written += len(chunk)
            finally:
                stream.close()
    if written != expected_size:
        local.unlink(missing_ok=True)
        raise DatasetError(
            f"{location}: download of {pfs_path} was cut short: received {written} of "
            f"{expected_size} bytes (the GetFile stream from pachd broke off). Nothing was "
            "loaded; retry the run once pachd is healthy."
        )


def download(client, commit, pfs_path: str, is_directory: bool, local: Path,
             location: str) -> int:
    """Download a file or a whole directory at ``commit``; returns the number of files."""
    if not is_directory:
        info = client.inspect_file(commit, pfs_path)
        if info.file_type == DIRECTORY:
            raise DatasetError(
                f"{location}: is a directory; use file_format 'parquet_dir' (or "
                "'spark_model') for directories."
            )
        download_file(client, commit, pfs_path, info.size_bytes, local, location)
        return 1
    entries = list(client.walk_file(commit, pfs_path))
    if entries and entries[0].file_type == FILE:
        raise DatasetError(
            f"{location}: is a single file, but this file_format expects a directory; "
            "use 'parquet', 'csv' or 'json' for one file."
        )
    prefix = pfs_path.rstrip("/") + "/"
    local.mkdir(parents=True, exist_ok=True)
    count = 0
    for entry in entries:
        if entry.file_type != FILE:
            continue
        relative = entry.file.path[len(prefix):]
        download_file(client, commit, entry.file.path, entry.size_bytes,
                      local / relative, location)
        count += 1
    return count


def upload(client, commit, delete_paths: list[str], files: list[tuple[str, Path]],
           extra: dict[str, bytes]) -> None:
    """One ModifyFile stream (pachd applies it whole or not at all): delete
    ``delete_paths``, then write every file and ``extra``."""
    readers = []
    try:
        with client.modify_file_client(commit) as mfc:
            for path in delete_paths:
                mfc.delete_file(path)
            for pfs_path, local in files:
                reader = _LazyReader(local)
                readers.append(reader)
                mfc.put_file_from_fileobj(pfs_path, reader)
            for pfs_path, content in extra.items():
                mfc.put_file_from_bytes(pfs_path, content)
    finally:
        for reader in readers:
            reader.close()
