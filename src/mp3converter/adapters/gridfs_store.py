"""Files in a GridFS bucket, streamed in and out chunk by chunk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile

from mp3converter.adapters.gridfs_writer import GridFSWriter
from mp3converter.adapters.mongo import Database

CHUNK_SIZE = 255 * 1024


class FileMissing(LookupError):
    """No stored file has this id."""


@dataclass(frozen=True)
class StoredFile:
    """What was stored: id, size and SHA-256 of the content."""

    file_id: str
    size: int
    sha256: str


@dataclass(frozen=True)
class FileInfo:
    """A stored file's length and metadata."""

    file_id: str
    length: int
    metadata: dict[str, Any]


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
        self._db = db
        self._name = bucket

    async def save(
        self, chunks: AsyncIterable[bytes], *, filename: str, metadata: dict[str, Any]
    ) -> StoredFile:
        """Store the chunks as one file; on any error nothing is left behind."""
        writer = GridFSWriter(self._db, self._name, CHUNK_SIZE)
        try:
            async for chunk in chunks:
                await writer.write(chunk)
            sha256 = writer.digest.hexdigest()
            await writer.close(filename, {**metadata, "size": writer.size, "sha256": sha256})
        except BaseException:
            await asyncio.shield(writer.abort())  # even when the upload task is cancelled
            raise
        return StoredFile(file_id=str(writer.file_id), size=writer.size, sha256=sha256)

    async def info(self, file_id: str) -> FileInfo:
        """Length and metadata of a stored file."""
        doc = await self._files.find_one({"_id": _object_id(file_id)})
        if doc is None:
            raise FileMissing(file_id)
        return FileInfo(
            file_id=file_id, length=int(doc["length"]), metadata=doc.get("metadata") or {}
        )

    async def read(
        self, file_id: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """Yield bytes start..end (inclusive end, as in HTTP ranges) one chunk at a time."""
        try:
            grid_out = await self._bucket.open_download_stream(_object_id(file_id))
        except NoFile as exc:
            raise FileMissing(file_id) from exc
        last = grid_out.length - 1 if end is None else min(end, grid_out.length - 1)
        remaining = last - start + 1
        if start:
            await grid_out.seek(start)
        try:
            while remaining > 0:
                chunk = await grid_out.readchunk()
                if not chunk:
                    break
                piece = chunk[:remaining]
                remaining -= len(piece)
                yield piece
        finally:
            await grid_out.close()

    async def delete(self, file_id: str) -> None:
        """Delete a file; deleting one that is gone is not an error."""
        try:
            await self._bucket.delete(_object_id(file_id))
        except (NoFile, FileMissing):
            return
