"""POST /upload: the video streams from the request body into GridFS, then its job is queued."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status
from prometheus_client import Counter

from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.upload_keys import KeyRecord, KeyState
from mp3converter.api.deps import (
    CurrentPrincipal,
    DeclaredUploadSize,
    JobsDep,
    SettingsDep,
    UploadKeysDep,
    UploadsDep,
    upload_too_large,
)
from mp3converter.api.schemas import JobAccepted
from mp3converter.config import Settings
from mp3converter.contracts import utcnow
from mp3converter.domain.conversion_options import (
    DEFAULT_OPTIONS,
    ConversionOptions,
    FieldError,
    InvalidOptions,
    parse_options,
)
from mp3converter.domain.filenames import clean_filename
from mp3converter.domain.idempotency import BadIdempotencyKey, parse_key, record_id
from mp3converter.domain.jobs import Job, JobStatus
from mp3converter.domain.quotas import QuotaExceeded, QuotaKind
from mp3converter.log_context import bind
from mp3converter.usecases.uploads import (
    EmptyUpload,
    QueueUnavailable,
    QuotaRefused,
    Upload,
    Uploads,
)
from mp3converter.web.multipart_stream import (
    ENVELOPE_BYTES,
    FileTooLarge,
    MissingFileField,
    MultipartError,
    NotMultipart,
    UploadForm,
    capped,
    open_form,
)
from mp3converter.web.problems import Problem

router = APIRouter()
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Makes a retried upload return the first job"),
]
REFUSED = Counter("mp3converter_uploads_refused_total", "Uploads refused by a quota", ["quota"])
QUOTA_RETRY_AFTER_SECONDS = 30


def quota_problem(exceeded: QuotaExceeded) -> Problem:
    """429 for too many jobs in flight, 507 for storage."""
    REFUSED.labels(exceeded.kind.value).inc()
    if exceeded.kind is QuotaKind.JOBS:
        return Problem(
            429,
            "too-many-jobs",
            exceeded.detail,
            headers={"Retry-After": str(QUOTA_RETRY_AFTER_SECONDS)},
            limit=exceeded.limit,
        )
    return Problem(507, "storage-quota-exceeded", exceeded.detail, quota_bytes=exceeded.limit)


@router.post("/upload", status_code=status.HTTP_202_ACCEPTED, response_model=JobAccepted)
async def upload(
    request: Request,
    response: Response,
    caller: CurrentPrincipal,
    uploads: UploadsDep,
    keys: UploadKeysDep,
    jobs: JobsDep,
    settings: SettingsDep,
    declared: DeclaredUploadSize,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JobAccepted:
    try:
        key = parse_key(idempotency_key)
    except BadIdempotencyKey as exc:
        raise Problem(400, "bad-idempotency-key", str(exc)) from exc
    upload = Upload(caller.user_id, caller.email, uuid.uuid4().hex, "", "")
    bind(job_id=upload.job_id)
    if key is None:
        job, _ = await _new_job(request, uploads, upload, settings, declared)
    else:
        record = record_id(caller.user_id, key)
        held = await keys.claim(record, caller.user_id, utcnow())
        if held is not None:
            return await _replay(request, response, jobs, held, caller.user_id, settings)
        try:
            job, digest = await _new_job(request, uploads, upload, settings, declared, hashing=True)
        except BaseException:
            await asyncio.shield(keys.release(record))  # the key may be used again
            raise
        await keys.complete(record, job.job_id, digest)
    response.headers["Location"] = f"/jobs/{job.job_id}"
    return JobAccepted(job_id=job.job_id, status=JobStatus.QUEUED)


async def _new_job(
    request: Request,
    uploads: Uploads,
    upload: Upload,
    settings: Settings,
    declared: int | None,
    *,
    hashing: bool = False,
) -> tuple[Job, str]:
    """Store the upload and queue its job; the job, and with `hashing` the file's SHA-256."""
    try:
        room = await uploads.room_for(upload.owner_id, max(0, (declared or 0) - ENVELOPE_BYTES))
        return await _receive(request, uploads, upload, settings.max_upload_bytes, room, hashing)
    except QuotaRefused as exc:
        raise quota_problem(exc.exceeded) from exc
    except QueueUnavailable as exc:
        raise Problem(
            503,
            "queue-unavailable",
            "the job could not be queued; retry later",
            headers={"Retry-After": "5"},
        ) from exc


