"""MongoDB connection and the indexes every role relies on."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]
Database = AsyncDatabase[Document]


def connect(url: str) -> AsyncMongoClient[Document]:
    """A client that fails fast when the server is away, so readiness reports it promptly."""
    return AsyncMongoClient(
        url, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000, tz_aware=True
    )


async def ping(db: Database) -> None:
    """Raise if the database does not answer."""
    await db.command("ping")


async def ensure_indexes(db: Database) -> None:
    """Create the indexes that enforce identity and serve the common queries."""
    await db.users.create_index([("email", ASCENDING)], unique=True, name="email_unique")
    await db.jobs.create_index(
        [("owner_id", ASCENDING), ("created_at", DESCENDING)], name="owner_recent"
    )
    await db.notifications.create_index([("sent_at", ASCENDING)], name="sent_at")
    for bucket in ("videos", "mp3s"):  # the GridFS spec's indexes
        await db[f"{bucket}.chunks"].create_index(
            [("files_id", ASCENDING), ("n", ASCENDING)], unique=True, name="files_id_1_n_1"
        )
        await db[f"{bucket}.files"].create_index(
            [("filename", ASCENDING), ("uploadDate", ASCENDING)], name="filename_1_uploadDate_1"
        )
