"""User management and one's own password, forwarded to the auth role."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from mp3converter.api.deps import GatewayCaller, UpstreamDep
from mp3converter.api.gateway.responses import ERRORS, PROBLEM
from mp3converter.api.schemas import (
    NewUser,
    PageOffset,
    PasswordChange,
    UserChange,
    UserList,
    UserOut,
)

router = APIRouter()
ADMIN: dict[int | str, dict[str, Any]] = {401: PROBLEM, 403: PROBLEM}


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    responses={**ADMIN, 400: PROBLEM, 409: PROBLEM, 503: PROBLEM},
    summary="Create a user (admin only)",
)
async def create_user(
    request: Request, body: NewUser, caller: GatewayCaller, upstream: UpstreamDep
) -> Response:
    return await upstream.to_auth(
        request, "/users", stream_body=True, authorization=caller.authorization
    )


@router.get("/users", response_model=UserList, responses=ADMIN, summary="List users (admin)")
async def list_users(
    request: Request,
    caller: GatewayCaller,
    upstream: UpstreamDep,
    limit: int = Query(50, ge=1, le=200),
    offset: PageOffset = 0,
) -> Response:
    return await upstream.to_auth(request, "/users", authorization=caller.authorization)


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    responses={**ADMIN, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM},
    summary="Disable or enable a user, grant or take admin rights (admin)",
)
async def change_user(
    request: Request, user_id: str, body: UserChange, caller: GatewayCaller, upstream: UpstreamDep
) -> Response:
    path = f"/users/{quote(user_id, safe='')}"
    return await upstream.to_auth(
        request, path, stream_body=True, authorization=caller.authorization
    )


@router.delete(
    "/users/{user_id}",
    status_code=204,
    responses={**ADMIN, 404: PROBLEM, 409: PROBLEM},
    summary="Delete a user (admin); their access ends at once, their files expire",
)
async def delete_user(
    request: Request, user_id: str, caller: GatewayCaller, upstream: UpstreamDep
) -> Response:
    path = f"/users/{quote(user_id, safe='')}"
    return await upstream.to_auth(request, path, authorization=caller.authorization)


@router.put(
    "/users/me/password",
    status_code=204,
    responses={**ERRORS, 400: PROBLEM, 403: PROBLEM, 503: PROBLEM},
    summary="Change one's own password; every session ends",
)
async def change_password(
    request: Request, body: PasswordChange, caller: GatewayCaller, upstream: UpstreamDep
) -> Response:
    return await upstream.to_auth(
        request, "/users/me/password", stream_body=True, authorization=caller.authorization
    )
