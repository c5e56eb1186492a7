"""Reading a GridFS file while it is still being written: chunk by chunk, as the chunks land.

The writer (GridFSWriter) inserts chunks in order and the files document last, so a reader that
takes chunks by their number knows the file is complete once the files document exists and it
has read them all.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from bson import ObjectId

from mp3converter.adapters.mongo import Database

POLL_SECONDS = 0.05
BATCH_CHUNKS = 4  # 4 MiB of the store's 1 MiB chunks per query


class UploadAbandoned(Exception):
    """The upload was given up (its job is gone): nothing more will arrive."""


class UploadStalled(Exception):
    """No new chunk arrived for too long, and the file is not complete."""


class GridFSTail:
    """The chunks of one GridFS file, yielded as they are written."""

    def __init__(
        self,
        db: Database,
        bucket: str,
        file_id: str,
        *,
        still_wanted: Callable[[], Awaitable[bool]],
        stall_seconds: float,
    ) -> None:
        self._chunks = db[f"{bucket}.chunks"]
        self._files = db[f"{bucket}.files"]
        self._file_id = ObjectId(file_id)
        self._still_wanted = still_wanted
        self._stall_seconds = stall_seconds
        self._read_bytes = 0
        self._total_bytes: int | None = None

    def fraction_read(self) -> float | None:
        """How much of the file has been yielded, once its length is known (else None)."""
        if not self._total_bytes:
            return None
        return min(1.0, self._read_bytes / self._total_bytes)

    async def chunks(self) -> AsyncIterator[bytes]:
        """Every chunk in order, waiting for those not written yet; ends with the file."""
        next_n, last_arrival = 0, time.monotonic()
        while True:
            # Learn the length as soon as the upload closes (it may have while we waited),
            # before yielding more: progress is the share of bytes fed.
            if self._total_bytes is None:
                await self._complete(next_n)
            # A bounded range of the (files_id, n) index: cheap however long the file grows.
            wanted = {"$gte": next_n, "$lt": next_n + BATCH_CHUNKS}
            cursor = self._chunks.find({"files_id": self._file_id, "n": wanted})
            docs = sorted(await cursor.to_list(), key=lambda doc: int(doc["n"]))
            for doc in docs:
                if doc["n"] != next_n:
                    break  # a gap: the next batch is still being inserted
                data = bytes(doc["data"])
                self._read_bytes += len(data)
                yield data
                next_n += 1
                last_arrival = time.monotonic()
            if len(docs) == BATCH_CHUNKS:
                continue
            if await self._complete(next_n):
                return
            await self._wait(last_arrival)

    async def _complete(self, read: int) -> bool:
        files = await self._files.find_one({"_id": self._file_id}, {"length": 1, "chunkSize": 1})
        if files is None:
            return False
        if self._total_bytes is None and not await self._still_wanted():
            # The upload has just ended, and its job with it: the options that followed the
            # file changed, and the upload role queued the video again under a new job.
            raise UploadAbandoned("the job was replaced when its upload ended")
        self._total_bytes = int(files["length"])
        total = math.ceil(int(files["length"]) / int(files["chunkSize"]))
        return read >= total

    async def _wait(self, last_arrival: float) -> None:
        if not await self._still_wanted():
            raise UploadAbandoned("the upload was abandoned")
        if time.monotonic() - last_arrival > self._stall_seconds:
            raise UploadStalled(f"no part of the upload arrived for {self._stall_seconds:g} s")
        await asyncio.sleep(POLL_SECONDS)
