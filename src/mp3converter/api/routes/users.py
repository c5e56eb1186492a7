"""Users: an admin creates, lists, disables and deletes them; a user changes their password."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from mp3converter.adapters.passwords import HashingBusy
from mp3converter.adapters.token_verifier import Principal
from mp3converter.adapters.user_store import EmailTaken
from mp3converter.api.deps import AccountsDep, CurrentPrincipal, UsersDep
from mp3converter.api.schemas import (
    NewUser,
    PageOffset,
    PasswordChange,
    UserChange,
    UserList,
    UserOut,
)
from mp3converter.domain.users import User
from mp3converter.usecases.accounts import (
    InvalidAccount,
    SelfLockout,
    UnknownUser,
    WrongPassword,
    create_account,
)
from mp3converter.web.problems import Problem

router = APIRouter()


def _out(user: User) -> UserOut:
    return UserOut(
        user_id=user.user_id,
        email=user.email,
        is_admin=user.is_admin,
        disabled=user.disabled,
        created_at=user.created_at,
    )


def _admin_only(caller: Principal) -> None:
    if not caller.is_admin:
        raise Problem(403, "forbidden", "only an admin can manage users")


def _busy(exc: HashingBusy) -> Problem:
    return Problem(503, "busy", str(exc), headers={"Retry-After": "1"})


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def create_user(body: NewUser, caller: CurrentPrincipal, accounts: AccountsDep) -> UserOut:
    _admin_only(caller)
    try:
        user = await create_account(
            accounts.users, accounts.passwords, body.email, body.password, is_admin=False
        )
    except InvalidAccount as exc:
        raise Problem(422, "invalid-account", str(exc)) from exc
    except EmailTaken as exc:
        raise Problem(409, "email-taken", f"an account with email {exc} exists") from exc
    except HashingBusy as exc:
        raise _busy(exc) from exc
    return _out(user)


@router.get("/users", response_model=UserList)
async def list_users(
    caller: CurrentPrincipal,
    users: UsersDep,
    limit: int = Query(50, ge=1, le=200),
    offset: PageOffset = 0,
) -> UserList:
    _admin_only(caller)
    found = await users.list(limit, offset)
    return UserList(users=[_out(user) for user in found], limit=limit, offset=offset)


@router.patch("/users/{user_id}", response_model=UserOut)
async def change_user(
    user_id: str, body: UserChange, caller: CurrentPrincipal, accounts: AccountsDep
) -> UserOut:
    _admin_only(caller)
    try:
        user = await accounts.update(
            caller.user_id, user_id, disabled=body.disabled, is_admin=body.is_admin
        )
    except SelfLockout as exc:
        raise Problem(409, "self-lockout", str(exc)) from exc
    except UnknownUser as exc:
        raise Problem(404, "user-not-found", f"no user {user_id}") from exc
    return _out(user)


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(user_id: str, caller: CurrentPrincipal, accounts: AccountsDep) -> Response:
    _admin_only(caller)
    try:
        await accounts.delete(caller.user_id, user_id)
    except SelfLockout as exc:
        raise Problem(409, "self-lockout", str(exc)) from exc
    except UnknownUser as exc:
        raise Problem(404, "user-not-found", f"no user {user_id}") from exc
    return Response(status_code=204)


@router.put("/users/me/password", status_code=204)
async def change_password(
    body: PasswordChange, caller: CurrentPrincipal, accounts: AccountsDep
) -> Response:
    try:
        await accounts.change_password(caller.user_id, body.current_password, body.new_password)
    except WrongPassword as exc:
        raise Problem(403, "wrong-password", str(exc)) from exc
    except InvalidAccount as exc:
        raise Problem(422, "invalid-account", str(exc)) from exc
    except UnknownUser as exc:
        raise Problem(404, "user-not-found", "your account no longer exists") from exc
    except HashingBusy as exc:
        raise _busy(exc) from exc
    return Response(status_code=204)
