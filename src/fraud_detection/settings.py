"""Kedro project settings: configuration loader and hooks (one concern per hook)."""

import sys
import warnings

from kedro.config import OmegaConfigLoader

from fraud_detection.datasets.complete_versions import install as load_complete_versions_only
from fraud_detection.hooks.mlflow_tracking import MlflowTrackingHook
from fraud_detection.hooks.model_refs import ModelRefHook
from fraud_detection.hooks.pachyderm_worker import PachydermJobEndHook, PachydermWorkerHook
from fraud_detection.hooks.parameters import ParameterCheckHook
from fraud_detection.hooks.provenance import ProvenanceHook
from fraud_detection.hooks.spark import SparkHooks
from fraud_detection.hooks.spark_cache import SparkCacheHook
from fraud_detection.hooks.unfinished_saves import UnfinishedSavesHook
from fraud_detection.tracking.pfs_mounts import pfs_root
from fraud_detection.tracking.run_record import RunRecords

# Every versioned dataset loads its newest completely saved version, naming those it skips.
load_complete_versions_only()

# The one place hook order is decided. Pluggy calls the last registered hook first, so at
# every hook point the order is the reverse of HOOKS: PachydermWorker, UnfinishedSaves,
# ParameterCheck, ModelRef, Provenance, MlflowTracking, PachydermJobEnd, SparkCache, Spark.
# Hence: the parameters are checked before anything else reads them; the registered models a run
# reads are resolved before Spark starts or any data is read; at a run's end (or error)
# provenance logs the versions still waiting for a digest while the MLflow run is open,
# before the MLflow hook closes it; the MLflow hook waits for the model logging (which
# reads the training rows) before the run's caches go, and they go before the session
# stops; a failed run's half-saved versions are removed first, while Spark runs, so that
# their jobs can be cancelled. The MLflow hook wraps ``before_pipeline_run``: it checks the
# tracking server before the others (Spark) start and opens the run after them. The hooks
# share one record of each run (RUNS: IDs, git, the versions read and written) instead of
# reading each other's tags. In a Pachyderm worker, the worker hook hands the MLflow hook the
# job's run before it opens one, and PachydermJobEnd, after the MLflow hook ended the datum's
# part of that run, gives the run the status of all the job's datums.
RUNS = RunRecords()
WORKER = PachydermWorkerHook()
HOOKS = (SparkHooks(), SparkCacheHook(), PachydermJobEndHook(WORKER), MlflowTrackingHook(RUNS),
         ProvenanceHook(RUNS), ModelRefHook(), ParameterCheckHook(), UnfinishedSavesHook(),
         WORKER)  # first at the end: joins the job's run, writes the run ID while it is open
# kedro-viz (`make viz`) would otherwise hook into every run to write dataset statistics
# and run events under .viz/: a run does only what this project's hooks do.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-viz",)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {
        "spark": ["spark*", "spark*/**"],
        "mlflow": ["mlflow*", "mlflow*/**"],
    },
    # An environment's parameters and MLflow settings change only the keys they name
    # (conf/local/parameters_train.yml with train.model.max_depth alone keeps the rest of
    # train). Kedro's default replaces each top-level key whole, and then even
    # `--params train.model.max_depth=5` drops the rest of train once any env has a
    # parameters file. Catalog entries are still replaced whole.
    "merge_strategy": {"parameters": "soft", "mlflow": "soft"},
    # ${python_prefix:}: the environment the project runs in (.venv), where `make install`
    # puts the JVM class archive (tooling/jvm_archive.py) that spark.yml points at.
    # ${pfs_root:}: /pfs in a Pachyderm worker (conf/pachyderm_worker), or
    # $FRAUD_DETECTION_PFS_ROOT.
    "custom_resolvers": {"python_prefix": lambda: sys.prefix, "pfs_root": pfs_root},
}

# Kedro 1.7 itself calls OmegaConf's deprecated register_new_resolver on every config load.
warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated")
