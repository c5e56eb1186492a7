"""Files in a GridFS bucket, streamed in and out chunk by chunk."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile

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

    async def save(
        self, chunks: AsyncIterable[bytes], *, filename: str, metadata: dict[str, Any]
    ) -> StoredFile:
        """Store the chunks as one file; on any error nothing is left behind."""
        digest = hashlib.sha256()
        size = 0
        grid_in = self._bucket.open_upload_stream(filename, metadata=dict(metadata))
        try:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                await grid_in.write(chunk)
            full_metadata = {**metadata, "size": size, "sha256": digest.hexdigest()}
            await grid_in.set("metadata", full_metadata)
            await grid_in.close()
        except BaseException:
            await grid_in.abort()
            raise
        return StoredFile(file_id=str(grid_in._id), size=size, sha256=digest.hexdigest())

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
