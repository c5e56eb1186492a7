"""MongoDB: the connection, which collections each role owns, and their indexes."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
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


def _gridfs(bucket: str) -> tuple[str, str]:
    return f"{bucket}.files", f"{bucket}.chunks"


# The collections each role reads and writes: its MongoDB user may touch these and no others
# (deploy/mongo/create-role-users.js is generated from this table; a test keeps them equal).
ROLE_COLLECTIONS: dict[str, tuple[str, ...]] = {
    "auth": ("users", "refresh_tokens", "api_keys", "login_throttle", "revocations"),
    "upload": ("jobs", "upload_keys", *_gridfs("videos"), *_gridfs("mp3s")),
    "converter": ("jobs", *_gridfs("videos"), *_gridfs("mp3s")),
    "notification": ("notifications", "webhooks", "webhook_deliveries"),
}

_INDEXES: dict[str, list[IndexModel]] = {
    "users": [IndexModel([("email", ASCENDING)], unique=True, name="email_unique")],
    "refresh_tokens": [
        IndexModel([("family_id", ASCENDING)], name="family"),
        IndexModel([("user_id", ASCENDING)], name="user"),
        IndexModel([("expires_at", ASCENDING)], name="expires_at"),
    ],
    "api_keys": [IndexModel([("owner_id", ASCENDING), ("created_at", DESCENDING)], name="owner")],
    "login_throttle": [IndexModel([("expires_at", ASCENDING)], name="expires_at")],
    "revocations": [IndexModel([("not_before", ASCENDING)], name="not_before")],
    "jobs": [
        IndexModel([("owner_id", ASCENDING), ("created_at", DESCENDING)], name="owner_recent"),
        # What the retention sweeper looks for.
        *[
            IndexModel([(field, ASCENDING)], name=field)
            for field in ("purge_at", "expires_at", "video_file_id", "mp3_file_id")
        ],
    ],
    "notifications": [IndexModel([("sent_at", ASCENDING)], name="sent_at")],
    # No TTL indexes: the platform deletes what expires itself (the retention sweeper, the
    # webhook worker), the same on MongoDB and SecantusDB, whose TTL monitor deadlocked with
    # large GridFS inserts (tests hung for good once TTL indexes existed).
    "upload_keys": [IndexModel([("expires_at", ASCENDING)], name="expires_at")],
    "webhooks": [
        IndexModel([("owner_id", ASCENDING), ("created_at", ASCENDING)], name="owner"),
        IndexModel([("owner_id", ASCENDING), ("events", ASCENDING)], name="owner_events"),
    ],
    "webhook_deliveries": [
        # One delivery per event and webhook, however often the event is redelivered.
        IndexModel(
            [("webhook_id", ASCENDING), ("event_key", ASCENDING)], unique=True, name="event"
        ),
        IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="due"),
        IndexModel([("webhook_id", ASCENDING), ("created_at", DESCENDING)], name="recent"),
        # Finished deliveries past their expire_at: usecases/webhook_delivery.forget_finished.
        IndexModel([("expire_at", ASCENDING)], name="expire_at"),
    ],
}
for _bucket in ("videos", "mp3s"):  # the GridFS spec's indexes, and the sweeper's
    _files, _chunks = _gridfs(_bucket)
    _INDEXES[_chunks] = [
        IndexModel([("files_id", ASCENDING), ("n", ASCENDING)], unique=True, name="files_id_1_n_1")
    ]
    _INDEXES[_files] = [
        IndexModel(
            [("filename", ASCENDING), ("uploadDate", ASCENDING)], name="filename_1_uploadDate_1"
        ),
        IndexModel([("uploadDate", ASCENDING)], name="uploadDate"),
    ]


async def ensure_indexes(db: Database, role: str | None = None) -> None:
    """Create the indexes of one role's collections (None: every role's)."""
    roles = [role] if role is not None else list(ROLE_COLLECTIONS)
    collections = {name for each in roles for name in ROLE_COLLECTIONS.get(each, ())}
    for name in sorted(collections):
        if indexes := _INDEXES.get(name):
            await db[name].create_indexes(indexes)
