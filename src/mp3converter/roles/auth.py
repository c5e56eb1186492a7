"""The auth role: users, sign-in (HTTP Basic, OAuth2 token endpoint), API keys, the JWKS."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from pymongo.errors import PyMongoError

from mp3converter import bootstrap
from mp3converter.adapters import mongo
from mp3converter.adapters.api_keys import ApiKeyStore
from mp3converter.adapters.jwt_keys import TokenIssuer, load_or_create_key
from mp3converter.adapters.login_throttle import LoginThrottle
from mp3converter.adapters.mongo import Database
from mp3converter.adapters.passwords import Passwords
from mp3converter.adapters.refresh_tokens import RefreshTokenStore
from mp3converter.adapters.revocations import RevocationStore
from mp3converter.adapters.token_verifier import StaticKeys, TokenVerifier
from mp3converter.adapters.user_store import UserStore
from mp3converter.api.deps import RoleState
from mp3converter.api.routes import api_keys, internal, tokens, users
from mp3converter.config import Settings
from mp3converter.contracts import utcnow
from mp3converter.usecases.accounts import Accounts, ensure_admin
from mp3converter.usecases.api_keys import ApiKeys
from mp3converter.usecases.sessions import Sessions
from mp3converter.web.server import finish_app

log = logging.getLogger(__name__)
ROLE = "auth"
CLEANUP_INTERVAL_SECONDS = 600.0


def token_issuer(settings: Settings) -> TokenIssuer:
    """The signing key (generated on first start, in development only) and token settings."""
    key_path = settings.jwt_private_key_file or settings.data_dir / "jwt-ed25519.pem"
    key = load_or_create_key(key_path, create=not settings.is_production)
    return TokenIssuer(key, settings.jwt_issuer, settings.jwt_audience, settings.jwt_ttl_seconds)


def role_state(settings: Settings, db: Database, passwords: Passwords) -> RoleState:
    """Every store and use case of the auth role, on one database."""
    issuer = token_issuer(settings)
    user_store, revocations = UserStore(db), RevocationStore(db)
    refresh = RefreshTokenStore(db, settings.refresh_token_ttl_seconds)
    key_store = ApiKeyStore(db)
    return RoleState(
        role=ROLE,
        settings=settings,
        checks={"mongodb": lambda: mongo.ping(db)},
        verifier=TokenVerifier(
            StaticKeys({issuer.jwk["kid"]: issuer.key.public_key()}),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            revocations=revocations,
        ),
        users=user_store,
        issuer=issuer,
        revocations=revocations,
        sessions=Sessions(
            user_store, passwords, issuer, refresh, LoginThrottle(db, settings.login_policies)
        ),
        accounts=Accounts(user_store, passwords, refresh, revocations, key_store),
        api_keys=ApiKeys(key_store, user_store, issuer, settings.api_key_token_ttl_seconds),
    )


async def _clean_up(db: Database, settings: Settings) -> None:
    refresh = RefreshTokenStore(db, settings.refresh_token_ttl_seconds)
    throttle = LoginThrottle(db, settings.login_policies)
    while True:
        try:
            await refresh.delete_expired(utcnow())
            await throttle.delete_expired()
        except PyMongoError:
            log.warning("expired refresh tokens and login counts not cleaned up", exc_info=True)
        await asyncio.sleep(CLEANUP_INTERVAL_SECONDS)


@asynccontextmanager
async def lifespan(settings: Settings, app: FastAPI) -> AsyncIterator[RoleState]:
    """MongoDB and the signing key for the app's lifetime; the admin account is ensured."""
    passwords = Passwords(settings.password_hash_concurrency, settings.password_hash_queue)
    async with bootstrap.database(settings, ROLE) as db:
        state = role_state(settings, db, passwords)
        if settings.admin_email and settings.admin_password:
            secret = settings.admin_password.get_secret_value()
            await ensure_admin(state["users"], passwords, settings.admin_email, secret)
        async with bootstrap.in_background(_clean_up(db, settings)):
            yield state


def create_app(settings: Settings) -> FastAPI:
    """The auth role's app."""
    app = FastAPI(title="mp3converter auth", lifespan=partial(lifespan, settings))
    for module in (tokens, users, api_keys, internal):
        app.include_router(module.router)
    return finish_app(app, ROLE)
