"""Writing one GridFS file (spec layout: `<bucket>.chunks` then `<bucket>.files`) in small batches.

pymongo's own writer buffers up to 48 MB of chunks per file before inserting them; an upload
role holding that for every concurrent upload would not have flat memory. Reading stays with
pymongo's GridFS bucket, which sees the same layout.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from bson import Binary, Int64, ObjectId

from mp3converter.adapters.mongo import Database

BATCH_CHUNKS = 8  # about 2 MiB per insert: few round trips, little memory


class GridFSWriter:
    """Cuts incoming bytes into fixed-size chunks and inserts them a few at a time."""

    def __init__(self, db: Database, bucket: str, chunk_size: int) -> None:
        self.file_id = ObjectId()
        self.size = 0
        self.digest = hashlib.sha256()
        self._chunks = db[f"{bucket}.chunks"]
        self._files = db[f"{bucket}.files"]
        self._chunk_size = chunk_size
        self._pending = bytearray()
        self._batch: list[dict[str, Any]] = []
        self._next_n = 0

    async def write(self, data: bytes) -> None:
        """Add bytes; full chunks are inserted once a batch is complete."""
        self.digest.update(data)
        self.size += len(data)
        self._pending += data
        while len(self._pending) >= self._chunk_size:
            self._add_chunk(bytes(self._pending[: self._chunk_size]))
            del self._pending[: self._chunk_size]
            if len(self._batch) >= BATCH_CHUNKS:
                await self._insert_batch()

    async def close(self, filename: str, metadata: dict[str, Any]) -> None:
        """Insert the last chunks, then the files document that makes the file visible (its
        metadata gains the size and SHA-256 of the content)."""
        metadata = {**metadata, "size": self.size, "sha256": self.digest.hexdigest()}
        if self._pending:
            self._add_chunk(bytes(self._pending))
            self._pending.clear()
        await self._insert_batch()
        await self._files.insert_one(
            {
                "_id": self.file_id,
                "length": Int64(self.size),
                "chunkSize": self._chunk_size,
                "uploadDate": datetime.now(UTC),
                "filename": filename,
                "metadata": metadata,
            }
        )

    async def abort(self) -> None:
        """Remove every chunk written so far."""
        self._batch.clear()
        await self._chunks.delete_many({"files_id": self.file_id})

    def _add_chunk(self, data: bytes) -> None:
        self._batch.append({"files_id": self.file_id, "n": self._next_n, "data": Binary(data)})
        self._next_n += 1

    async def _insert_batch(self) -> None:
        if self._batch:
            await self._chunks.insert_many(self._batch, ordered=True)
            self._batch.clear()
