"""Kedro-Viz for this project, offline: the pipeline served on 127.0.0.1, or a static site.

``kedro viz run`` and ``kedro viz build`` (kedro-viz 12.5) fail on one kind of dataset this
project has: a transcoded dataset that no node writes (``scoring_transactions@spark``, the
batch a user drops in to score). Kedro-Viz describes a transcoded dataset by the version a
node writes (``TranscodedDataNode.original_version``, set in
``kedro_viz/data_access/managers.py``) and gets ``None`` for it, so ``kedro viz build``
stops and the served viz answers the dataset's side panel with an error. Here such a
dataset is described by the version the nodes read, then Kedro-Viz serves or builds as it
would::

    python -m tooling.viz serve [--host 127.0.0.1] [--port 4141]   # make viz
    python -m tooling.viz build [--out build/viz]                  # a static site
    python -m tooling.viz picture [--out docs/images/pipeline.png] # the README's picture

The static site is plain files: ``python -m http.server -d build/viz -b 127.0.0.1`` shows it.
The picture is the static site of the training run (``__default__``) in a headless Chromium
(Debian: ``apt-get install chromium``), light theme, side panels closed.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
# Kedro-Viz keeps its display settings in the browser's local storage under "KedroViz".
_PICTURE_PAGE = """<!doctype html><script>
localStorage.setItem("KedroViz", JSON.stringify({theme: "light", showFeatureHints: false,
  visible: {sidebar: false, miniMap: false}}));
location.replace("index.html");
</script>
"""


def load(project: Path = PROJECT) -> None:
    """Read the project's pipelines and catalog into Kedro-Viz's repositories, as its own
    commands do, and describe transcoded datasets that no node writes."""
    from kedro.framework.startup import bootstrap_project
    from kedro_viz.data_access import data_access_manager
    from kedro_viz.models.flowchart.nodes import TranscodedDataNode
    from kedro_viz.server import load_and_populate_data

    # Kedro-Viz's run hooks are disabled in settings.py: no run events to miss.
    logging.getLogger("kedro_viz.api.rest.responses.run_events").setLevel(logging.ERROR)
    bootstrap_project(project)
    load_and_populate_data(project)
    for node_id in data_access_manager.nodes.get_node_ids():
        node = data_access_manager.nodes.get_node_by_id(node_id)
        if isinstance(node, TranscodedDataNode) and node.original_version is None:
            node.original_version = next(iter(node.transcoded_versions), None)


def build(out: Path, project: Path = PROJECT) -> Path:
    """The static Kedro-Viz site of the project's pipelines in ``out`` (replaced): what
    ``kedro viz build`` writes, without the analytics script it may add to ``index.html``."""
    import fsspec
    from kedro_viz.api.rest.responses.save_responses import save_api_responses_to_fs
    from kedro_viz.integrations.deployment.base_deployer import _HTML_DIR

    load(project)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(_HTML_DIR, out)
    save_api_responses_to_fs(str(out), fsspec.filesystem("file"), False)
    return out


def serve(host: str, port: int, project: Path = PROJECT) -> None:
    """Kedro-Viz's web app for the project on ``host:port`` until interrupted."""
    import uvicorn
    from kedro_viz.api import apps

    load(project)
    print(f"Kedro-Viz of this project: http://{host}:{port}", flush=True)
    uvicorn.run(apps.create_api_app_from_project(project), host=host, port=port,
                log_config=None)


def picture(out: Path, project: Path = PROJECT, size: str = "1000,1400") -> Path:
    """A PNG of the training pipeline as Kedro-Viz draws it, taken by headless Chromium
    from the static site served on 127.0.0.1 (the page reads its data with requests, which
    a ``file://`` page may not make)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("Chromium is needed for the picture: apt-get install chromium")
    with tempfile.TemporaryDirectory() as scratch:
        site = build(Path(scratch) / "site", project)
        (site / "picture.html").write_text(_PICTURE_PAGE, encoding="utf-8")
        handler = functools.partial(_QuietHandler, directory=str(site))
        with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
            threading.Thread(target=server.serve_forever, daemon=True).start()
            out.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 f"--screenshot={out}", f"--window-size={size}", "--virtual-time-budget=15000",
                 f"http://127.0.0.1:{server.server_port}/picture.html"],
                check=True, capture_output=True, timeout=180,
            )
            server.shutdown()
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        """Requests are not worth a line each."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tooling.viz", description=__doc__.split(
        "\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    served = commands.add_parser("serve", help="serve the viz (make viz)")
    served.add_argument("--host", default="127.0.0.1")
    served.add_argument("--port", type=int, default=4141)
    built = commands.add_parser("build", help="write the static site")
    built.add_argument("--out", type=Path, default=PROJECT / "build" / "viz")
    pictured = commands.add_parser("picture", help="write the pipeline's picture (PNG)")
    pictured.add_argument("--out", type=Path, default=PROJECT / "docs" / "images" / "pipeline.png")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port)
    elif args.command == "build":
        print(f"Kedro-Viz static site: {build(args.out.resolve())}/index.html")
    else:
        print(f"The pipeline's picture: {picture(args.out.resolve())}")


if __name__ == "__main__":
    sys.exit(main())
