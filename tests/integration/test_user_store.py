"""UserStore and account creation against a real MongoDB-wire server."""

from datetime import timedelta

import pytest

from mp3converter.adapters.mongo import Database
from mp3converter.adapters.passwords import Passwords
from mp3converter.adapters.user_store import EmailTaken, UserStore
from mp3converter.domain.users import User
from mp3converter.usecases.accounts import InvalidAccount, create_account, ensure_admin

PASSWORDS = Passwords()


def same_user(found: User | None, expected: User) -> bool:
    """Equal, allowing for MongoDB storing datetimes at millisecond precision."""
    assert found is not None
    drift = abs(found.created_at - expected.created_at)
    return drift < timedelta(milliseconds=1) and found.model_dump(
        exclude={"created_at"}
    ) == expected.model_dump(exclude={"created_at"})


@pytest.fixture
def users(db: Database) -> UserStore:
    return UserStore(db)


async def test_add_stores_a_normalised_user(users: UserStore) -> None:
    user = await users.add("  Ann@Example.COM ", "hash-1")
    assert user.email == "ann@example.com"
    assert user.password_hash == "hash-1"
    assert not user.is_admin
    assert user.created_at.tzinfo is not None
    assert same_user(await users.by_id(user.user_id), user)


async def test_admin_flag_is_kept(users: UserStore) -> None:
    admin = await users.add("root@example.com", "h", is_admin=True)
    found = await users.by_id(admin.user_id)
    assert found is not None
    assert found.is_admin


@pytest.mark.parametrize("again", ["ann@example.com", "ANN@EXAMPLE.COM", " Ann@example.com "])
async def test_duplicate_email_is_refused_whatever_its_case(
    users: UserStore, db: Database, again: str
) -> None:
    await users.add("ann@example.com", "hash-1")
    with pytest.raises(EmailTaken):
        await users.add(again, "hash-2")
    assert await db.users.count_documents({}) == 1


async def test_by_email_normalises_the_lookup(users: UserStore) -> None:
    user = await users.add("ann@example.com", "h")
    assert same_user(await users.by_email("  ANN@Example.com"), user)
    assert await users.by_email("bob@example.com") is None


async def test_by_id_of_unknown_user_is_none(users: UserStore) -> None:
    assert await users.by_id("nobody") is None


async def test_create_account_hashes_the_password(users: UserStore) -> None:
    user = await create_account(
        users, PASSWORDS, "Ann@Example.com", "long enough pw", is_admin=False
    )
    assert user.email == "ann@example.com"
    assert user.password_hash != "long enough pw"
    assert await PASSWORDS.verify(user.password_hash, "long enough pw")
    assert not await PASSWORDS.verify(user.password_hash, "wrong password")


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a b@example.com", ""])
async def test_create_account_rejects_a_bad_email(
    users: UserStore, db: Database, email: str
) -> None:
    with pytest.raises(InvalidAccount, match="invalid email"):
        await create_account(users, PASSWORDS, email, "long enough pw", is_admin=False)
    assert await db.users.count_documents({}) == 0


async def test_create_account_rejects_a_short_password(users: UserStore, db: Database) -> None:
    with pytest.raises(InvalidAccount, match="at least 8"):
        await create_account(users, PASSWORDS, "ann@example.com", "short", is_admin=False)
    assert await db.users.count_documents({}) == 0


async def test_create_account_refuses_a_taken_email(users: UserStore) -> None:
    await create_account(users, PASSWORDS, "ann@example.com", "long enough pw", is_admin=False)
    with pytest.raises(EmailTaken):
        await create_account(
            users, PASSWORDS, "ANN@example.com", "another password", is_admin=False
        )


async def test_ensure_admin_is_idempotent(users: UserStore, db: Database) -> None:
    await ensure_admin(users, PASSWORDS, "Admin@Example.com", "first admin password")
    first = await users.by_email("admin@example.com")
    assert first is not None
    assert first.is_admin

    await ensure_admin(users, PASSWORDS, "admin@example.com", "a different password")

    assert await db.users.count_documents({}) == 1
    second = await users.by_email("admin@example.com")
    assert second == first
    assert await PASSWORDS.verify(second.password_hash, "first admin password")
