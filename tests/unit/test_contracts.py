"""Message contracts: validation, JSON round trips, ids and routing keys."""

import typing
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from mp3converter.contracts import (
    EVERY_JOB_EVENT,
    JOB_EVENT,
    AnyJobEvent,
    ConvertVideo,
    JobFailed,
    JobQueued,
    JobSucceeded,
    Message,
)
from mp3converter.domain.conversion_options import ConversionOptions, Cover

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BASE = {"job_id": "job-1", "owner_id": "user-1", "occurred_at": WHEN}


def all_messages() -> list[Message]:
    return [
        ConvertVideo(**BASE, video_file_id="0123456789abcdef01234567"),
        JobQueued(**BASE, filename="clip.mp4"),
        JobSucceeded(
            **BASE,
            filename="clip.mp4",
            owner_email="a@example.com",
            duration_seconds=12.5,
            size_bytes=2048,
        ),
        JobFailed(
            **BASE,
            filename="clip.mp4",
            owner_email="a@example.com",
            code="no-audio",
            reason="the file has no audio stream",
        ),
    ]


MESSAGES = all_messages()
IDS = [type(m).__name__ for m in MESSAGES]


@pytest.mark.parametrize("message", MESSAGES, ids=IDS)
def test_message_round_trips_through_json(message: Message) -> None:
    again = type(message).model_validate_json(message.model_dump_json())
    assert again == message
    assert again.version == (2 if isinstance(message, ConvertVideo) else 1)
    assert again.occurred_at == WHEN


@pytest.mark.parametrize("message", MESSAGES, ids=IDS)
def test_type_field_names_the_class(message: Message) -> None:
    assert message.model_dump()["type"] == type(message).__name__


@pytest.mark.parametrize("message", MESSAGES, ids=IDS)
def test_extra_fields_are_rejected(message: Message) -> None:
    data = {**message.model_dump(), "surprise": 1}
    with pytest.raises(ValidationError, match="surprise"):
        type(message).model_validate(data)


@pytest.mark.parametrize("message", MESSAGES, ids=IDS)
@pytest.mark.parametrize(
    ("field", "bad"),
    [("job_id", 42), ("job_id", ""), ("owner_id", None), ("version", 3), ("occurred_at", "soon")],
)
def test_wrong_types_are_rejected(message: Message, field: str, bad: object) -> None:
    data = {**message.model_dump(), field: bad}
    with pytest.raises(ValidationError, match=field):
        type(message).model_validate(data)


def test_wrong_type_of_specific_fields_is_rejected() -> None:
    good = MESSAGES[2].model_dump()
    with pytest.raises(ValidationError, match="size_bytes"):
        JobSucceeded.model_validate({**good, "size_bytes": "big"})
    with pytest.raises(ValidationError, match="duration_seconds"):
        JobSucceeded.model_validate({**good, "duration_seconds": [1]})


def test_missing_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="video_file_id"):
        ConvertVideo(job_id="j", owner_id="u")  # type: ignore[call-arg]


def test_messages_are_frozen() -> None:
    with pytest.raises(ValidationError):
        MESSAGES[0].job_id = "other"  # type: ignore[misc]


def test_occurred_at_defaults_to_aware_utc_now() -> None:
    before = datetime.now(UTC)
    message = JobQueued(job_id="j", owner_id="u", filename="f")
    assert before <= message.occurred_at <= datetime.now(UTC)
    assert message.occurred_at.utcoffset() is not None


def test_message_id_is_stable_for_the_same_logical_message() -> None:
    assert [m.message_id for m in all_messages()] == [m.message_id for m in MESSAGES]
    later = JobQueued(job_id="job-1", owner_id="user-1", filename="clip.mp4")
    assert later.message_id == MESSAGES[1].message_id


def test_message_id_is_distinct_per_kind_and_job() -> None:
    ids = {m.message_id for m in MESSAGES}
    assert len(ids) == len(MESSAGES)
    other_job = JobQueued(job_id="job-2", owner_id="user-1", filename="clip.mp4")
    assert other_job.message_id not in ids


def test_routing_keys() -> None:
    assert [m.routing_key for m in MESSAGES] == [
        "convert",
        "job.queued",
        "job.succeeded",
        "job.failed",
    ]


def test_every_job_event_is_heard_by_the_live_binding() -> None:
    # A topic binding "job.#" matches a key of "job." and any words after it.
    prefix = EVERY_JOB_EVENT.removesuffix("#")
    assert EVERY_JOB_EVENT.endswith(".#")
    for event in typing.get_args(AnyJobEvent):
        assert event.ROUTING_KEY.startswith(prefix), event.__name__


def test_base_message_has_no_routing_key() -> None:
    with pytest.raises(AttributeError):
        _ = Message(job_id="j", owner_id="u").routing_key


@pytest.mark.parametrize("event", MESSAGES[1:], ids=IDS[1:])
def test_job_event_picks_the_class_by_type(event: Message) -> None:
    parsed = JOB_EVENT.validate_json(event.model_dump_json())
    assert type(parsed) is type(event)
    assert parsed == event


def test_job_event_rejects_unknown_type_and_commands() -> None:
    with pytest.raises(ValidationError):
        JOB_EVENT.validate_json(MESSAGES[0].model_dump_json())
    data = {**MESSAGES[1].model_dump(mode="json"), "type": "JobExploded"}
    with pytest.raises(ValidationError):
        JOB_EVENT.validate_python(data)


def test_job_event_validates_against_the_chosen_type() -> None:
    # A JobQueued body labelled JobFailed lacks code/reason/owner_email.
    data = {**MESSAGES[1].model_dump(mode="json"), "type": "JobFailed"}
    with pytest.raises(ValidationError, match="reason"):
        JOB_EVENT.validate_python(data)


def test_version_two_is_only_for_convert_video() -> None:
    data = {**MESSAGES[1].model_dump(), "version": 2}
    with pytest.raises(ValidationError, match="version"):
        JobQueued.model_validate(data)


def test_a_version_one_command_without_options_converts_with_the_defaults() -> None:
    old = {**BASE, "version": 1, "type": "ConvertVideo", "video_file_id": "f" * 24}
    command = ConvertVideo.model_validate(old)
    assert command.version == 1
    assert command.options == ConversionOptions()


def test_options_travel_in_the_command() -> None:
    options = ConversionOptions(bitrate=128, channels=1, title="Ünïcode — talk", cover=Cover.NONE)
    command = ConvertVideo(**BASE, video_file_id="f" * 24, options=options)
    again = ConvertVideo.model_validate_json(command.model_dump_json())
    assert again.options == options
    assert again.version == 2
