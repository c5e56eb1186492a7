"""Mailers against a real SMTP server (aiosmtpd) and a real outbox directory."""

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from mp3converter.adapters.mailer import OutboxMailer, SmtpMailer, build_mailer
from mp3converter.config import Settings
from mp3converter.devstack.secantus import free_port
from tests.services import Mailbox

SENDER = "mp3converter <noreply@mp3converter.com>"


def letter(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def read_outbox(directory: Path) -> list[EmailMessage]:
    """Every message in an outbox; fails on anything but finished .eml files."""
    names = sorted(path.name for path in directory.iterdir())
    assert all(name.endswith(".eml") and not name.startswith(".") for name in names), names
    messages = []
    for name in names:
        parsed = message_from_bytes((directory / name).read_bytes(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def smtp_settings(port: int, **extra: object) -> Settings:
    return Settings(smtp_host="127.0.0.1", smtp_port=port, **extra)  # type: ignore[arg-type]


async def test_smtp_mailer_delivers_to_the_server(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    await SmtpMailer(smtp_settings(port)).send(
        letter("ann@example.com", "Your MP3 is ready: Fête.mp4", "Download it here.\nBye.\n")
    )

    received = await box.wait_for(lambda m: m["To"] == "ann@example.com", timeout=10)
    assert received["Subject"] == "Your MP3 is ready: Fête.mp4"
    assert received["From"] == SENDER
    assert received.get_content().replace("\r\n", "\n") == "Download it here.\nBye.\n"
    assert box.envelopes == [("noreply@mp3converter.com", ["ann@example.com"])]


async def test_smtp_mailer_sends_each_message(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    mailer = SmtpMailer(smtp_settings(port))
    for i in range(3):
        await mailer.send(letter(f"user{i}@example.com", f"subject {i}", f"body {i}\n"))
    assert [m["Subject"] for m in box.messages] == ["subject 0", "subject 1", "subject 2"]


async def test_smtp_to_a_closed_port_raises() -> None:
    mailer = SmtpMailer(smtp_settings(free_port(), smtp_timeout_seconds=5))
    with pytest.raises(aiosmtplib.SMTPException):
        await mailer.send(letter("ann@example.com", "s", "b\n"))


async def test_outbox_writes_one_eml_per_message(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"  # created on first use
    mailer = OutboxMailer(outbox)
    sent = [letter(f"user{i}@example.com", f"Subject {i} ✓", f"Body {i}\n") for i in range(3)]
    for message in sent:
        await mailer.send(message)

    parsed = read_outbox(outbox)
    assert len(parsed) == 3
    by_to = {m["To"]: m for m in parsed}
    assert set(by_to) == {"user0@example.com", "user1@example.com", "user2@example.com"}
    for i in range(3):
        message = by_to[f"user{i}@example.com"]
        assert message["Subject"] == f"Subject {i} ✓"
        assert message["Message-ID"]
        assert message.get_content() == f"Body {i}\n"


async def test_outbox_keeps_a_given_message_id(tmp_path: Path) -> None:
    message = letter("ann@example.com", "s", "b\n")
    message["Message-ID"] = "<job/42@mp3converter.com>"
    await OutboxMailer(tmp_path).send(message)
    (only,) = read_outbox(tmp_path)
    assert only["Message-ID"] == "<job/42@mp3converter.com>"


def test_build_mailer_uses_smtp_when_a_host_is_set() -> None:
    assert isinstance(build_mailer(smtp_settings(2525)), SmtpMailer)


def test_build_mailer_falls_back_to_the_outbox(data_dir: Path) -> None:
    mailer = build_mailer(Settings(smtp_host=None, data_dir=data_dir, outbox_dir=None))
    assert isinstance(mailer, OutboxMailer)
    assert mailer.directory == data_dir / "outbox"
    explicit = build_mailer(Settings(smtp_host=None, outbox_dir=data_dir / "mail"))
    assert isinstance(explicit, OutboxMailer)
    assert explicit.directory == data_dir / "mail"
