"""The emails users get when a job ends."""

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mp3converter.contracts import JobFailed, JobSucceeded
from mp3converter.domain.failure_advice import ADVICE
from mp3converter.domain.jobs import FailureCode
from mp3converter.usecases.emails import UnbuildableEmail, built_job_email, job_email
from tests.mail_parts import alternatives, html_of, markup, received, text_of

SENDER = "mp3converter <noreply@mp3converter.com>"
LINK = "https://mp3converter.com/download/job-42?u=u1&e=1&k=k&s=sig"
EXPIRES = datetime(2024, 6, 4, 14, 5, 30, tzinfo=UTC)
HOSTILE = 'Tom & <script>alert("x")</script>\r\nLink: https://evil.test/\u2028<a href="x">.mp4'


def test_success_email_links_to_the_download() -> None:
    event = JobSucceeded(
        job_id="job-42",
        owner_id="u1",
        filename="Fête.mp4",
        owner_email="ann@example.com",
        duration_seconds=61.34,
        size_bytes=1_000_000,
    )
    message = job_email(event, sender=SENDER, link=LINK)

    assert message["From"] == SENDER
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Your MP3 is ready: Fête.mp4"
    assert "job-42" in message["Message-ID"]
    body = text_of(message)
    assert f"\n{LINK}\n" in body
    assert "Length: 1 min 1 s" in body


def test_failure_email_gives_reason_and_code() -> None:
    event = JobFailed(
        job_id="job-7",
        owner_id="u1",
        filename="silent.mp4",
        owner_email="bob@example.com",
        code="no-audio",
        reason="the file has no audio stream",
    )
    message = job_email(event, sender=SENDER, link=LINK)

    assert message["To"] == "bob@example.com"
    assert message["Subject"] == "Conversion failed: silent.mp4"
    body = text_of(message)
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
    wire = bytes(job_email(event, sender=SENDER, link=LINK))
    parsed = message_from_bytes(wire, policy=policy.default)
    assert parsed["Subject"] == "Conversion failed: 日本.mp4"
    assert "not a media file (not-media)" in text_of(parsed)
    assert "not a media file" in html_of(parsed)


@pytest.mark.parametrize(
    "filename",
    ["talk\u2028part 2.mp4", "a\u2029b.mp4", "x\x85y.mp4", "bell\x07\r\nBcc: evil@x.test.mp4"],
    ids=["line-separator", "paragraph-separator", "next-line", "crlf-injection"],
)
def test_a_name_that_would_break_a_header_still_makes_an_email(filename: str) -> None:
    event = JobSucceeded(
        job_id="job-9",
        owner_id="u1",
        filename=filename,
        owner_email="d@example.com",
        duration_seconds=1.0,
        size_bytes=10,
    )
    wire = bytes(built_job_email(event, sender=SENDER, link=LINK))
    parsed = message_from_bytes(wire, policy=policy.default)

    subject = parsed["Subject"]
    assert subject.startswith("Your MP3 is ready: ")
    assert not any(ch in subject for ch in "\u2028\u2029\x85\r\n\x07")
    assert parsed["Bcc"] is None
    assert parsed["To"] == "d@example.com"


@given(filename=st.text(min_size=1, max_size=300), failed=st.booleans())
@settings(max_examples=300, deadline=None)
def test_any_file_name_gives_an_email_that_can_be_sent(filename: str, failed: bool) -> None:
    common = {"job_id": "job-1", "owner_id": "u1", "filename": filename, "owner_email": "e@x.org"}
    event: JobSucceeded | JobFailed = (
        JobFailed(**common, code="not-media", reason="r")
        if failed
        else JobSucceeded(**common, duration_seconds=1.0, size_bytes=1)
    )
    wire = bytes(built_job_email(event, sender=SENDER, link=LINK))
    parsed = message_from_bytes(wire, policy=policy.default)
    assert "\n" not in parsed["Subject"]


def test_an_email_that_cannot_be_built_is_unbuildable() -> None:
    event = JobFailed(
        job_id="job-2",
        owner_id="u1",
        filename="a.mp4",
        owner_email="broken\u2028@example.com",
        code="not-media",
        reason="r",
    )
    with pytest.raises(UnbuildableEmail, match="job-2"):
        built_job_email(event, sender=SENDER, link=LINK)


def succeeded(filename: str = "talk.mp4", **fields: object) -> JobSucceeded:
    """A JobSucceeded event: 4 min 12 s of audio in 3.8 MB."""
    values: dict[str, object] = {"duration_seconds": 252.3, "size_bytes": 3_800_000, **fields}
    return JobSucceeded(
        job_id="job-42", owner_id="u1", filename=filename, owner_email="a@x.org", **values
    )


def failed(code: str, filename: str = "talk.mp4") -> JobFailed:
    """A JobFailed event with the code."""
    return JobFailed(
        job_id="job-7",
        owner_id="u1",
        filename=filename,
        owner_email="a@x.org",
        code=code,
        reason="what the converter found",
    )


