"""The email templates: found by the package, escaped where HTML, shipped in the wheel."""

import tomllib
from pathlib import Path

from mp3converter.usecases.email_templates import TEMPLATES, environment, load_templates

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "mp3converter"


def test_every_template_loads() -> None:
    load_templates()

    assert sorted(environment().list_templates()) == sorted(TEMPLATES)


def test_html_templates_escape_and_text_templates_do_not() -> None:
    env = environment()
    hostile = {"name": "<b>&"}

    assert env.from_string("{{ name }}").render(hostile) == "&lt;b&gt;&amp;"
    assert callable(env.autoescape)
    assert env.autoescape("job_failed.html.j2") is True
    assert env.autoescape("layout.html.j2") is True
    assert env.autoescape("job_failed.txt.j2") is False


def test_the_wheel_ships_every_template() -> None:
    # package-data in pyproject.toml decides what a regular install (the image's) contains.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["mp3converter"]
    shipped = {path for pattern in patterns for path in PACKAGE.glob(pattern)}
    templates = {path for path in (PACKAGE / "templates").rglob("*") if path.is_file()}

    assert templates
    assert templates <= shipped
