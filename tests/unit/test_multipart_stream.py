"""Tests for the streaming multipart/form-data reader."""

import hashlib
import random
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest

from mp3converter.web.file_part_reader import MAX_FIELD_BYTES, MAX_FIELDS
from mp3converter.web.multipart_stream import (
    FilePart,
    FileTooLarge,
    MalformedMultipart,
    MissingFileField,
    MultipartError,
    NotMultipart,
    capped,
    open_file_field,
    open_form,
)

BOUNDARY = "test-boundary-4f2c9e"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
CHUNK_SIZES = [1, 7, 64 * 1024]
UNICODE_NAME = "Ünïcødé vidéo 🎬.mp4"
# Bytes that look like the start of a delimiter, so the parser has to hold them back and
# release them as data; the trailing CR sits right before the real delimiter.
TRICKY_PAYLOAD = (
    b"\r\n--" + BOUNDARY[:-1].encode() + b"X" + random.Random(1).randbytes(20_000) + b"\r\n-\r"
)


@dataclass
class Feed:
    """How far a test body has been read."""

    sent: int = 0
    finished: bool = False


async def chunks(data: bytes, size: int, feed: Feed | None = None) -> AsyncIterator[bytes]:
    """Yield `data` in `size`-byte chunks, recording progress in `feed`."""
    feed = feed if feed is not None else Feed()
    for start in range(0, len(data), size):
        feed.sent = min(start + size, len(data))
        yield data[start : start + size]
    feed.finished = True


def part(disposition: str, data: bytes, content_type: str | None = None) -> bytes:
    """One hand-written form part (headers are UTF-8, as browsers send them)."""
    headers = f"--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\n"
    if content_type is not None:
        headers += f"Content-Type: {content_type}\r\n"
    return headers.encode() + b"\r\n" + data + b"\r\n"


def form(*parts: bytes) -> bytes:
    """A hand-written multipart body made of `parts`."""
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def httpx_form(files: dict[str, tuple[str, bytes, str]], data: dict[str, str]) -> bytes:
    """A body encoded by httpx, with our fixed boundary."""
    request = httpx.Request(
        "POST", "http://x", headers={"Content-Type": CONTENT_TYPE}, data=data, files=files
    )
    assert request.headers["Content-Type"] == CONTENT_TYPE
    return request.read()


async def read_all(data: AsyncIterator[bytes]) -> bytes:
    """Concatenate a data stream."""
    return b"".join([piece async for piece in data])


async def collect(data: AsyncIterator[bytes], into: bytearray) -> None:
    """Append a data stream to `into`, keeping what arrived before an error."""
    async for piece in data:
        into += piece


async def open_and_read(body: bytes, size: int, field_name: str = "file") -> tuple[FilePart, bytes]:
    """Open the file field of `body` fed in `size`-byte chunks and read it whole."""
    file_part, data = await open_file_field(chunks(body, size), CONTENT_TYPE, field_name)
    return file_part, await read_all(data)


@pytest.mark.parametrize("size", CHUNK_SIZES)
async def test_file_round_trips_byte_exact(size: int) -> None:
    body = httpx_form({"file": ("clip.mp4", TRICKY_PAYLOAD, "video/mp4")}, {"title": "T"})

    file_part, content = await open_and_read(body, size)

    assert file_part == FilePart("file", "clip.mp4", "video/mp4")
    assert content == TRICKY_PAYLOAD


@pytest.mark.parametrize("size", CHUNK_SIZES)
async def test_raw_utf8_filename_is_decoded(size: int) -> None:
    body = httpx_form({"file": (UNICODE_NAME, b"data", "video/mp4")}, {})
    assert UNICODE_NAME.encode() in body

    file_part, content = await open_and_read(body, size)

    assert file_part.filename == UNICODE_NAME
    assert content == b"data"


@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize(
    "disposition",
    [
        f"name=\"file\"; filename*=UTF-8''{quote(UNICODE_NAME)}",
        f'name="file"; filename="fallback.mp4"; filename*=utf-8\'en\'{quote(UNICODE_NAME)}',
        f'name="file"; filename*=UTF-8\'\'{quote(UNICODE_NAME)}; filename="fallback.mp4"',
    ],
)
async def test_rfc5987_filename_is_decoded(size: int, disposition: str) -> None:
    body = form(part(disposition, b"data", "video/mp4"))

    file_part, content = await open_and_read(body, size)

    assert file_part.filename == UNICODE_NAME
    assert content == b"data"


async def test_filename_star_inside_a_quoted_value_is_plain_text() -> None:
    disposition = 'name="file"; filename="a; filename*=UTF-8\'\'evil.exe"'
    body = form(part(disposition, b"A"))

    file_part, _ = await open_and_read(body, 7)

    assert file_part.filename == "a; filename*=UTF-8''evil.exe"