def sent(event: JobSucceeded | JobFailed, link: str | None = LINK) -> bytes:
    """The email's bytes, as they go to the mail server."""
    return bytes(built_job_email(event, sender=SENDER, link=link, link_expires_at=EXPIRES))


@pytest.mark.parametrize("event", [succeeded(), failed("no-audio")], ids=["success", "failure"])
def test_an_email_has_a_text_and_an_html_alternative(event: JobSucceeded | JobFailed) -> None:
    message = received(sent(event))

    assert alternatives(message) == ["text/plain", "text/html"]  # the last is preferred
    for part in message.iter_parts():
        assert part.get_content_charset() == "utf-8"
    assert text_of(message).startswith("Your ")
    assert markup(html_of(message)).tags[:2] == ["html", "head"]


def test_the_download_link_is_the_buttons_href_and_in_the_text() -> None:
    message = received(sent(succeeded()))

    links = markup(html_of(message)).links
    assert (LINK, "Download the MP3") in links
    assert {href for href, _ in links} == {LINK}  # the button, and the link written out
    assert "?u=u1&amp;e=1&amp;k=k&amp;s=sig" in html_of(message)  # written as HTML requires
    assert f"\n{LINK}\n" in text_of(message)


def test_the_success_email_says_length_size_and_until_when_the_link_works() -> None:
    message = received(sent(succeeded()))
    text, html = text_of(message), html_of(message)

    assert "Length: 4 min 12 s\n" in text
    assert "Size:   3.8 MB\n" in text
    assert "Job:    job-42\n" in text
    assert "The link works until Tue 4 Jun 2024, 14:05 UTC" in text
    for words in ("4 min 12 s", "3.8 MB", "job-42", "until Tue 4 Jun 2024, 14:05 UTC"):
        assert words in html


def test_without_a_known_length_and_size_those_lines_are_left_out() -> None:
    message = received(sent(succeeded(duration_seconds=0.0, size_bytes=0)))

    assert "Length" not in text_of(message)
    assert "Size" not in text_of(message)
    assert "Length" not in html_of(message)


def test_without_a_link_the_email_points_to_the_job_page() -> None:
    message = received(sent(succeeded(), link=None))

    assert markup(html_of(message)).links == []
    assert "job page" in text_of(message)
    assert "/download/" not in text_of(message)


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html,x", "https://a.test/x y", "https://a.test/\n"]
)
def test_a_link_that_is_not_a_web_address_on_one_line_is_refused(link: str) -> None:
    with pytest.raises(UnbuildableEmail, match="job-42"):
        built_job_email(succeeded(), sender=SENDER, link=link)


def test_a_hostile_name_is_escaped_in_the_html_and_kept_on_one_line_in_the_text() -> None:
    message = received(sent(succeeded(HOSTILE)))
    text, html = text_of(message), html_of(message)

    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert markup(html).links == markup(html_of(received(sent(succeeded())))).links
    # Not escaped in the text: the name as the user wrote it, breaks turned into spaces.
    shown = 'Tom & <script>alert("x")</script> Link: https://evil.test/ <a href="x">.mp4'
    assert f'Your video "{shown}" was converted to MP3.\n' in text
    assert "&lt;" not in text
    assert not any(line.startswith("Link:") for line in text.splitlines())


@pytest.mark.parametrize("code", list(FailureCode))
def test_a_failure_email_gives_the_reason_the_code_and_what_to_do(code: FailureCode) -> None:
    message = received(sent(failed(code)))
    text, html = text_of(message), html_of(message)

    assert f"Reason: what the converter found ({code})\n" in text
    assert ADVICE[code] in " ".join(text.split())  # the text part wraps it at 72 columns
    assert max(len(line) for line in text.splitlines()) <= 72
    assert "Job: job-7\n" in text
    for words in ("what the converter found", code.value, ADVICE[code], "job-7"):
        assert words in html
    assert markup(html).links == []


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("unsupported-format", "re-export it as MP4 (H.264 video, AAC audio)"),
        ("too-long", "Trim it to under that length"),
        ("output-too-large", "split it into shorter parts"),
        ("upload-incomplete", "upload it again"),
        ("retries-exhausted", "try again later"),
        ("a-code-from-a-newer-converter", "Please try again"),
    ],
)
def test_the_advice_fits_the_failure(code: str, words: str) -> None:
    text = " ".join(text_of(received(sent(failed(code)))).split())

    assert words in text


@given(filename=st.text(min_size=1, max_size=300), fail=st.booleans())
@settings(max_examples=200, deadline=None)
def test_no_file_name_adds_lines_tags_or_links(filename: str, fail: bool) -> None:
    plain = received(sent(failed("no-audio") if fail else succeeded()))
    hostile = received(sent(failed("no-audio", filename) if fail else succeeded(filename)))

    assert len(text_of(hostile).splitlines()) == len(text_of(plain).splitlines())
    assert markup(html_of(hostile)).tags == markup(html_of(plain)).tags
    assert markup(html_of(hostile)).links == markup(html_of(plain)).links
