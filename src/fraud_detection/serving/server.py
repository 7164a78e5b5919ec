"""Serve a JVM-free model over HTTP in one process: MLflow's own scoring app, one Python.

``mlflow models serve --env-manager local`` runs two Pythons one after the other: the
``mlflow`` command (it imports MLflow, resolves and downloads the model) and the uvicorn
worker it spawns (it imports MLflow again and loads the model), and both stay resident. This
server loads the model once and runs the same app, :func:`mlflow.pyfunc.scoring_server.init`,
with uvicorn in the same process, so the protocol is MLflow's to the byte: ``/invocations``
with ``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs`` (JSON), CSV or
Parquet; ``/ping``, ``/health``, ``/version``; MLflow's error JSON; its request timeout.

    fraud-detection-serve -m "models:/fraud-detector@champion" -p 5001
    python -m fraud_detection.serving.server -m "models:/fraud-detector@champion" -p 5001

What it saves, and how (``docs/performance.md#online-scoring``):

- no second process and no second MLflow import;
- ``pyspark`` is kept out: MLflow imports it whenever it is installed (to map Spark types),
  which costs time and memory in a process that never starts Spark; a Spark-flavored model is
  refused with the command that serves it;
- MLflow's check of the model's requirements against the environment scans every installed
  distribution (about a second); the same check is made here against the model's own pins;
- the objects of the loaded process are frozen out of the garbage collector's reach
  (:func:`gc.freeze`), so full collections do not walk MLflow's modules during requests.

A model that cannot be loaded (unknown name, alias or version, unreachable tracking server)
stops the command with two lines and exit status 1, no traceback.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fraud_detection.redaction import redact

logger = logging.getLogger("fraud_detection.serving.server")
PROG = "fraud-detection-serve"
# MLflow's python_function loader of a Spark model: it starts a JVM in the serving process.
SPARK_LOADER = "mlflow.spark"
SPARK_PACKAGES = ("pyspark", "py4j")
CONNECT_TIMEOUT = 10.0  # seconds to reach the tracking server before giving up


class ServeError(Exception):
    """A model that cannot be served: the first line says what, the second what to do."""


def keep_spark_out() -> None:
    """Make ``import pyspark`` fail in this process, before MLflow is imported: MLflow then
    takes Spark as absent (``mlflow.types.schema.HAS_PYSPARK``) and never loads it."""
    sys.modules.setdefault("pyspark", None)  # type: ignore[arg-type]  # no-op once imported


def load(model_uri: str) -> Any:
    """The ``python_function`` of ``model_uri``, downloaded and loaded once."""
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    _check_reachable(model_uri)
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri))
        _check_flavor(model_uri, local)
        _warn_requirement_mismatches(local)
        return mlflow.pyfunc.load_model(str(local), suppress_warnings=True, **_model_config())
    except ServeError:
        raise
    except ImportError as error:
        if (error.name or "").split(".")[0] not in SPARK_PACKAGES:
            raise ServeError(f"cannot load {model_uri}: {_first_line(error)}\nInstall what "
                             "the model's requirements.txt lists.") from None
        raise ServeError(
            f"cannot load {model_uri}: its code imports {error.name}, which this JVM-free server "
            f"keeps out\nServe it with: mlflow models serve -m '{model_uri}' --env-manager "
            "local") from None
    except (MlflowException, OSError, ValueError) as error:
        raise ServeError(f"cannot load {model_uri}: {_first_line(error)}\n"
                         f"{_hint(model_uri)}") from None


def _model_config() -> dict[str, Any]:
    """``SERVING_MODEL_CONFIG`` (JSON), which MLflow's scoring server passes to the model."""
    from mlflow.pyfunc.scoring_server import SERVING_MODEL_CONFIG

    config = os.environ.get(SERVING_MODEL_CONFIG)
    return {"model_config": json.loads(config)} if config else {}


def _check_reachable(model_uri: str) -> None:
    """Fail at once when the registry or tracking server a ``models:/`` or ``runs:/`` URI needs
    refuses connections or has no address (MLflow would retry for minutes first); a server
    that answers is left to MLflow, whose retries cover its passing errors."""
    from mlflow import get_registry_uri, get_tracking_uri

    if not model_uri.startswith(("models:/", "runs:/")):
        return
    server = get_registry_uri() if model_uri.startswith("models:/") else get_tracking_uri()
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        raise ServeError(
            f"cannot load {model_uri}: the tracking server {redact(server)} is unreachable "
            f"({error.strerror or error})\nStart it, or point MLFLOW_TRACKING_URI (and "
            "MLFLOW_REGISTRY_URI) at a running one.") from None


