"""Console forms, read as they arrive: bounded in bytes, fields and files, with the session's
CSRF token checked the moment it is read.

Starlette's ``request.form()`` reads the whole body (spooling files to disk) before the route
sees a single field, so a forged or oversized form cost its full size before it was refused.
Here the body is fed piece by piece to python-multipart's push parsers: a body past
``max_bytes`` is a 413 at that byte, a wrong CSRF token is a 403 as soon as its field ends
(every console form sends it first), and a file part met before a valid token is a 403 before
any of the file is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, QuerystringParser, parse_options_header
from starlette.requests import Request

from batchscore.errors import Forbidden, MalformedRequest, PayloadTooLarge
from batchscore.web.session import tokens_match

CSRF_FIELD = "csrf_token"
CALLBACKS = (
    "on_field_start",
    "on_field_name",
    "on_field_data",
    "on_field_end",
    "on_part_begin",
    "on_header_field",
    "on_header_value",
    "on_header_end",
    "on_headers_finished",
    "on_part_data",
    "on_part_end",
)
FORGED = "The form has expired or did not come from this console; try again."


@dataclass(frozen=True, slots=True)
class FormLimits:
    max_bytes: int
    max_fields: int = 2000
    max_files: int = 0


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    data: bytes


@dataclass
class _Form:
    """What the parser callbacks collect, and the checks they make as fields complete."""

    limits: FormLimits
    csrf: str | None  # the session's token; None when the caller checks (the login form)
    fields: dict[str, str | UploadedFile] = field(default_factory=dict)
    verified: bool = False
    count: int = 0
    files: int = 0
    name: bytearray = field(default_factory=bytearray)
    value: bytearray = field(default_factory=bytearray)
    header_name: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    disposition: bytes = b""
    filename: str | None = None

    def add(self, name: str, value: str | UploadedFile) -> None:
        self.count += 1
        if self.count > self.limits.max_fields:
            raise MalformedRequest(f"The form has more than {self.limits.max_fields} fields.")
        if name == CSRF_FIELD and self.csrf is not None:
            if not isinstance(value, str) or not tokens_match(value, self.csrf):
                raise Forbidden(FORGED)
            self.verified = True
        self.fields[name] = value

    def begin_file(self) -> None:
        if self.csrf is not None and not self.verified:
            raise Forbidden(FORGED)  # before a byte of the file is kept
        self.files += 1
        if self.files > self.limits.max_files:
            raise MalformedRequest("The form carries more files than this form takes.")

    # urlencoded
    def on_field_start(self) -> None:
        self.name.clear()
        self.value.clear()

    def on_field_name(self, data: bytes, start: int, end: int) -> None:
        self.name += data[start:end]

    def on_field_data(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_field_end(self) -> None:
        self.add(_unquote(self.name), _unquote(self.value))

    # multipart
    def on_part_begin(self) -> None:
        self.value.clear()
        self.disposition = b""
        self.filename = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if b"filename" in options:
            self.filename = options[b"filename"].decode("utf-8", "replace")
            self.begin_file()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_part_end(self) -> None:
        _, options = parse_options_header(self.disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if self.filename is not None:
            self.add(name, UploadedFile(self.filename, bytes(self.value)))
        else:
            self.add(name, self.value.decode("utf-8", "replace"))
        self.value.clear()


async def read_form(
    request: Request, csrf: str | None, limits: FormLimits
) -> dict[str, str | UploadedFile]:
    """The posted form (urlencoded or multipart), read within ``limits``; with ``csrf`` given,
    its ``csrf_token`` field must match it (a 403 otherwise, as early as possible)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise PayloadTooLarge(f"The form is larger than {limits.max_bytes} bytes.")
    kind, options = parse_options_header(request.headers.get("content-type"))
    form = _Form(limits, csrf)
    callbacks: Any = {name: getattr(form, name) for name in CALLBACKS}
    parser: QuerystringParser | MultipartParser
    if kind == b"application/x-www-form-urlencoded":
        parser = QuerystringParser(callbacks)
    elif kind == b"multipart/form-data" and options.get(b"boundary"):
        parser = MultipartParser(options[b"boundary"], callbacks)
    else:
        raise MalformedRequest("The form must be sent as a web form (urlencoded or multipart).")
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_bytes:
                raise PayloadTooLarge(f"The form is larger than {limits.max_bytes} bytes.")
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        raise MalformedRequest("The form could not be read.") from None
    if csrf is not None and not form.verified:
        raise Forbidden(FORGED)
    return form.fields


def _unquote(raw: bytearray) -> str:
    return unquote_plus(raw.decode("latin-1"), encoding="utf-8", errors="replace")
