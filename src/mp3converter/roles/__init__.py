"""Process entry points: one module per role of `mp3converter run ROLE`.

Each role module builds its app from Settings (`create_app`) and only wires: its lifespan opens the
adapters, its routers come from `api/`, its work from `usecases/`. Heavy imports stay inside the
role that needs them, since only the started role's module is imported.
"""

from __future__ import annotations

import importlib
from typing import Protocol, cast

from fastapi import FastAPI

from mp3converter.config import ROLE_PORTS, Settings

ROLES = tuple(ROLE_PORTS)


class RoleModule(Protocol):
    """What every module under roles/ provides."""

    def create_app(self, settings: Settings) -> FastAPI:
        """Build the role's ASGI app."""


def load_role(name: str) -> RoleModule:
    """Import the role's module."""
    if name not in ROLE_PORTS:
        raise ValueError(f"unknown role {name!r}; choose one of {', '.join(ROLES)}")
    return cast(RoleModule, importlib.import_module(f"mp3converter.roles.{name}"))


def run_role(name: str, settings: Settings) -> None:
    """Serve the role until SIGINT/SIGTERM."""
    from mp3converter.web.server import serve

    serve(load_role(name).create_app(settings), settings)