@pytest.mark.parametrize("size", CHUNK_SIZES)
async def test_other_fields_before_and_after_are_skipped(size: int) -> None:
    body = form(
        part('name="title"', b"My video"),
        part('name="thumbnail"; filename="t.png"', b"PNG" * 100, "image/png"),
        part('name="file"; filename="v.mkv"', TRICKY_PAYLOAD, "video/x-matroska"),
        part('name="description"', b"after the file"),
        part('name="file"; filename="second.mkv"', b"ignored second file"),
    )

    file_part, content = await open_and_read(body, size)

    assert file_part == FilePart("file", "v.mkv", "video/x-matroska")
    assert content == TRICKY_PAYLOAD


async def test_text_field_with_the_same_name_is_skipped_for_the_file() -> None:
    body = form(part('name="file"', b"not a file"), part('name="file"; filename="a.mp4"', b"A"))

    file_part, content = await open_and_read(body, 7)

    assert file_part.filename == "a.mp4"
    assert content == b"A"


async def test_missing_content_type_defaults_to_octet_stream() -> None:
    body = form(part('name="upload"; filename="a.bin"', b"xyz"))

    file_part, content = await open_and_read(body, 7, field_name="upload")

    assert file_part == FilePart("upload", "a.bin", "application/octet-stream")
    assert content == b"xyz"


@pytest.mark.parametrize(
    "body",
    [
        form(part('name="title"', b"T"), part('name="video"; filename="a.mp4"', b"A")),
        form(part('name="file"', b"a text field, not a file")),
        form(part('name="file"; filename=""', b"")),
        form(),
    ],
    ids=["other-name", "no-filename", "empty-filename", "no-parts"],
)
async def test_missing_file_field(body: bytes) -> None:
    with pytest.raises(MissingFileField, match="'file'"):
        await open_file_field(chunks(body, 7), CONTENT_TYPE)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/mixed; boundary=abc",
        "text/plain; boundary=abc",
        "",
        "multipart/form-data; boundary=" + "b" * 300,
    ],
)
async def test_not_multipart(content_type: str) -> None:
    body = form(part('name="file"; filename="a.mp4"', b"A"))

    with pytest.raises(NotMultipart):
        await open_file_field(chunks(body, 7), content_type)


@pytest.mark.parametrize("size", CHUNK_SIZES)
async def test_body_truncated_inside_file_fails_from_data_iterator(size: int) -> None:
    body = form(part('name="file"; filename="a.mp4"', TRICKY_PAYLOAD))
    cut = body[: body.index(TRICKY_PAYLOAD) + len(TRICKY_PAYLOAD) // 2]

    _, data = await open_file_field(chunks(cut, size), CONTENT_TYPE)
    received = bytearray()
    with pytest.raises(MalformedMultipart, match="ended inside the file"):
        await collect(data, received)

    assert TRICKY_PAYLOAD.startswith(received)


@pytest.mark.parametrize(
    "ending",
    [
        part('name="title"', b"T")[:-10],  # truncated after the file, in a later field
        b"--" + BOUNDARY.encode() + b"\r\nBad Header: x\r\n\r\nT\r\n",  # invalid header name
        b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: form-data\r\n\r\nT",  # no close
    ],
)
async def test_broken_ending_after_file_fails_from_data_iterator(ending: bytes) -> None:
    body = part('name="file"; filename="a.mp4"', TRICKY_PAYLOAD) + ending
    _, data = await open_file_field(chunks(body, 7), CONTENT_TYPE)
    received = bytearray()

    with pytest.raises(MalformedMultipart):
        await collect(data, received)

    assert received == TRICKY_PAYLOAD


@pytest.mark.parametrize("size", CHUNK_SIZES)
async def test_body_truncated_before_file_is_malformed(size: int) -> None:
    body = form(part('name="title"', b"T" * 100))

    with pytest.raises(MalformedMultipart):
        await open_file_field(chunks(body[:50], size), CONTENT_TYPE)


async def test_preamble_garbage_is_malformed() -> None:
    body = b"garbage" + form(part('name="file"; filename="a.mp4"', b"A"))

    with pytest.raises(MalformedMultipart):
        await open_file_field(chunks(body, 7), CONTENT_TYPE)


@pytest.mark.parametrize("size", [7, 64 * 1024])
@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Type: x/" + b"y" * 100_000 + b"\r\n",
        b"".join(b"X-Pad-%d: %s\r\n" % (n, b"p" * 3000) for n in range(6)),
    ],
    ids=["one-huge-header", "many-large-headers"],
)
async def test_absurd_header_is_malformed(size: int, headers: bytes) -> None:
    head = part('name="file"; filename="a.mp4"', b"A").replace(
        b"\r\n\r\n", b"\r\n" + headers + b"\r\n"
    )
    body = form(head, part('name="more"', b"x" * 200_000))
    feed = Feed()

    with pytest.raises(MalformedMultipart):
        await open_file_field(chunks(body, size, feed), CONTENT_TYPE)

    assert not feed.finished


@pytest.mark.parametrize("size", CHUNK_SIZES)
async def test_file_too_large_stops_reading_the_body(size: int) -> None:
    payload = random.Random(2).randbytes(256 * 1024)
    body = form(part('name="file"; filename="a.mp4"', payload))
    feed = Feed()
    _, data = await open_file_field(chunks(body, size, feed), CONTENT_TYPE, max_bytes=1000)
    received = bytearray()

    with pytest.raises(FileTooLarge, match="1000-byte limit"):
        await collect(data, received)

    assert len(received) <= 1000
    assert not feed.finished
    assert feed.sent < len(payload)


