"""Reading a received email as a mail client would: its parts, and the HTML's tags and links."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from html.parser import HTMLParser


def received(wire: bytes) -> EmailMessage:
    """The message as a receiving client parses it."""
    message = message_from_bytes(wire, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: Message) -> str:
    """The decoded plain-text part with LF line ends ("" if none: it serves in predicates)."""
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    return str(part.get_content()).replace("\r\n", "\n") if part is not None else ""


def html_of(message: Message) -> str:
    """The decoded HTML part."""
    assert isinstance(message, EmailMessage)
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def alternatives(message: EmailMessage) -> list[str]:
    """The content types of a multipart/alternative message's parts, in order."""
    assert message.get_content_type() == "multipart/alternative"
    return [part.get_content_type() for part in message.iter_parts()]


class Markup(HTMLParser):
    """The start tags of an HTML document, and its links as (href, text) pairs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Count the tag; start collecting a link's text."""
        self.tags.append(tag)
        if tag == "a":
            self._href, self._text = dict(attrs).get("href") or "", []

    def handle_data(self, data: str) -> None:
        """Text inside a link is its label."""
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        """The end of a link."""
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


def markup(html: str) -> Markup:
    """The tags and links of an HTML document."""
    parser = Markup()
    parser.feed(html)
    parser.close()
    return parser
