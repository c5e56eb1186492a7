"""The emails users get when a job ends."""

from email import message_from_bytes, policy

from mp3converter.contracts import JobFailed, JobSucceeded
from mp3converter.services.emails import job_email

SENDER = "mp3converter <noreply@mp3converter.com>"
BASE_URL = "https://mp3converter.com/"


def test_success_email_links_to_the_download() -> None:
    event = JobSucceeded(
        job_id="job-42",
        owner_id="u1",
        filename="Fête.mp4",
        owner_email="ann@example.com",
        duration_seconds=61.34,
        size_bytes=1_000_000,
    )
    message = job_email(event, sender=SENDER, base_url=BASE_URL)

    assert message["From"] == SENDER
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Your MP3 is ready: Fête.mp4"
    assert "job-42" in message["Message-ID"]
    body = message.get_content()
    assert "https://mp3converter.com/download/job-42\n" in body
    assert "//download" not in body
    assert "Length: 61.3 s" in body


def test_failure_email_gives_reason_and_code() -> None:
    event = JobFailed(
        job_id="job-7",
        owner_id="u1",
        filename="silent.mp4",
        owner_email="bob@example.com",
        code="no-audio",
        reason="the file has no audio stream",
    )
    message = job_email(event, sender=SENDER, base_url=BASE_URL)

    assert message["To"] == "bob@example.com"
    assert message["Subject"] == "Conversion failed: silent.mp4"
    body = message.get_content()
    assert "the file has no audio stream" in body
    assert "no-audio" in body
    assert "job-7" in body
    assert "/download/" not in body


def test_email_survives_serialisation() -> None:
    event = JobFailed(
        job_id="job-8",
        owner_id="u1",
        filename="日本.mp4",
        owner_email="c@example.com",
        code="not-media",
        reason="not a media file",
    )
    wire = bytes(job_email(event, sender=SENDER, base_url=BASE_URL))
    parsed = message_from_bytes(wire, policy=policy.default)
    assert parsed["Subject"] == "Conversion failed: 日本.mp4"
    assert "not a media file (not-media)" in parsed.get_body().get_content()  # type: ignore[union-attr]
