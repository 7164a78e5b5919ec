"""The documentation stays usable: a short README that starts with the two commands, docs
whose links lead somewhere, and no development history in any file of the repository.

The history of the project is in git; a file that says in which working session something
was measured, or a result file named after one, tells a user about the development, not
about the product.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MAX_README_LINES = 250

# A session number ("session" and a number), a result named after one ("s", two digits,
# "-bench"), or a column labelled with one ("s" and one or two digits). The last is
# case-sensitive and not followed by ':' so that S3 storage and s3:// URLs are not taken for it.
HISTORY = re.compile(
    r"(?i:\bsessions? [0-9]+)|(?i:\bs[0-9]{2}-bench)|\bs[0-9]{1,2}\b(?!:)"
)
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def commands(block: str) -> list[str]:
    """The command lines of a shell code block: comments and blank lines left out."""
    lines = (line.split("#", 1)[0].strip() for line in block.splitlines())
    return [line for line in lines if line]


def history_mentions(text: str) -> list[str]:
    """Every line of ``text`` (1-based number and content) that mentions a session."""
    return [f"{number}: {line.strip()[:120]}"
            for number, line in enumerate(text.splitlines(), start=1) if HISTORY.search(line)]


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as
    hyphens (``Validation (pipeline `split`)`` -> ``validation-pipeline-split``)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The anchors a Markdown file's headings define, code blocks left out."""
    return {slug(heading) for heading in HEADING.findall(FENCE.sub("", markdown))}


def broken_links(path: Path) -> list[str]:
    """Relative links of a Markdown file whose file, or heading anchor, does not exist."""
    text = path.read_text()
    broken = []
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target} (no file {linked})")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text()):
            broken.append(f"{target} (no heading '{anchor}' in {linked.name})")
    return broken


def repository_files() -> list[Path]:
    """Tracked files and new ones git does not ignore, as they are in the work tree."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the repository's files are not known")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    return [REPO / name for name in listed if name and (REPO / name).is_file()]


def test_readme_is_short():
    lines = len(README.read_text().splitlines())
    assert lines <= MAX_README_LINES, (
        f"README.md has {lines} lines, more than {MAX_README_LINES}: move the depth into docs/"
    )


def test_readme_shows_make_run_and_make_test_before_any_other_command():
    text = README.read_text()
    first = FENCE.search(text)
    assert first is not None, "README.md shows no command"
    assert "`" not in text[: first.start()], "README.md names a command before its first block"
    shown = commands(first.group(1))
    assert shown[:2] == ["make run", "make test"], (
        f"README.md's first commands are {shown[:2]}, not 'make run' and 'make test'"
    )


def test_no_file_mentions_a_development_session():
    found = {}
    for path in repository_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:  # binary files: images, archives
            continue
        mentions = history_mentions(text)
        if mentions or HISTORY.search(path.name):
            found[str(path.relative_to(REPO))] = mentions or ["(its name)"]
    assert not found, (
        "development history (session numbers) in the repository; describe the product as it "
        f"is, the history is in git: {found}"
    )


@pytest.mark.parametrize("path", [README, *sorted((REPO / "docs").glob("*.md"))],
                         ids=lambda path: str(path.relative_to(REPO)))
def test_every_relative_link_leads_somewhere(path):
    assert not broken_links(path), f"{path.relative_to(REPO)}: broken links {broken_links(path)}"


def test_the_docs_cover_what_the_readme_sends_readers_to():
    expected = {"architecture", "data", "mlflow", "pachyderm", "databricks-and-clusters",
                "scoring-and-serving", "performance"}
    present = {path.stem for path in (REPO / "docs").glob("*.md")}
    assert expected <= present, f"missing docs: {sorted(expected - present)}"


# Written in pieces, so that this file does not itself mention what it looks for.
@pytest.mark.parametrize("text", [
    "measured in session " + "12", "Sessions " + "14 and 15 gave",
    "results/s" + "39-bench-1.md", "| s" + "32 | now |", "before s" + "7's change",
])
def test_history_is_recognised(text):
    assert history_mentions(text)


@pytest.mark.parametrize("text", [
    "local, HDFS, S3 or a Unity Catalog Volume", "s3://bucket/data", "a Kedro session",
    "one SparkSession per run", "sessions that outlive the run", "shard=15", "x86s1",
])
def test_ordinary_text_is_not_taken_for_history(text):
    assert not history_mentions(text)


def test_broken_links_and_anchors_are_found(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Validation (pipeline `split`)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#validation-pipeline-split) [web](https://x.org/a)\n"
        "[gone](missing.md) [no anchor](other.md#nowhere)\n"
        "```\n[in code](ignored.md)\n```\n"
    )
    assert broken_links(page) == [
        f"missing.md (no file {tmp_path / 'missing.md'})",
        "other.md#nowhere (no heading 'nowhere' in other.md)",
    ]
