"""The pps_v2 pieces a deployment needs: CreatePipeline (create or update) and InspectPipeline.

Each rule follows pachd 2.7's source (pachyderm/pachyderm, ``src/server/pps/server/
api_server.go``: ``CreatePipelineInTransaction``; errors from ``src/server/pps/pps.go``).
Pipelines here never start workers: ``tests/pachyderm_pipelines/worker.py`` runs a job's
``transform.cmd`` as pachd's worker would. Requests are kept (``PachdServer.pipelines``) so
tests can check exactly what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
from google.protobuf import empty_pb2
from python_pachyderm.proto.v2.pps import pps_pb2, pps_pb2_grpc

from .servicer import rpc
from .state import DEFAULT_PROJECT, PfsError

if TYPE_CHECKING:
    from .server import PachdServer


@dataclass
class PipelineRecord:
    request: pps_pb2.CreatePipelineRequest
    version: int


def _key(pipeline: pps_pb2.Pipeline) -> tuple[str, str]:
    return pipeline.project.name or DEFAULT_PROJECT, pipeline.name


def _shown(pipeline: pps_pb2.Pipeline) -> str:
    # src/pps/pps.go Pipeline.String: "<project>/<name>"; the errors quote it (%q)
    project, name = _key(pipeline)
    return f'"{project}/{name}"'


def _pfs_inputs(node: pps_pb2.Input) -> list[pps_pb2.PFSInput]:
    """pps.VisitInput: every PFS input of a (possibly nested) input."""
    found = [node.pfs] if node.HasField("pfs") else []
    for child in [*node.cross, *node.union, *node.join, *node.group]:
        found.extend(_pfs_inputs(child))
    return found


class PpsServicer(pps_pb2_grpc.APIServicer):
    def __init__(self, server: PachdServer) -> None:
        self.server = server
        self.pfs = server.pfs

    @rpc
    def CreatePipeline(self, request, context):
        key = _key(request.pipeline)
        with self.pfs.lock:
            old = self.server.pipelines.get(key)
            if old is not None and not request.update:  # ErrPipelineAlreadyExists
                raise PfsError(grpc.StatusCode.ALREADY_EXISTS,
                               f"pipeline {_shown(request.pipeline)} already exists")
            inputs = _pfs_inputs(request.input)
            for pfs_input in inputs:  # "Verify that all input repos exist"
                self.pfs.repo(pfs_input.project or key[0], pfs_input.repo)
            if old is None:  # "Create output and spec repos" (the spec repo is not modelled)
                if (key[0], key[1]) in self.pfs.repos:
                    raise PfsError(grpc.StatusCode.UNKNOWN,
                                   f"pipeline {key[1]!r} cannot be created because a repo "
                                   "with the same name already exists".replace("'", '"'))
                self.pfs.create_repo(key[0], key[1], f"Output repo for pipeline "
                                     f"{key[0]}/{key[1]}.", False)
            # The output branch's provenance is its inputs' branches: a commit to an input
            # opens an output commit with the same global ID (the job's ID).
            provenance = [(i.project or key[0], i.repo, i.branch or "master") for i in inputs]
            output = self.pfs.repo(*key)
            self.pfs.create_branch(output, request.output_branch or "master", None,
                                   provenance, False)
            stored = pps_pb2.CreatePipelineRequest()
            stored.CopyFrom(request)
            self.server.pipelines[key] = PipelineRecord(stored, (old.version + 1) if old else 1)
        return empty_pb2.Empty()

    @rpc
    def InspectPipeline(self, request, context):
        record = self.server.pipelines.get(_key(request.pipeline))
        if record is None:  # ErrPipelineNotFound
            raise PfsError(grpc.StatusCode.NOT_FOUND,
                           f"pipeline {_shown(request.pipeline)} not found")
        spec = record.request
        return pps_pb2.PipelineInfo(
            pipeline=spec.pipeline, version=record.version,
            details=pps_pb2.PipelineInfo.Details(
                transform=spec.transform, input=spec.input,
                parallelism_spec=spec.parallelism_spec, description=spec.description,
                resource_requests=spec.resource_requests, datum_tries=spec.datum_tries,
                output_branch=spec.output_branch or "master"))
