"""Files in a GridFS bucket, streamed in and out chunk by chunk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile

from mp3converter.adapters.gridfs_tail import GridFSTail
from mp3converter.adapters.gridfs_writer import GridFSWriter
from mp3converter.adapters.mongo import Database

# 1 MiB chunks, not GridFS's customary 255 KiB: the database handles a quarter as many
# documents per file (on SecantusDB, a Python server, its CPU goes mostly per document). Reads
# use each file's own chunkSize, so files stored with other sizes read as before.
CHUNK_SIZE = 1024 * 1024
READ_BATCH_CHUNKS = 4  # 4 MiB per query


def file_metadata(
    *, owner_id: str, job_id: str, filename: str, content_type: str
) -> dict[str, Any]:
    """What every stored video and MP3 records about itself (size and SHA-256 are added on save)."""
    return {
        "owner_id": owner_id,
        "job_id": job_id,
        "filename": filename,
        "content_type": content_type,
    }


class FileMissing(LookupError):
    """No stored file has this id."""


@dataclass(frozen=True)
class StoredFile:
    """What was stored: its id and size."""

    file_id: str
    size: int


@dataclass(frozen=True)
class FileInfo:
    """A stored file's length."""

    file_id: str
    length: int


def _batch_ranges(first_n: int, last_n: int) -> Iterator[tuple[int, int]]:
    """The chunk numbers first_n..last_n as half-open ranges of at most READ_BATCH_CHUNKS."""
    for n in range(first_n, last_n + 1, READ_BATCH_CHUNKS):
        yield n, min(n + READ_BATCH_CHUNKS, last_n + 1)


def _retrieve(task: asyncio.Task[Any]) -> None:
    # A prefetch that failed before it was cancelled: its error is moot, not "never retrieved".
    if not task.cancelled():
        task.exception()


def _object_id(file_id: str) -> ObjectId:
    try:
        return ObjectId(file_id)
    except (InvalidId, TypeError) as exc:
        raise FileMissing(file_id) from exc


class GridFSStore:
    """One GridFS bucket (`videos` or `mp3s`)."""

    def __init__(self, db: Database, bucket: str) -> None:
        self._bucket = AsyncGridFSBucket(db, bucket_name=bucket, chunk_size_bytes=CHUNK_SIZE)
        self._files = db[f"{bucket}.files"]
        self._chunks = db[f"{bucket}.chunks"]
        self._db = db
        self._name = bucket

    async def save(
        self, chunks: AsyncIterable[bytes], *, filename: str, metadata: dict[str, Any]
    ) -> StoredFile:
        """Store the chunks as one file; on any error nothing is left behind."""
        writer = self.writer()
        try:
            async for chunk in chunks:
                await writer.write(chunk)
            await writer.close(filename, metadata)
        except BaseException:
            await asyncio.shield(writer.abort())  # even when the upload task is cancelled
            raise
        return StoredFile(file_id=str(writer.file_id), size=writer.size)

    async def info(self, file_id: str) -> FileInfo:
        """Length and metadata of a stored file."""
        doc = await self._files.find_one({"_id": _object_id(file_id)})
        if doc is None:
            raise FileMissing(file_id)
        return FileInfo(file_id=file_id, length=int(doc["length"]))

    async def read(
        self, file_id: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """Yield bytes start..end (inclusive end, as in HTTP ranges), a chunk at a time.

        Chunks are fetched a batch at a time by a bounded range of the (files_id, n) index:
        one query per few MiB, and no seek through what comes before `start`. The next batch
        is fetched while the current one is consumed (at most two batches are held).
        """
        files = await self._files.find_one({"_id": _object_id(file_id)})
        if files is None:
            raise FileMissing(file_id)
        length, size = int(files["length"]), int(files["chunkSize"])
        last = length - 1 if end is None else min(end, length - 1)
        if start > last:
            return
        batches = _batch_ranges(start // size, last // size)
        fetching: asyncio.Task[list[dict[str, Any]]] | None = self._fetch_batch(
            file_id, files["_id"], *next(batches)
        )
        try:
            while fetching is not None:
                docs = await fetching
                following = next(batches, None)
                fetching = (
                    None
                    if following is None
                    else self._fetch_batch(file_id, files["_id"], *following)
                )
                for doc in docs:
                    offset = int(doc["n"]) * size
                    data = bytes(doc["data"])
                    yield data[max(0, start - offset) : last - offset + 1]
        finally:
            if fetching is not None:  # the reader stopped early: the next batch is not wanted
                fetching.cancel()
                fetching.add_done_callback(_retrieve)

    def _fetch_batch(
        self, file_id: str, files_id: ObjectId, n: int, upto: int
    ) -> asyncio.Task[list[dict[str, Any]]]:
        async def fetch() -> list[dict[str, Any]]:
            cursor = self._chunks.find({"files_id": files_id, "n": {"$gte": n, "$lt": upto}})
            docs = sorted(await cursor.to_list(), key=lambda doc: int(doc["n"]))
            if [int(doc["n"]) for doc in docs] != list(range(n, upto)):
                raise FileMissing(f"{file_id}: chunks {n}..{upto - 1} are not all stored")
            return docs

        return asyncio.create_task(fetch())

    async def delete(self, file_id: str) -> None:
        """Delete a file; deleting one that is gone is not an error."""
        try:
            await self._bucket.delete(_object_id(file_id))
        except (NoFile, FileMissing):
            return

    def tail(
        self, file_id: str, *, still_wanted: Callable[[], Awaitable[bool]], stall_seconds: float
    ) -> GridFSTail:
        """Read a file of this bucket while it is still being written."""
        return GridFSTail(
            self._db, self._name, file_id, still_wanted=still_wanted, stall_seconds=stall_seconds
        )

    def writer(self) -> GridFSWriter:
        """A writer for a new file of this bucket: its id is known before it is complete."""
        return GridFSWriter(self._db, self._name, CHUNK_SIZE)

    async def ids_completed_before(
        self, cutoff: datetime, after: str | None, limit: int
    ) -> list[str]:
        """Ids of files completed before cutoff, in id order, starting after `after` (paging)."""
        query: dict[str, Any] = {"uploadDate": {"$lt": cutoff}}
        if after is not None:
            query["_id"] = {"$gt": _object_id(after)}
        docs = await self._files.find(query, {"_id": 1}).sort("_id", 1).limit(limit).to_list()
        return [str(doc["_id"]) for doc in docs]

    async def delete_unfinished(self, started_before: datetime) -> int:
        """Delete chunks of writes begun before the cutoff that never completed; how many files."""
        ids = await self._chunks.distinct(
            "files_id", {"files_id": {"$lt": ObjectId.from_datetime(started_before)}}
        )
        if not ids:
            return 0
        present = {doc["_id"] async for doc in self._files.find({"_id": {"$in": ids}}, {"_id": 1})}
        missing = [file_id for file_id in ids if file_id not in present]
        if missing:
            await self._chunks.delete_many({"files_id": {"$in": missing}})
        return len(missing)
