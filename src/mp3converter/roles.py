"""The roles this one package runs; each imports its heavy modules only when started."""

from __future__ import annotations

import importlib
from typing import Protocol, cast

from fastapi import FastAPI

from mp3converter.config import Settings

ROLES: dict[str, int] = {
    "gateway": 8080,
    "auth": 8081,
    "upload": 8082,
    "converter": 8083,
    "notification": 8084,
}


class RoleModule(Protocol):
    """What every module under services/ that is a role provides."""

    DEFAULT_PORT: int

    def create_app(self, settings: Settings) -> FastAPI:
        """Build the role's ASGI app."""


def load_role(name: str) -> RoleModule:
    """Import the role's module."""
    if name not in ROLES:
        raise ValueError(f"unknown role {name!r}; choose one of {', '.join(ROLES)}")
    return cast(RoleModule, importlib.import_module(f"mp3converter.services.{name}"))


def run_role(name: str, settings: Settings) -> None:
    """Serve the role until SIGINT/SIGTERM."""
    from mp3converter.web.server import serve

    module = load_role(name)
    serve(module.create_app(settings), settings, module.DEFAULT_PORT)
