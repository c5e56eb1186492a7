"""Decoding of a multipart part's Content-Disposition header (RFC 7578, RFC 5987)."""

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from python_multipart.multipart import parse_options_header

# Quoted strings are blanked before looking for `filename*=` so that text inside another
# parameter's value (e.g. a filename containing "; filename*=") is never taken for it.
_QUOTED_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_EXT_FILENAME = re.compile(rb"(?:^|;)\s*filename\*\s*=\s*([^;\s]*)", re.IGNORECASE)
_EXT_CHARSETS = frozenset({"utf-8", "iso-8859-1"})  # the only two RFC 5987 requires


@dataclass(frozen=True)
class ContentDisposition:
    """The parts of a Content-Disposition header a form reader needs."""

    kind: str
    name: str | None
    filename: str | None


def parse_content_disposition(raw: bytes) -> ContentDisposition:
    """Parse a raw Content-Disposition value; `filename*` wins over `filename` (RFC 6266)."""
    kind, params = parse_options_header(raw)
    name = params.get(b"name")
    plain = params.get(b"filename")
    extended = _EXT_FILENAME.search(_QUOTED_STRING.sub(b'""', raw))
    filename = _decode_ext_value(extended.group(1)) if extended else None
    if filename is None and plain is not None:
        filename = _decode_text(plain)
    return ContentDisposition(
        kind=kind.decode("latin-1"),
        name=None if name is None else _decode_text(name),
        filename=filename,
    )


def _decode_text(value: bytes) -> str:
    # Browsers send raw UTF-8; a value that is not valid UTF-8 came from a legacy latin-1 client.
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _decode_ext_value(value: bytes) -> str | None:
    charset, quote, rest = value.partition(b"'")
    _language, quote2, encoded = rest.partition(b"'")
    name = charset.decode("latin-1").lower()
    if not (quote and quote2) or name not in _EXT_CHARSETS:
        return None
    try:
        return unquote_to_bytes(encoded).decode(name)
    except UnicodeDecodeError:
        return None
