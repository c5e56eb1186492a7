"""The client's streamed multipart body, read back by the server's own multipart reader."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from mp3converter.client.upload_body import FileChanged, MultipartUpload, quote_header_value
from mp3converter.web.multipart_stream import open_form

FIELDS = [("bitrate", "64"), ("title", "Résumé — part 1\r\nwith a line break"), ("year", "2024")]


async def _body(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _video(tmp_path: Path, name: str = "talk.mp4", size: int = 300_000) -> Path:
    path = tmp_path / name
    path.write_bytes(random.Random(7).randbytes(size))
    return path


async def test_the_server_reads_the_fields_before_the_file_and_the_file_intact(
    tmp_path: Path,
) -> None:
    video = _video(tmp_path)
    upload = MultipartUpload(FIELDS, video, chunk_bytes=10_000)
    form = await open_form(_body(upload.chunks()), upload.content_type)

    # Known when the file part opens: the converter can start with them.
    assert [(name, value.decode()) for name, value in form.fields()] == FIELDS
    assert form.part.filename == "talk.mp4"
    assert form.part.content_type == "video/mp4"
    received = b"".join([piece async for piece in form.data])
    assert received == video.read_bytes()


def test_the_declared_length_is_the_body_length_and_progress_counts_file_bytes(
    tmp_path: Path,
) -> None:
    video = _video(tmp_path, size=123_457)
    upload = MultipartUpload(FIELDS, video, chunk_bytes=4096)
    told: list[int] = []
    chunks = list(upload.chunks(told.append))

    assert sum(map(len, chunks)) == upload.content_length
    assert upload.headers() == {
        "Content-Type": f"multipart/form-data; boundary={upload.boundary}",
        "Content-Length": str(upload.content_length),
    }
    assert sum(told) == video.stat().st_size
    assert max(told) <= 4096  # read in chunks, never whole


async def test_hostile_file_names_cannot_break_the_part_header(tmp_path: Path) -> None:
    video = _video(tmp_path, name='a"b\r\nContent-Type: text-html; x="y.mp4', size=10)
    upload = MultipartUpload([], video)
    form = await open_form(_body(upload.chunks()), upload.content_type)

    assert form.part.filename == "a%22b%0D%0AContent-Type: text-html; x=%22y.mp4"
    assert b"".join([piece async for piece in form.data]) == video.read_bytes()
    assert quote_header_value('"\r\n') == "%22%0D%0A"


async def test_an_empty_file_and_no_fields_still_frame_correctly(tmp_path: Path) -> None:
    video = _video(tmp_path, name="empty.mkv", size=0)
    upload = MultipartUpload([], video)
    body = list(upload.chunks())
    assert sum(map(len, body)) == upload.content_length
    form = await open_form(_body(body), upload.content_type)
    assert form.part.content_type == "video/x-matroska"
    assert [piece async for piece in form.data] == []


@pytest.mark.parametrize("change", [b"grown", None])
def test_a_file_that_changes_size_while_it_uploads_fails(
    tmp_path: Path, change: bytes | None
) -> None:
    video = _video(tmp_path, size=50_000)
    upload = MultipartUpload([], video, chunk_bytes=10_000)
    chunks = upload.chunks()
    next(chunks)  # the head
    next(chunks)  # the first 10 000 bytes
    if change is None:
        video.write_bytes(b"short")
    else:
        with video.open("ab") as file:
            file.write(change)
    with pytest.raises(FileChanged):
        list(chunks)
