"""The Jinja2 templates of the emails, shipped in the package (templates/emails)."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

# Each email is a pair: NAME.txt.j2 (the plain-text part) and NAME.html.j2 (the HTML part).
EMAILS = ("job_succeeded", "job_failed", "webhook_disabled")
TEMPLATES = (
    "layout.html.j2",  # the frame the HTML parts extend
    *(f"{name}.{kind}.j2" for name in EMAILS for kind in ("txt", "html")),
)


@cache
def environment() -> Environment:
    """The templates' environment: HTML escaped, text not; a missing variable is an error."""
    return Environment(
        loader=PackageLoader("mp3converter", "templates/emails"),
        # Anything but a .txt.j2 template is escaped, so a new HTML one cannot forget to be.
        autoescape=select_autoescape(disabled_extensions=("txt.j2",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates do not change while a role runs: no file is looked at after the first load.
        auto_reload=False,
    )


def rendered(name: str, context: dict[str, Any]) -> tuple[str, str]:
    """The plain-text and the HTML part of the email NAME."""
    env = environment()
    text = env.get_template(f"{name}.txt.j2").render(context)
    html = env.get_template(f"{name}.html.j2").render(context)
    return text, html


def load_templates() -> None:
    """Load every template now, so a package without them fails at start-up, not per email."""
    env = environment()
    for name in TEMPLATES:
        env.get_template(name)
