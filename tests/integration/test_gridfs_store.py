"""GridFSStore against a real MongoDB-wire server: streamed saves, byte-exact ranged reads."""

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator

import pytest
from bson import ObjectId
from pymongo.errors import BulkWriteError

from mp3converter.adapters.gridfs_store import (
    CHUNK_SIZE,
    READ_BATCH_CHUNKS,
    FileMissing,
    GridFSStore,
    StoredFile,
)
from mp3converter.adapters.gridfs_writer import BATCH_CHUNKS
from mp3converter.adapters.mongo import Database

BUCKET = "videos"
CONTENT = os.urandom(5 * 1024 * 1024 + 12345)  # not a multiple of the chunk size
# Uneven piece sizes, so writes straddle GridFS chunk boundaries.
PIECES = [1, 1000, 64 * 1024, 300_000, 7, CHUNK_SIZE, 123_457]


class Boom(RuntimeError):
    """The upload stream broke."""


async def pieces_of(data: bytes, fail_after: int | None = None) -> AsyncIterator[bytes]:
    """Yield data in uneven pieces; raise once more than fail_after bytes went out."""
    sent, i = 0, 0
    while sent < len(data):
        if fail_after is not None and sent > fail_after:
            raise Boom("client went away")
        size = PIECES[i % len(PIECES)]
        yield data[sent : sent + size]
        sent += size
        i += 1


async def read_all(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


@pytest.fixture
def store(db: Database) -> GridFSStore:
    return GridFSStore(db, BUCKET)


@pytest.fixture
async def saved(store: GridFSStore) -> StoredFile:
    return await store.save(
        pieces_of(CONTENT), filename="clip.mp4", metadata={"owner_id": "u1", "job_id": "j1"}
    )


async def test_save_reports_the_size(saved: StoredFile) -> None:
    assert saved.size == len(CONTENT)
    assert ObjectId.is_valid(saved.file_id)


async def test_the_file_records_its_length_and_metadata_with_size_and_sha256(
    db: Database, store: GridFSStore, saved: StoredFile
) -> None:
    info = await store.info(saved.file_id)
    assert info.file_id == saved.file_id
    assert info.length == len(CONTENT)
    doc = await db["videos.files"].find_one({"_id": ObjectId(saved.file_id)})
    assert doc is not None
    assert doc["metadata"] == {
        "owner_id": "u1",
        "job_id": "j1",
        "size": len(CONTENT),
        "sha256": hashlib.sha256(CONTENT).hexdigest(),
    }


async def test_file_is_split_into_chunks_of_the_bucket_size(
    db: Database, saved: StoredFile
) -> None:
    files = await db[f"{BUCKET}.files"].find({}).to_list()
    assert [(f["filename"], f["chunkSize"]) for f in files] == [("clip.mp4", CHUNK_SIZE)]
    expected_chunks = -(-len(CONTENT) // CHUNK_SIZE)
    assert await db[f"{BUCKET}.chunks"].count_documents({}) == expected_chunks


async def test_read_returns_the_whole_file(store: GridFSStore, saved: StoredFile) -> None:
    pieces = [chunk async for chunk in store.read(saved.file_id)]
    assert b"".join(pieces) == CONTENT
    assert max(len(p) for p in pieces) <= CHUNK_SIZE  # streamed, not loaded whole


LAST = len(CONTENT) - 1


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, 0),
        (0, 99),
        (1000, None),
        (LAST, None),
        (LAST, LAST),
        (LAST - 10, LAST + 1000),  # end beyond the file is clamped
        (CHUNK_SIZE - 1, CHUNK_SIZE),
        (CHUNK_SIZE, CHUNK_SIZE),
        (CHUNK_SIZE, 2 * CHUNK_SIZE - 1),
        (CHUNK_SIZE - 5, 3 * CHUNK_SIZE + 5),
        (2 * CHUNK_SIZE + 17, None),
        (20 * CHUNK_SIZE - 1, 20 * CHUNK_SIZE + 1),
        (12345, 4_000_000),
    ],
)
async def test_read_range_is_byte_exact(
    store: GridFSStore, saved: StoredFile, start: int, end: int | None
) -> None:
    got = await read_all(store.read(saved.file_id, start=start, end=end))
    expected = CONTENT[start:] if end is None else CONTENT[start : end + 1]
    assert len(got) == len(expected)
    assert got == expected


async def test_empty_file(store: GridFSStore) -> None:
    stored = await store.save(pieces_of(b""), filename="empty", metadata={})
    assert stored.size == 0
    assert await read_all(store.read(stored.file_id)) == b""
    assert (await store.info(stored.file_id)).length == 0


async def test_a_broken_stream_leaves_nothing_behind(store: GridFSStore, db: Database) -> None:
    with pytest.raises(Boom):
        await store.save(
            pieces_of(CONTENT, fail_after=3 * CHUNK_SIZE), filename="broken.mp4", metadata={}
        )
    assert await db[f"{BUCKET}.files"].count_documents({}) == 0
    assert await db[f"{BUCKET}.chunks"].count_documents({}) == 0