def _check_flavor(model_uri: str, local: Path) -> None:
    from mlflow.models import Model

    flavor = Model.load(str(local / "MLmodel")).flavors.get("python_function")
    if flavor is None:
        raise ServeError(f"cannot serve {model_uri}: the model has no python_function flavor\n"
                         "Log it with a python_function flavor (training runs log one).")
    if flavor.get("loader_module") == SPARK_LOADER:
        raise ServeError(
            f"cannot serve {model_uri}: its python_function is Spark's (it needs a JVM)\n"
            f"Serve it with: mlflow models serve -m '{model_uri}' --env-manager local")


def _warn_requirement_mismatches(local: Path) -> None:
    """MLflow's warning when the environment misses a pin of the model's requirements.txt,
    from the pins' own distributions (MLflow maps every installed one first)."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import InvalidRequirement, Requirement

    path = local / "requirements.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    for line in (line.strip() for line in lines):
        try:
            required = Requirement(line)
        except InvalidRequirement:
            continue  # blank, a comment, an option or a file: nothing to compare
        if required.marker and not required.marker.evaluate():
            continue
        try:
            installed = version(required.name)
        except PackageNotFoundError:
            installed = None
        if installed is None or not required.specifier.contains(installed, prereleases=True):
            logger.warning("The model requires %s; this environment has %s", line,
                           installed or "no such package")


def _first_line(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    text = redact(message.strip().splitlines()[0] if message.strip() else message)
    return text if len(text) <= 400 else text[:400] + "..."


def _hint(model_uri: str) -> str:
    from mlflow import get_registry_uri, get_tracking_uri

    if model_uri.startswith("models:/"):
        registry = redact(get_registry_uri())
        try:
            return _registered_choices(model_uri, registry)
        except Exception:  # noqa: BLE001 - the hint is a courtesy: never hide the error
            return (f"Check the model name, alias or version in the registry {registry} "
                    "(MLFLOW_REGISTRY_URI / MLFLOW_TRACKING_URI).")
    return (f"Check the model URI (a models:/, runs:/ or a local folder with an MLmodel) and "
            f"the tracking server {redact(get_tracking_uri())} (MLFLOW_TRACKING_URI).")


def _spark_in_process() -> str:
    """Whether Spark's Python side is loaded here: said at startup, tested."""
    loaded = sorted(name for name, module in sys.modules.items()
                    if module is not None and name.split(".")[0] in SPARK_PACKAGES)
    return f"Spark modules loaded: {', '.join(loaded[:5])}" if loaded else "no pyspark loaded"


def _registered_choices(model_uri: str, registry: str) -> str:
    """What the registry holds under the URI's model name: its aliases and versions, or the
    registered names when it has none by that name."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    name = model_uri.removeprefix("models:/").split("@")[0].split("/")[0]
    client = MlflowClient()
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        names = sorted(m.name for m in client.search_registered_models(max_results=20))
        return (f"The registry {registry} has no model {name!r}; it has: "
                f"{', '.join(names) or 'none'}. Set MLFLOW_TRACKING_URI to the right one.")
    versions = sorted(int(v.version) for v in client.search_model_versions(
        f"name = '{name}'", max_results=200))
    aliases = ", ".join(f"{a} -> {v}" for a, v in sorted((model.aliases or {}).items()))
    return (f"Model {name!r} has aliases: {aliases or 'none'}; versions: "
            f"{', '.join(map(str, versions)) or 'none'}. Serve one of them "
            f"(models:/{name}@<alias> or models:/{name}/<version>).")


def build_app(model_uri: str, timeout: int | None = None) -> Any:
    """MLflow's scoring app around the loaded model (what its uvicorn worker builds)."""
    if timeout is not None:  # what ``mlflow models serve -t`` sets for its worker
        os.environ["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"] = str(timeout)
    from mlflow.pyfunc import scoring_server

    return scoring_server.init(load(model_uri))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, add_help=False,
        description="Serve a model's JVM-free python_function over HTTP with MLflow's scoring "
                    "protocol, in one process.")
    parser.add_argument("--help", action="help", help="show this help and exit")
    parser.add_argument("-m", "--model-uri", required=True,
                        help="models:/<name>@<alias>, models:/<name>/<version>, runs:/... "
                             "or a local model folder")
    parser.add_argument("-h", "--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("-p", "--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument("-t", "--timeout", type=int, default=None,
                        help="seconds before a request is answered 504 (MLflow's default 60)")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--no-access-log", action="store_true",
                        help="do not log each request")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``fraud-detection-serve``: load the model, then answer until stopped (Ctrl-C, SIGTERM)."""
    args = _parser().parse_args(argv)
    began = time.perf_counter()
    keep_spark_out()
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = build_app(args.model_uri, args.timeout)
    except ServeError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    import uvicorn

    gc.collect()
    gc.freeze()  # what is loaded now lives as long as the process: out of the GC's walks
    logger.info("Loaded %s in %.1f s (%s); serving on http://%s:%d", args.model_uri,
                time.perf_counter() - began, _spark_in_process(), args.host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                access_log=not args.no_access_log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
