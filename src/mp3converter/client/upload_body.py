"""A multipart/form-data body that streams a file from disk, option fields first.

The option fields come before the file so the server knows them when the first bytes of the
video arrive and can start converting while the rest uploads. The file is read in chunks as the
body is sent, never whole; the length is known up front, so the request has a Content-Length.
Names in part headers are escaped as browsers do (WHATWG: `"` CR LF as %22 %0D %0A).
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

CHUNK_BYTES = 256 * 1024


class FileChanged(Exception):
    """The file's size changed while it was being sent."""


def quote_header_value(value: str) -> str:
    """A name or file name as it may stand between double quotes in a part header."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartUpload:
    """The body of one upload: text fields, then the file under `file_field`."""

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        path: Path,
        *,
        file_field: str = "file",
        boundary: str | None = None,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.boundary = boundary or secrets.token_hex(16)
        self._chunk_bytes = chunk_bytes
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        head = b"".join(self._field(name, value) for name, value in fields)
        head += (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{quote_header_value(file_field)}"; '
            f'filename="{quote_header_value(path.name)}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        self._head = head
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        """The request's Content-Type header."""
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def content_length(self) -> int:
        """The body's exact length in bytes."""
        return len(self._head) + self.size + len(self._tail)

    def headers(self) -> dict[str, str]:
        """Content-Type and Content-Length of the body."""
        return {"Content-Type": self.content_type, "Content-Length": str(self.content_length)}

    def chunks(self, on_file_bytes: Callable[[int], None] | None = None) -> Iterator[bytes]:
        """The body, piece by piece; `on_file_bytes` is told how many bytes of the file went."""
        yield self._head
        remaining = self.size
        with self.path.open("rb") as file:
            while remaining > 0:
                chunk = file.read(min(self._chunk_bytes, remaining))
                if not chunk:
                    raise FileChanged(f"{self.path} shrank while it was being uploaded")
                remaining -= len(chunk)
                yield chunk
                if on_file_bytes is not None:
                    on_file_bytes(len(chunk))
            if file.read(1):
                raise FileChanged(f"{self.path} grew while it was being uploaded")
        yield self._tail

    def _field(self, name: str, value: str) -> bytes:
        return (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{quote_header_value(name)}"\r\n\r\n'
            f"{value}\r\n"
        ).encode()
