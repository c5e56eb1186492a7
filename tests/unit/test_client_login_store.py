"""The stored login: private from its first byte, replaced atomically, one refresher at a time."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from mp3converter.client.errors import ClientError
from mp3converter.client.login_store import (
    CONFIG_DIR_VARIABLE,
    LoginStore,
    StoredLogin,
    config_dir,
)

LOGIN = StoredLogin("http://127.0.0.1:8080", "refresh_token", "secret-1", email="ana@example.com")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> object:
    """The most permissive umask, so only the code's own modes protect the files."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_the_file_is_0600_and_the_directory_0700_whatever_the_umask(
    tmp_path: Path, open_umask: object
) -> None:
    store = LoginStore(tmp_path / "config" / "mp3converter")
    store.save(LOGIN)
    assert _mode(store.path) == 0o600
    assert _mode(store.directory) == 0o700
    assert store.load() == LOGIN


def test_the_secret_is_never_readable_by_others_even_before_the_rename(
    tmp_path: Path, open_umask: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real_replace = os.replace

    def checking_replace(src: str, dst: str) -> None:
        seen.append(_mode(Path(src)))
        assert "secret-2" in Path(src).read_text()
        real_replace(src, dst)

    store = LoginStore(tmp_path)
    store.save(LOGIN)
    monkeypatch.setattr(os, "replace", checking_replace)
    store.save(StoredLogin(LOGIN.server, "refresh_token", "secret-2"))
    assert seen == [0o600]
    assert store.load() is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["login.json"]


def test_a_failed_write_keeps_the_old_login_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LoginStore(tmp_path)
    store.save(LOGIN)

    def failing_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        store.save(StoredLogin(LOGIN.server, "refresh_token", "secret-2"))
    monkeypatch.undo()
    assert store.load() == LOGIN
    assert sorted(p.name for p in tmp_path.iterdir()) == ["login.json"]


def test_a_directory_others_can_read_is_made_private(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    LoginStore(directory).save(LOGIN)
    assert _mode(directory) == 0o700


def test_no_file_is_no_login_and_a_damaged_one_says_so(tmp_path: Path) -> None:
    store = LoginStore(tmp_path)
    assert store.load() is None
    assert store.delete() is False
    store.path.write_text("{not json")
    with pytest.raises(ClientError, match="damaged"):
        store.load()
    store.path.write_text('{"server": "x", "credential": "cookie", "secret": "s"}')
    with pytest.raises(ClientError, match="unknown credential"):
        store.load()


def test_api_keys_are_stored_too_and_delete_removes_the_file(tmp_path: Path) -> None:
    store = LoginStore(tmp_path)
    key = StoredLogin("https://mp3.example.com", "api_key", "mp3c_id_secret")
    store.save(key)
    assert store.load() == key
    assert store.delete() is True
    assert store.load() is None


def test_the_override_variable_isolates_the_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_DIR_VARIABLE, str(tmp_path))
    assert config_dir() == tmp_path
    monkeypatch.delenv(CONFIG_DIR_VARIABLE)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "mp3converter"


def test_the_lock_lets_one_holder_in_at_a_time(tmp_path: Path) -> None:
    # flock locks belong to open file descriptions, so two threads contend like two processes.
    store = LoginStore(tmp_path)
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with store.locked():
            order.append("first in")
            holding.set()
            time.sleep(0.3)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(5)
    with store.locked():
        order.append("second in")
    thread.join(5)
    assert order == ["first in", "first out", "second in"]
