"""Uploads, streamed through to the upload role without buffering."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from mp3converter.api.deps import DeclaredUploadSize, GatewayCaller, UpstreamDep
from mp3converter.api.gateway.responses import PROBLEM
from mp3converter.api.routes.uploads import IdempotencyKeyHeader
from mp3converter.api.schemas import JobAccepted
from mp3converter.domain.conversion_options import ConversionOptions
from mp3converter.log_context import bind

router = APIRouter()
# Every option is a text field of the form, before or after `file`.
OPTION_FIELDS = {
    name: {"type": "string", "description": field.description or name}
    for name, field in ConversionOptions.model_fields.items()
}
MULTIPART_FILE = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "minLength": 1},
                        **OPTION_FIELDS,
                    },
                }
            }
        },
    }
}


@router.post(
    "/upload",
    status_code=202,
    response_model=JobAccepted,
    responses={code: PROBLEM for code in (400, 401, 409, 413, 415, 422, 429, 503, 507)},
    openapi_extra=MULTIPART_FILE,
    summary="Upload a video (multipart field `file`, options as other fields); streamed through",
)
async def upload(
    request: Request,
    caller: GatewayCaller,
    upstream: UpstreamDep,
    declared: DeclaredUploadSize,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    response = await upstream.to_upload(
        request, "/upload", stream_body=True, authorization=caller.authorization
    )
    # The upload role names the new job (Location: /jobs/{id}); this request's lines name it too.
    location = response.headers.get("location", "")
    if location.startswith("/jobs/"):
        bind(job_id=location.removeprefix("/jobs/"))
    return response
