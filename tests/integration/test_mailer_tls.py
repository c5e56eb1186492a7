"""SMTP with STARTTLS and a login, against a real aiosmtpd server that requires both."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mp3converter.adapters.mailer import SmtpMailer
from mp3converter.config import Settings
from mp3converter.devstack.secantus import free_port
from tests.services import Mailbox

USER, PASSWORD = "mailer", "smtp-secret-password"


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    """Accept only USER/PASSWORD."""
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    """An SMTP server that requires STARTTLS and, after it, a login."""
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield mailbox, port, cert
    finally:
        controller.stop()


def letter() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "noreply@mp3converter.com"
    message["To"] = "ann@example.com"
    message["Subject"] = "Your MP3 is ready"
    message.set_content("Here it is.\n")
    return message


def settings(port: int, ca: Path | None, password: str = PASSWORD) -> Settings:
    return Settings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls="starttls",
        smtp_username=USER,
        smtp_password=password,  # type: ignore[arg-type]
        smtp_ca_file=ca,
    )


async def test_starttls_and_login_deliver(tls_server: tuple[Mailbox, int, Path]) -> None:
    mailbox, port, cert = tls_server
    await SmtpMailer(settings(port, cert)).send(letter())
    received = await mailbox.wait_for(lambda m: m["To"] == "ann@example.com", timeout=10)
    assert received["Subject"] == "Your MP3 is ready"


async def test_an_untrusted_certificate_is_refused(tls_server: tuple[Mailbox, int, Path]) -> None:
    _, port, _ = tls_server
    with pytest.raises(ssl.SSLCertVerificationError):
        await SmtpMailer(settings(port, ca=None)).send(letter())


async def test_a_wrong_password_is_refused(tls_server: tuple[Mailbox, int, Path]) -> None:
    mailbox, port, cert = tls_server
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await SmtpMailer(settings(port, cert, password="wrong-password")).send(letter())
    assert mailbox.messages == []
