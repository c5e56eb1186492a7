"""Writing one GridFS file (spec layout: `<bucket>.chunks` then `<bucket>.files`) in small batches.

pymongo's own writer buffers up to 48 MB of chunks per file before inserting them; an upload
role holding that for every concurrent upload would not have flat memory. Reading stays with
pymongo's GridFS bucket, which sees the same layout.

One batch is in flight while the next fills: the database stores one while the writer receives
(and the SHA-256 is taken, in a worker thread) the next, so neither waits for the other. At most
two batches are held per file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from datetime import UTC, datetime
from typing import Any

from bson import Int64, ObjectId

from mp3converter.adapters.mongo import Database

BATCH_CHUNKS = 2  # 2 MiB of the store's 1 MiB chunks per insert: few round trips, little memory


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
        self._in_flight: asyncio.Future[None] | None = None

    async def write(self, data: bytes) -> None:
        """Add bytes; a complete batch of chunks is sent once the one before it is stored."""
        self.size += len(data)
        self._pending += data
        while len(self._pending) >= self._chunk_size:
            with memoryview(self._pending) as pending:  # one copy of the chunk, not two
                self._add_chunk(bytes(pending[: self._chunk_size]))
            del self._pending[: self._chunk_size]
            if len(self._batch) >= BATCH_CHUNKS:
                await self._send_batch()

    async def close(self, filename: str, metadata: dict[str, Any]) -> None:
        """Insert the last chunks, then the files document that makes the file visible (its
        metadata gains the size and SHA-256 of the content)."""
        if self._pending:
            self._add_chunk(bytes(self._pending))
            self._pending.clear()
        await self._send_batch()
        await self._stored()
        metadata = {**metadata, "size": self.size, "sha256": self.digest.hexdigest()}
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
        """Remove every chunk written so far (once the batch in flight has landed or failed, so
        none arrives after the removal)."""
        self._batch.clear()
        with contextlib.suppress(Exception):
            await self._stored()
        await self._chunks.delete_many({"files_id": self.file_id})

    def _add_chunk(self, data: bytes) -> None:
        # Plain bytes are stored as BSON binary subtype 0, as Binary(data) is, without its copy.
        self._batch.append({"files_id": self.file_id, "n": self._next_n, "data": data})
        self._next_n += 1

    async def _send_batch(self) -> None:
        """Wait for the batch in flight (raising its error), then send the current one."""
        await self._stored()
        if self._batch:
            batch, self._batch = self._batch, []
            self._in_flight = asyncio.ensure_future(self._store(batch))

    async def _stored(self) -> None:
        # Shielded: a cancelled caller leaves the insert to finish (abort waits for it), rather
        # than cutting it off with its message perhaps already sent.
        if self._in_flight is not None:
            await asyncio.shield(self._in_flight)
            self._in_flight = None

    async def _store(self, batch: list[dict[str, Any]]) -> None:
        # Hashed while the database stores it; batches follow one another, so the digest sees
        # the bytes in order. Both finish before this does (abort relies on it), then the first
        # error is raised.
        outcomes = await asyncio.gather(
            asyncio.to_thread(_hash_chunks, self.digest, batch),
            self._chunks.insert_many(batch, ordered=True),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome


def _hash_chunks(digest: Any, batch: list[dict[str, Any]]) -> None:
    for chunk in batch:
        digest.update(chunk["data"])  # hashlib releases the GIL for large buffers