async def test_delete_removes_file_and_chunks_and_is_idempotent(
    store: GridFSStore, saved: StoredFile, db: Database
) -> None:
    await store.delete(saved.file_id)
    assert await db[f"{BUCKET}.files"].count_documents({}) == 0
    assert await db[f"{BUCKET}.chunks"].count_documents({}) == 0
    await store.delete(saved.file_id)
    await store.delete("not-an-object-id")
    with pytest.raises(FileMissing):
        await store.info(saved.file_id)


async def test_buckets_are_separate(db: Database, saved: StoredFile) -> None:
    with pytest.raises(FileMissing):
        await GridFSStore(db, "mp3s").info(saved.file_id)


@pytest.mark.parametrize("file_id", [str(ObjectId()), "not-an-object-id", "", "zz" * 12])
async def test_unknown_or_malformed_ids_are_missing(store: GridFSStore, file_id: str) -> None:
    with pytest.raises(FileMissing):
        await store.info(file_id)
    with pytest.raises(FileMissing):
        await read_all(store.read(file_id))


async def test_chunks_reach_the_database_while_the_upload_is_still_streaming(
    store: GridFSStore, db: Database
) -> None:
    """Flat memory: at most two small batches of chunks are held (one filling, one in flight)."""
    chunks_seen_midway: list[int] = []

    async def twenty_mib() -> AsyncIterator[bytes]:
        for i in range(20):
            if i == 10:  # 10 MiB handed over so far
                chunks_seen_midway.append(await db["videos.chunks"].count_documents({}))
            yield os.urandom(1 << 20)

    stored = await store.save(twenty_mib(), filename="big.mp4", metadata={})
    assert stored.size == 20 << 20
    held_back = (10 << 20) // CHUNK_SIZE - chunks_seen_midway[0]
    assert 0 <= held_back <= 2 * BATCH_CHUNKS


async def test_a_cancelled_save_waits_for_the_batch_in_flight_and_leaves_nothing(
    store: GridFSStore, db: Database
) -> None:
    """The request is cancelled while a batch may be on its way: nothing lands after the abort."""
    handed_over = asyncio.Event()

    async def then_hang() -> AsyncIterator[bytes]:
        for _ in range(BATCH_CHUNKS * 3 + 1):
            yield os.urandom(CHUNK_SIZE)
        handed_over.set()
        await asyncio.Event().wait()

    save = asyncio.create_task(store.save(then_hang(), filename="cut.mp4", metadata={}))
    await handed_over.wait()
    save.cancel()
    with pytest.raises(asyncio.CancelledError):
        await save
    await asyncio.sleep(0.2)  # an insert cut off mid-way would land about now
    assert await db[f"{BUCKET}.chunks"].count_documents({}) == 0
    assert await db[f"{BUCKET}.files"].count_documents({}) == 0


async def test_a_failed_batch_insert_surfaces_and_the_abort_removes_the_rest(
    store: GridFSStore, db: Database
) -> None:
    """An insert that fails in the background is raised to the writer's caller, not lost."""
    writer = store.writer()
    # Chunk 0 already exists: the first batch breaks the unique (files_id, n) index.
    await db[f"{BUCKET}.chunks"].insert_one({"files_id": writer.file_id, "n": 0, "data": b""})

    async def write_all() -> None:
        for _ in range(BATCH_CHUNKS * 4):
            await writer.write(os.urandom(CHUNK_SIZE))
        await writer.close("dup.mp4", {})

    with pytest.raises(BulkWriteError):
        await write_all()
    await writer.abort()
    assert await db[f"{BUCKET}.chunks"].count_documents({}) == 0
    assert await db[f"{BUCKET}.files"].count_documents({}) == 0


async def test_a_chunk_missing_from_a_later_batch_is_reported(
    store: GridFSStore, db: Database
) -> None:
    """The batch fetched ahead finds the gap; the reader learns of it when it gets there."""
    many = os.urandom(CHUNK_SIZE * (READ_BATCH_CHUNKS * 2 + 3))
    stored = await store.save(pieces_of(many), filename="gap.mp4", metadata={})
    gap = READ_BATCH_CHUNKS + 2
    await db[f"{BUCKET}.chunks"].delete_one({"files_id": ObjectId(stored.file_id), "n": gap})
    received = bytearray()

    async def read_on() -> None:
        async for chunk in store.read(stored.file_id):
            received.extend(chunk)

    with pytest.raises(FileMissing, match=f"chunks {READ_BATCH_CHUNKS}"):
        await read_on()
    assert bytes(received) == many[: READ_BATCH_CHUNKS * CHUNK_SIZE]


async def test_a_reader_that_stops_early_leaves_no_fetch_running(store: GridFSStore) -> None:
    many = os.urandom(CHUNK_SIZE * (READ_BATCH_CHUNKS * 3))
    stored = await store.save(pieces_of(many), filename="early.mp4", metadata={})
    before = asyncio.all_tasks()
    reader = store.read(stored.file_id)
    first = await anext(reader)
    assert first == many[:CHUNK_SIZE]
    await reader.aclose()
    await asyncio.sleep(0)  # the cancelled prefetch ends
    assert asyncio.all_tasks() == before
