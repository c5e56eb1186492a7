"""Facts defined once in code and documented in the README: the two must not drift."""

import re
from pathlib import Path

import pytest

from mp3converter.adapters.media_formats import ALLOWED_DEMUXERS, FORMAT_WHITELIST
from mp3converter.domain.conversion_options import OPTION_FIELDS
from mp3converter.domain.jobs import FailureCode
from mp3converter.domain.presets import PRESETS

README = Path(__file__).resolve().parents[2] / "README.md"
# Demuxers that read other files or URLs named inside the upload; none may ever be allowed.
REFERENCING = {"hls", "dash", "concat", "image2", "sdp", "rtsp", "imf", "webm_dash_manifest", "tee"}


def test_nothing_on_the_list_opens_other_files() -> None:
    assert REFERENCING.isdisjoint(ALLOWED_DEMUXERS)


def test_the_whitelist_is_the_list() -> None:
    assert FORMAT_WHITELIST.split(",") == list(ALLOWED_DEMUXERS)


def test_the_readme_documents_every_allowed_format() -> None:
    text = README.read_text()
    for demuxer, label in ALLOWED_DEMUXERS.items():
        assert f"| `{demuxer}` | {label} |" in text, demuxer


def test_the_readme_explains_exactly_the_failure_codes_a_job_can_end_with() -> None:
    documented = set(re.findall(r"^\| `([a-z-]+)` \| ", README.read_text(), re.MULTILINE))
    codes = {code.value for code in FailureCode}
    assert codes <= documented, codes - documented
    # Other first-column backticks in README tables are the format list, the conversion options
    # and the presets; nothing else.
    assert documented - codes <= {*ALLOWED_DEMUXERS, *OPTION_FIELDS, *PRESETS}


def test_the_readme_documents_every_option_and_preset() -> None:
    text = README.read_text()
    for name in OPTION_FIELDS:
        assert re.search(rf"^\| [^|]*`{name}`[^|]*\|", text, re.MULTILINE), name
    for name in PRESETS:
        assert f"| `{name}` |" in text, name


ROOT = README.parent
PACKAGE = ROOT / "src" / "mp3converter"


def _modules(folder: str) -> set[str]:
    return {path.stem for path in (PACKAGE / folder).glob("*.py") if path.stem != "__init__"}


def _layout_entry(doc: Path, section: str, folder: str) -> set[str]:
    """The words of one folder's entry in a layout block: its line and the more deeply indented
    lines that continue it."""
    lines = doc.read_text().split(section, 1)[1].splitlines()
    name = folder.rsplit("/", 1)[-1]
    start = next(i for i, line in enumerate(lines) if re.match(rf"\s*{name}/\s", line))
    entry = [lines[start]]
    for line in lines[start + 1 :]:
        if len(line) - len(line.lstrip()) < 10:
            break
        entry.append(line)
    return set(re.findall(r"[a-z][a-z0-9_]*", " ".join(entry)))


@pytest.mark.parametrize(
    ("doc", "section", "folder"),
    [
        (README, "## Repository layout", "usecases"),
        (README, "## Repository layout", "domain"),
        (ROOT / "docs" / "architecture.md", "## Layout", "usecases"),
        (ROOT / "docs" / "architecture.md", "## Layout", "domain"),
        (ROOT / "docs" / "architecture.md", "## Layout", "adapters"),
        (ROOT / "docs" / "architecture.md", "## Layout", "api/routes"),
    ],
)
def test_the_layouts_name_every_module(doc: Path, section: str, folder: str) -> None:
    missing = _modules(folder) - _layout_entry(doc, section, folder)
    assert not missing, f"{doc.name} {section} {folder}/ leaves out {sorted(missing)}"
