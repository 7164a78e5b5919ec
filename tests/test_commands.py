"""The commands the project hands its users run without Kedro's deprecation warnings."""

from __future__ import annotations

import re

from tests.kedro_project import REPO

# Kedro 1.7 warns on `--pipeline NAME` ("deprecated ... use '--pipelines'") on every run.
DEPRECATED = re.compile(r"--pipeline\b")


def test_every_command_selects_pipelines_with_the_current_option():
    files = [
        REPO / "Makefile", REPO / "MLproject", REPO / "README.md",
        *sorted((REPO / "conf").rglob("*.yml")), *sorted((REPO / "resources").rglob("*.yml")),
        *sorted((REPO / "src").rglob("*.py")),
    ]
    found = [
        f"{path.relative_to(REPO)}:{number}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if DEPRECATED.search(line)
    ]
    assert not found, f"'--pipeline' is deprecated, write '--pipelines' in: {found}"
