"""Users in MongoDB, unique by normalised email."""

from __future__ import annotations

import uuid

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from mp3converter.adapters.mongo import Database, Document
from mp3converter.contracts import utcnow
from mp3converter.domain.users import User, normalize_email


class EmailTaken(Exception):
    """Another account already uses this email."""


def _to_user(doc: Document) -> User:
    return User.model_validate({**doc, "user_id": doc["_id"]})


class UserStore:
    """Creates and finds users."""

    def __init__(self, db: Database) -> None:
        self._users = db.users

    async def add(self, email: str, password_hash: str, *, is_admin: bool = False) -> User:
        """Create a user; EmailTaken if the email exists."""
        doc: Document = {
            "_id": uuid.uuid4().hex,
            "email": normalize_email(email),
            "password_hash": password_hash,
            "is_admin": is_admin,
            "created_at": utcnow(),
        }
        try:
            await self._users.insert_one(doc)
        except DuplicateKeyError as exc:
            raise EmailTaken(doc["email"]) from exc
        return _to_user(doc)

    async def by_email(self, email: str) -> User | None:
        """The user with this email, or None."""
        doc = await self._users.find_one({"email": normalize_email(email)})
        return None if doc is None else _to_user(doc)

    async def by_id(self, user_id: str) -> User | None:
        """The user with this id, or None."""
        doc = await self._users.find_one({"_id": user_id})
        return None if doc is None else _to_user(doc)

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Store a rehashed password (after argon2 parameters changed)."""
        await self._users.update_one({"_id": user_id}, {"$set": {"password_hash": password_hash}})

    async def list(self, limit: int, skip: int = 0) -> list[User]:
        """Users, oldest first."""
        cursor = self._users.find({}).sort("created_at", ASCENDING).skip(skip).limit(limit)
        return [_to_user(doc) for doc in await cursor.to_list()]

    async def update(self, user_id: str, **fields: bool) -> User | None:
        """Set `disabled` or `is_admin`; the updated user, or None if there is none."""
        doc = await self._users.find_one_and_update(
            {"_id": user_id}, {"$set": fields}, return_document=ReturnDocument.AFTER
        )
        return None if doc is None else _to_user(doc)

    async def delete(self, user_id: str) -> bool:
        """Delete the user; whether there was one."""
        return (await self._users.delete_one({"_id": user_id})).deleted_count == 1
