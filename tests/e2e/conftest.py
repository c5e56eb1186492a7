"""One running platform shared by the end-to-end tests of a module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e.platform import Platform, running_platform
from tests.services import Mailbox, smtp_server


@pytest.fixture(scope="module")
def module_mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server for the platform's notification role."""
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
async def platform(
    mongodb_url: str, module_mailbox: tuple[Mailbox, int], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """Auth, gateway, upload, converter and notification as subprocesses."""
    mailbox, port = module_mailbox
    data_dir: Path = tmp_path_factory.mktemp("platform")
    async with running_platform(mongodb_url, data_dir, mailbox, port) as running:
        yield running
