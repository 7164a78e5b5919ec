"""The Kedro pipeline deployed as Pachyderm pipelines: typed settings and pipeline specs.

Pure code (settings in, JSON specs out): the CLI (:mod:`fraud_detection.cli_pachyderm`) reads
the configuration and the catalog and sends the specs to pachd.
"""

from .config import PipelinesConfig, PipelinesConfigError, SecretRef, StageConfig
from .specs import STAGES, WORKER_ENV, StageIO, pipeline_specs, stage_io

__all__ = ["STAGES", "WORKER_ENV", "PipelinesConfig", "PipelinesConfigError", "SecretRef",
           "StageConfig", "StageIO", "pipeline_specs", "stage_io"]
