"""The auth role: users, login with HTTP Basic, JWTs signed with Ed25519, and the JWKS."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from mp3converter.adapters import mongo
from mp3converter.adapters.jwt_keys import TokenIssuer, load_or_create_key
from mp3converter.adapters.token_verifier import StaticKeys, TokenVerifier
from mp3converter.adapters.user_store import EmailTaken, UserStore
from mp3converter.config import Settings
from mp3converter.services.account_views import NewUser, TokenResponse, UserOut
from mp3converter.services.accounts import InvalidAccount, create_account, ensure_admin
from mp3converter.services.passwords import hash_password, needs_rehash, verify_password
from mp3converter.web.bearer import CurrentPrincipal
from mp3converter.web.ops import Check, ops_router
from mp3converter.web.problems import Problem
from mp3converter.web.server import finish_app

log = logging.getLogger(__name__)
ROLE = "auth"
DEFAULT_PORT = 8081
basic = HTTPBasic(auto_error=False, realm="mp3converter")


def _bad_credentials() -> Problem:
    return Problem(
        401,
        "invalid-credentials",
        "email or password is wrong",
        headers={"WWW-Authenticate": 'Basic realm="mp3converter", charset="UTF-8"'},
    )


def create_app(settings: Settings) -> FastAPI:
    """Build the auth app; resources open in its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = mongo.connect(settings.mongodb_url)
        db = client[settings.mongodb_db]
        key_path = settings.jwt_private_key_file or settings.data_dir / "jwt-ed25519.pem"
        key = load_or_create_key(key_path, create=not settings.is_production)
        issuer = TokenIssuer(
            key, settings.jwt_issuer, settings.jwt_audience, settings.jwt_ttl_seconds
        )
        app.state.db = db
        app.state.users = UserStore(db)
        app.state.issuer = issuer
        app.state.verifier = TokenVerifier(
            StaticKeys({issuer.jwk["kid"]: key.public_key()}),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
        try:
            await mongo.ensure_indexes(db)
            if settings.admin_email and settings.admin_password:
                await ensure_admin(
                    app.state.users,
                    settings.admin_email,
                    settings.admin_password.get_secret_value(),
                )
            yield
        finally:
            await client.close()

    app = FastAPI(title="mp3converter auth", lifespan=lifespan)

    def checks() -> Mapping[str, Check]:
        return {"mongodb": lambda: mongo.ping(app.state.db)}

    app.include_router(ops_router(ROLE, checks))

    @app.post("/login", response_model=TokenResponse)
    async def login(
        request: Request, credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)]
    ) -> TokenResponse:
        if credentials is None:
            raise _bad_credentials()
        users: UserStore = request.app.state.users
        user = await users.by_email(credentials.username)
        stored = user.password_hash if user else None
        if not await verify_password(stored, credentials.password) or user is None:
            raise _bad_credentials()
        if needs_rehash(user.password_hash):
            await users.set_password_hash(user.user_id, await hash_password(credentials.password))
        issuer: TokenIssuer = request.app.state.issuer
        token = issuer.issue(subject=user.user_id, email=user.email, admin=user.is_admin)
        return TokenResponse(access_token=token, expires_in=issuer.ttl_seconds)

    @app.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut)
    async def create_user(request: Request, body: NewUser, caller: CurrentPrincipal) -> UserOut:
        users: UserStore = request.app.state.users
        admin = await users.by_id(caller.user_id)
        if admin is None or not admin.is_admin:
            raise Problem(403, "forbidden", "only an admin can create users")
        try:
            user = await create_account(users, body.email, body.password, is_admin=False)
        except InvalidAccount as exc:
            raise Problem(422, "invalid-account", str(exc)) from exc
        except EmailTaken as exc:
            raise Problem(409, "email-taken", f"an account with email {exc} exists") from exc
        return UserOut(user_id=user.user_id, email=user.email, is_admin=user.is_admin)

    @app.get("/.well-known/jwks.json")
    async def jwks(request: Request) -> dict[str, Any]:
        issuer: TokenIssuer = request.app.state.issuer
        return issuer.jwks()

    return finish_app(app, ROLE)