async def _replay(
    request: Request,
    response: Response,
    jobs: JobStore,
    held: KeyRecord,
    owner_id: str,
    settings: Settings,
) -> JobAccepted:
    """A key used before: the first upload's job if this is the same file; nothing is stored."""
    bind(job_id=held.job_id)
    if held.state is KeyState.IN_FLIGHT or held.job_id is None:
        raise Problem(
            409,
            "idempotency-key-in-flight",
            "an upload with this Idempotency-Key is still in progress; retry once it has ended",
            headers={"Retry-After": "5"},
        )
    digest = await _digest_only(request, settings.max_upload_bytes)
    if digest != held.digest:
        raise Problem(
            422,
            "idempotency-key-reused",
            "this Idempotency-Key was used for a different file or other options in the "
            "last 24 hours; use a new key for a new upload",
        )
    job = await jobs.get(held.job_id, owner_id=owner_id)
    response.headers["Location"] = f"/jobs/{held.job_id}"
    response.headers["Idempotent-Replayed"] = "true"
    return JobAccepted(job_id=held.job_id, status=job.status if job else JobStatus.QUEUED)


async def _receive(
    request: Request, uploads: Uploads, upload: Upload, limit: int, room: int, hashing: bool
) -> tuple[Job, str]:
    """Stream the `file` part into GridFS and queue its job; cut off at the size limit or the
    owner's quota."""
    cap = min(limit, room)
    digest = hashlib.sha256()
    try:
        form = await _open_form(request, limit, cap)
        upload = replace(
            upload,
            filename=clean_filename(form.part.filename),
            content_type=form.part.content_type,
            options=form_options(form.fields()),  # a bad field before the file: nothing stored
        )
        data = _hashed(form.data, digest.update) if hashing else form.data
        job = await uploads.accept(upload, data, lambda: form_options(form.fields()))
        return job, _request_digest(digest.hexdigest(), job.options)
    except NotMultipart as exc:
        raise Problem(415, "not-multipart", str(exc)) from exc
    except MissingFileField as exc:
        raise Problem(422, "missing-file", "the form has no file field named 'file'") from exc
    except EmptyUpload as exc:
        raise Problem(422, "empty-file", str(exc)) from exc
    except FileTooLarge as exc:
        if cap < limit and exc.max_bytes == cap:
            quota = uploads.quota
            raise QuotaRefused(quota.storage_exceeded(quota.max_stored_bytes + 1)) from exc
        raise upload_too_large(limit) from exc
    except MultipartError as exc:
        raise Problem(400, "malformed-multipart", str(exc)) from exc


async def _open_form(request: Request, limit: int, cap: int) -> UploadForm:
    body = capped(request.stream(), limit + ENVELOPE_BYTES)
    return await open_form(body, request.headers.get("content-type", ""), "file", cap)


def form_options(fields: list[tuple[str, bytes]]) -> ConversionOptions:
    """The conversion options of an upload's form fields, or 422 naming each bad field."""
    texts: list[tuple[str, str]] = []
    errors: list[FieldError] = []
    for name, raw in fields:
        try:
            texts.append((name, raw.decode("utf-8")))
        except UnicodeDecodeError:
            errors.append(FieldError(name[:64], "is not UTF-8 text"))
    try:
        options = parse_options(texts)
    except InvalidOptions as exc:
        errors += exc.errors
    if errors:
        raise Problem(
            422,
            "invalid-options",
            "some conversion options are not valid: "
            + "; ".join(f"{e.field}: {e.detail}" for e in errors),
            errors=[{"loc": ["body", e.field], "msg": e.detail} for e in errors],
        )
    return options


async def _hashed(
    chunks: AsyncIterator[bytes], update: Callable[[bytes], object]
) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        update(chunk)
        yield chunk


async def _digest_only(request: Request, limit: int) -> str:
    """The SHA-256 of the upload's file, read and dropped (a replayed upload is not stored)."""
    digest = hashlib.sha256()
    try:
        form = await _open_form(request, limit, limit)
        async for chunk in form.data:
            digest.update(chunk)
        options = form_options(form.fields())
    except NotMultipart as exc:
        raise Problem(415, "not-multipart", str(exc)) from exc
    except FileTooLarge as exc:
        raise upload_too_large(limit) from exc
    except MultipartError as exc:
        raise Problem(400, "malformed-multipart", str(exc)) from exc
    return _request_digest(digest.hexdigest(), options)


def _request_digest(file_digest: str, options: ConversionOptions | None) -> str:
    """What a replayed upload must match: the file and the options it was sent with."""
    if options is None or options == DEFAULT_OPTIONS:
        return file_digest  # as recorded before options existed
    canonical = options.model_dump_json(exclude_none=True)
    return hashlib.sha256(f"{file_digest}\n{canonical}".encode()).hexdigest()
