"""Callback side of python-multipart's push parser: one file part's data, and the small form
fields around it (before or after the file)."""

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser

from mp3converter.web.content_disposition import parse_content_disposition

# Per part, for all header names and values together; a real part needs well under 1 KiB.
MAX_PART_HEADER_BYTES = 16 * 1024
# Form fields besides the file: how many, and how much of each value is kept (a longer value is
# cut one byte past this, so whoever checks it still sees it is too long).
MAX_FIELDS = 32
MAX_FIELD_BYTES = 4096


class FilePartReader:
    """Parses body chunks, finds the first file part of a field and collects its data, and
    keeps the other fields' names and (bounded) values."""

    def __init__(self, boundary: bytes, field_name: str) -> None:
        self._field_name = field_name
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )
        self._headers: dict[bytes, bytes] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._header_bytes = 0
        self._in_file = False
        self._file_data: list[bytes] = []
        self._field: tuple[str, bytearray] | None = None
        self.fields: list[tuple[str, bytes]] = []
        self.filename: str | None = None
        self.content_type = "application/octet-stream"
        self.file_done = False
        self.ended = False

    def feed(self, chunk: bytes) -> None:
        """Parse one body chunk; raises python-multipart's FormParserError on bad input."""
        self._parser.write(chunk)

    def take_file_data(self) -> list[bytes]:
        """Hand over the file part's data parsed since the last call."""
        pieces, self._file_data = self._file_data, []
        return pieces

    def _on_part_begin(self) -> None:
        self._headers = {}
        self._header_bytes = 0

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers.setdefault(bytes(self._header_name).lower(), bytes(self._header_value))
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        disposition = parse_content_disposition(self._headers.get(b"content-disposition", b""))
        if disposition.kind == "form-data" and disposition.name not in (None, self._field_name):
            if len(self.fields) >= MAX_FIELDS:
                raise MultipartParseError(f"the form has more than {MAX_FIELDS} fields")
            self._field = (disposition.name, bytearray())
            return
        if self.filename is not None:
            return
        wanted = disposition.kind == "form-data" and disposition.name == self._field_name
        # An empty filename is what browsers send for a file input left blank.
        if wanted and disposition.filename:
            self.filename = disposition.filename
            content_type = self._headers.get(b"content-type", b"").decode("latin-1").strip()
            self.content_type = content_type or self.content_type
            self._in_file = True

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._file_data.append(data[start:end])
        elif self._field is not None:
            value = self._field[1]
            room = max(0, MAX_FIELD_BYTES + 1 - len(value))
            value += data[start : start + min(end - start, room)]

    def _on_part_end(self) -> None:
        if self._field is not None:
            self.fields.append((self._field[0], bytes(self._field[1])))
            self._field = None
        if self._in_file:
            self._in_file = False
            self.file_done = True

    def _on_end(self) -> None:
        self.ended = True

    def _count_header_bytes(self, count: int) -> None:
        # Checked here too: python-multipart bounds part headers itself only in recent releases.
        self._header_bytes += count
        if self._header_bytes > MAX_PART_HEADER_BYTES:
            raise MultipartParseError(f"a part's headers exceed {MAX_PART_HEADER_BYTES} bytes")
