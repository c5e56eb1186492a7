"""Streaming multipart/form-data reader: pipes one file part through without buffering it, and
keeps the small fields around it."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from mp3converter.web.file_part_reader import FilePartReader


@dataclass(frozen=True)
class FilePart:
    """The wanted file part's metadata, as sent by the client."""

    field_name: str
    filename: str
    content_type: str


# The exception names are the public API the upload service codes against, hence N818.
class MultipartError(ValueError):
    """The request body is not an acceptable multipart/form-data upload."""


class NotMultipart(MultipartError):
    """The request's Content-Type is not multipart/form-data with a boundary."""


class MalformedMultipart(MultipartError):
    """The multipart body is syntactically broken or truncated."""


class MissingFileField(MultipartError):
    """The form has no file part under the wanted field name."""

    def __init__(self, field_name: str) -> None:
        super().__init__(f"the form has no file in field {field_name!r}")
        self.field_name = field_name


class FileTooLarge(MultipartError):
    """The uploaded file is larger than allowed."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the file is larger than the {max_bytes}-byte limit")
        self.max_bytes = max_bytes


# Room for the multipart envelope and small form fields around the file.
ENVELOPE_BYTES = 64 * 1024


async def capped(body: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """The body, cut off with FileTooLarge once it passes limit (other fields count too)."""
    seen = 0
    async for chunk in body:
        seen += len(chunk)
        if seen > limit:
            raise FileTooLarge(limit)
        yield chunk


@dataclass(frozen=True)
class UploadForm:
    """An upload as it arrives: the file part, its data, and the other fields."""

    part: FilePart
    data: AsyncIterator[bytes]
    _reader: FilePartReader

    def fields(self) -> list[tuple[str, bytes]]:
        """The other fields seen so far (name, value): those before the file once it opens,
        all of them once `data` is exhausted."""
        return list(self._reader.fields)


async def open_file_field(
    body: AsyncIterator[bytes],
    content_type: str,
    field_name: str = "file",
    max_bytes: int | None = None,
) -> tuple[FilePart, AsyncIterator[bytes]]:
    """Read `body` up to the wanted file part's headers; return its metadata and data stream."""
    form = await open_form(body, content_type, field_name, max_bytes)
    return form.part, form.data


async def open_form(
    body: AsyncIterator[bytes],
    content_type: str,
    field_name: str = "file",
    max_bytes: int | None = None,
) -> UploadForm:
    """Read `body` up to the wanted file part's headers; the other fields follow as they come."""
    try:
        reader = FilePartReader(_boundary(content_type), field_name)
    except FormParserError as exc:
        raise NotMultipart(f"unusable multipart boundary: {exc}") from exc
    while reader.filename is None:
        if reader.ended:
            raise MissingFileField(field_name)
        chunk = await anext(body, None)
        if chunk is None:
            _check_ended(reader)
            raise MissingFileField(field_name)
        _feed(reader, chunk)
    part = FilePart(field_name, reader.filename, reader.content_type)
    return UploadForm(part, _file_data(reader, body, max_bytes), reader)


async def _file_data(
    reader: FilePartReader, body: AsyncIterator[bytes], max_bytes: int | None
) -> AsyncIterator[bytes]:
    received = 0
    while True:
        for piece in reader.take_file_data():
            received += len(piece)
            if max_bytes is not None and received > max_bytes:
                raise FileTooLarge(max_bytes)
            yield piece
        if reader.file_done:
            break
        chunk = await anext(body, None)
        if chunk is None:
            raise MalformedMultipart("the body ended inside the file part")
        _feed(reader, chunk)
    # The rest is parsed, not just discarded, so a broken ending still fails the upload.
    async for chunk in body:
        _feed(reader, chunk)
    _check_ended(reader)


def _boundary(content_type: str) -> bytes:
    try:
        mime, params = parse_options_header(content_type)
    except UnicodeError:  # not latin-1, so not a header value a client could have sent
        mime, params = b"", {}
    boundary = params.get(b"boundary", b"")
    if mime != b"multipart/form-data" or not boundary:
        raise NotMultipart(
            f"expected multipart/form-data with a boundary, got {content_type[:100]!r}"
        )
    return boundary


def _feed(reader: FilePartReader, chunk: bytes) -> None:
    try:
        reader.feed(chunk)
    except FormParserError as exc:
        raise MalformedMultipart(f"malformed multipart body: {exc}") from exc


def _check_ended(reader: FilePartReader) -> None:
    if not reader.ended:
        raise MalformedMultipart("the body ended before the closing multipart boundary")
