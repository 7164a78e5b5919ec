"""Registered model versions a run reads are resolved before any node runs.

A scoring run reads its batch, validates it and writes the quarantine before its last node
loads the model: an unknown alias or version would fail only after that, leaving written
outputs behind. Resolving every ``MlflowModelDataset`` among the pipeline's inputs first
(registry calls only, no download) fails such a run before anything is read or written, with
the model's aliases and versions in the message, and pins the version the run then loads.
"""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io.core import DatasetError

from fraud_detection.datasets.mlflow_model import MlflowModelDataset

logger = logging.getLogger(__name__)


class ModelRefHook:
    """Resolves the run's registered-model inputs at pipeline start."""

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        for name in sorted(pipeline.inputs()):
            if name == "parameters" or name.startswith("params:"):
                continue
            dataset = catalog.get(name)
            if not isinstance(dataset, MlflowModelDataset):
                continue
            try:
                version = dataset.resolve()
            except DatasetError as error:
                raise DatasetError(f"{name}: {error}") from None
            logger.info("%s: version %s", name, version)
