"""An in-process pachd 2.7 test double (pfs_v2 over real gRPC) and its pytest fixture."""

from .server import CommitView, PachdServer

__all__ = ["CommitView", "PachdServer"]
