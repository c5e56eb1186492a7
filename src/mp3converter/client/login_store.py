"""The stored login: the server's URL and a refresh token or an API key, in the user's config dir.

The directory is 0700 and the file 0600 from the moment it exists (written to a private
temporary file, then renamed over the old one), so the secret is never readable by others, not
even briefly. The refresh token rotates on every use and a retired one presented again revokes
the whole login, so reading, refreshing and writing it back happen under an exclusive lock on
`login.lock`: two commands running at once take turns instead of both spending one token.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import platformdirs

from mp3converter.client.errors import ClientError

CONFIG_DIR_VARIABLE = "MP3CONVERTER_CONFIG_DIR"
LOGIN_FILE = "login.json"
LOCK_FILE = "login.lock"
Credential = Literal["refresh_token", "api_key"]


def config_dir() -> Path:
    """`MP3CONVERTER_CONFIG_DIR`, else the platform's config dir (~/.config/mp3converter)."""
    override = os.environ.get(CONFIG_DIR_VARIABLE)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir("mp3converter", appauthor=False))


@dataclass(frozen=True)
class StoredLogin:
    """Where the client signs in and with what."""

    server: str
    credential: Credential
    secret: str
    email: str | None = None


class LoginStore:
    """The login file of one config directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / LOGIN_FILE

    def load(self) -> StoredLogin | None:
        """The stored login, or None when there is none."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(raw)
            login = StoredLogin(
                server=str(data["server"]),
                credential=data["credential"],
                secret=str(data["secret"]),
                email=data.get("email"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ClientError(
                f"the stored login {self.path} is damaged: run `mp3converter login` again"
            ) from exc
        if login.credential not in ("refresh_token", "api_key"):
            raise ClientError(f"the stored login {self.path} has an unknown credential")
        return login

    def save(self, login: StoredLogin) -> None:
        """Replace the stored login atomically; the file is 0600 from its creation."""
        self._private_directory()
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".login.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)  # mkstemp already uses 0600; say so whatever the platform
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(asdict(login), file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        self._sync_directory()

    def delete(self) -> bool:
        """Remove the stored login; False if there was none."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        self._sync_directory()
        return True

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's exclusive lock (blocks while another process holds it)."""
        self._private_directory()
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _private_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = self.directory.stat().st_mode
        if stat.S_IMODE(mode) & 0o077:
            try:
                self.directory.chmod(0o700)
            except OSError as exc:
                raise ClientError(
                    f"{self.directory} is readable by others and cannot be made private: {exc}"
                ) from exc

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