async def test_file_of_exactly_max_bytes_is_accepted() -> None:
    body = form(part('name="file"; filename="a.mp4"', b"x" * 1000))

    _, data = await open_file_field(chunks(body, 7), CONTENT_TYPE, max_bytes=1000)

    assert await read_all(data) == b"x" * 1000


def test_errors_share_one_base() -> None:
    for error in (NotMultipart, MalformedMultipart, MissingFileField, FileTooLarge):
        assert issubclass(error, MultipartError)
    assert issubclass(MultipartError, ValueError)


def synthetic_block(chunk_size: int, head_size: int) -> bytes:
    """Random file bytes with a CR ending every input chunk: a delimiter prefix to hold back."""
    block = bytearray(random.Random(3).randbytes(chunk_size))
    block[(chunk_size - head_size - 1) % chunk_size] = ord("\r")
    return bytes(block)


async def synthetic_upload(size: int, chunk_size: int, feed: Feed) -> AsyncIterator[bytes]:
    """A `size`-byte file upload produced on the fly in `chunk_size`-byte chunks."""
    pending = bytearray(part('name="file"; filename="big.mp4"', b"")[:-2])
    block = synthetic_block(chunk_size, len(pending))
    for start in range(0, size, chunk_size):
        pending += block[: min(chunk_size, size - start)]
        while len(pending) >= chunk_size:
            yield bytes(pending[:chunk_size])
            del pending[:chunk_size]
    pending += f"\r\n--{BOUNDARY}--\r\n".encode()
    while pending:
        yield bytes(pending[:chunk_size])
        del pending[:chunk_size]
    feed.finished = True


def synthetic_digest(size: int, chunk_size: int) -> str:
    """The SHA-256 of the file inside `synthetic_upload`."""
    block = synthetic_block(chunk_size, len(part('name="file"; filename="big.mp4"', b"")[:-2]))
    digest = hashlib.sha256()
    for start in range(0, size, chunk_size):
        digest.update(block[: min(chunk_size, size - start)])
    return digest.hexdigest()


async def test_large_upload_streams_in_bounded_memory() -> None:
    size, chunk_size = 200 * 1024 * 1024, 64 * 1024
    feed = Feed()
    digest, received, largest = hashlib.sha256(), 0, 0

    tracemalloc.start()
    try:
        file_part, data = await open_file_field(
            synthetic_upload(size, chunk_size, feed), CONTENT_TYPE
        )
        async for piece in data:
            digest.update(piece)
            received += len(piece)
            largest = max(largest, len(piece))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert file_part.filename == "big.mp4"
    assert feed.finished
    assert received == size
    assert digest.hexdigest() == synthetic_digest(size, chunk_size)
    assert 0 < largest <= chunk_size
    assert peak < 4 * 1024 * 1024


async def test_capped_passes_a_body_within_the_limit() -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 10

    assert [len(c) async for c in capped(body(), 40)] == [10, 10, 10, 10]


async def test_capped_stops_at_the_first_chunk_past_the_limit() -> None:
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(100):
            pulled += 1
            yield b"x" * 10

    with pytest.raises(FileTooLarge):
        async for _ in capped(body(), 35):
            pass
    assert pulled == 4


@pytest.mark.parametrize("size", CHUNK_SIZES)
async def test_fields_before_the_file_are_known_when_it_opens_the_rest_when_it_ends(
    size: int,
) -> None:
    body = form(
        part('name="bitrate"', b"128"),
        part('name="title"', "Grüße".encode()),
        part('name="file"; filename="a.mp4"', TRICKY_PAYLOAD),
        part('name="channels"', b"1"),
    )
    upload = await open_form(chunks(body, size), CONTENT_TYPE)
    # (a chunk that holds the whole body has the field after the file parsed too)
    assert upload.fields()[:2] == [("bitrate", b"128"), ("title", "Grüße".encode())]
    assert await read_all(upload.data) == TRICKY_PAYLOAD
    assert upload.fields()[-1] == ("channels", b"1")
    assert len(upload.fields()) == 3


async def test_a_long_field_is_cut_just_past_the_limit() -> None:
    body = form(part('name="comment"', b"x" * 100_000), part('name="file"; filename="a"', b"A"))
    upload = await open_form(chunks(body, 4096), CONTENT_TYPE)
    [(name, value)] = upload.fields()
    assert (name, len(value)) == ("comment", MAX_FIELD_BYTES + 1)


async def test_too_many_fields_are_a_malformed_form() -> None:
    fields = [part(f'name="f{n}"', b"v") for n in range(MAX_FIELDS + 1)]
    body = form(*fields, part('name="file"; filename="a"', b"A"))
    with pytest.raises(MultipartError, match="fields"):
        await open_form(chunks(body, 7), CONTENT_TYPE)
