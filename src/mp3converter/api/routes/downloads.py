"""GET /download/{job_id}: a done job's MP3, streamed out of GridFS, with single byte ranges."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from prometheus_client import Counter

from mp3converter.adapters.gridfs_store import FileMissing
from mp3converter.api.deps import (
    JobsDep,
    LinksDep,
    Mp3sDep,
    RevocationListDep,
    VerifierDep,
    signed_link_owner,
)
from mp3converter.api.routes.jobs import owned_job
from mp3converter.domain.filenames import content_disposition, mp3_name
from mp3converter.domain.jobs import JobStatus
from mp3converter.web.bearer import authenticate
from mp3converter.web.problems import Problem
from mp3converter.web.ranges import RangeNotSatisfiable, parse_range

router = APIRouter()
DOWNLOADED_BYTES = Counter("mp3converter_downloaded_bytes_total", "MP3 bytes sent to clients")


async def _counted(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Count the bytes as they leave, so an aborted download counts what it really sent."""
    async for chunk in chunks:
        DOWNLOADED_BYTES.inc(len(chunk))
        yield chunk


@router.get(
    "/download/{job_id}",
    response_class=StreamingResponse,
    responses={200: {"content": {"audio/mpeg": {}}}, 206: {"content": {"audio/mpeg": {}}}},
)
async def download(
    request: Request,
    job_id: str,
    jobs: JobsDep,
    mp3s: Mp3sDep,
    links: LinksDep,
    revoked: RevocationListDep,
    verifier: VerifierDep,
) -> Response:
    # A signed link or a bearer token; either way another user's job is unknown.
    owner_id = await signed_link_owner(request, job_id, links, revoked)
    if owner_id is None:
        owner_id = (await authenticate(verifier, request)).user_id
    job = await owned_job(jobs, job_id, owner_id)
    if job.status is not JobStatus.DONE:
        raise Problem(
            409,
            "job-not-done",
            f"job {job_id} is {job.status.value}, not done",
            job_status=job.status.value,
        )
    if job.mp3_file_id is None:
        raise Problem(410, "mp3-expired", f"the MP3 of job {job_id} has expired and was deleted")
    try:
        length = (await mp3s.info(job.mp3_file_id)).length
    except FileMissing as exc:
        raise Problem(410, "mp3-gone", "the MP3 of this job is no longer stored") from exc
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(mp3_name(job.filename)),
        "ETag": f'"{job.mp3_file_id}"',
    }
    try:
        wanted = parse_range(request.headers.get("range"), length)
    except RangeNotSatisfiable as exc:
        raise Problem(
            416,
            "range-not-satisfiable",
            "the range is outside the file",
            headers={"Content-Range": f"bytes */{length}"},
        ) from exc
    if wanted is None:
        headers["Content-Length"] = str(length)
        body = _counted(mp3s.read(job.mp3_file_id))
        return StreamingResponse(body, media_type="audio/mpeg", headers=headers)
    start, end = wanted
    headers["Content-Range"] = f"bytes {start}-{end}/{length}"
    headers["Content-Length"] = str(end - start + 1)
    body = _counted(mp3s.read(job.mp3_file_id, start, end))
    return StreamingResponse(body, status_code=206, media_type="audio/mpeg", headers=headers)
