"""Model files as uploaded: plain, gzip or zip, refused when they would unpack past a limit."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import PurePath

from batchscore.errors import ModelError

MODEL_SUFFIXES = (".pmml", ".xml", ".onnx")
ARCHIVE_SUFFIXES = (".zip", ".gz")


def unpack_model_file(data: bytes, filename: str | None, limit: int) -> tuple[bytes, str | None]:
    """The model bytes and their file name, out of a gzip or zip file if it is one.

    Decompression stops as soon as the output would exceed ``limit`` bytes, so a compression
    bomb costs at most ``limit`` bytes of memory.
    """
    if data[:2] == b"\x1f\x8b":
        name = filename[:-3] if filename and filename.lower().endswith(".gz") else None
        return _gunzip(data, limit), name
    if data[:4] == b"PK\x03\x04":
        return _unzip(data, limit)
    return data, filename


def model_kind(data: bytes, filename: str | None) -> str:
    """``pmml`` or ``onnx``, from the file name's suffix or else from the content."""
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if suffix == ".onnx":
        return "onnx"
    if suffix in (".pmml", ".xml"):
        return "pmml"
    if suffix and suffix not in ARCHIVE_SUFFIXES:
        raise ModelError(
            f"Unsupported model file type '{suffix}'; "
            "upload a .pmml, .xml, .onnx, .zip or .gz file."
        )
    # An ONNX ModelProto starts with field 1 (ir_version) as a varint: byte 0x08. Anything
    # else is read as PMML, so junk gets the Zementis answer "Invalid XML format.".
    return "onnx" if data[:1] == b"\x08" else "pmml"


def _gunzip(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ModelError("The gzip file is corrupt.", str(exc)) from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise ModelError(f"The model unpacks to more than {limit} bytes.")
    return out


def _unzip(data: bytes, limit: int) -> tuple[bytes, str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ModelError("The zip file is corrupt.", str(exc)) from None
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not PurePath(info.filename).name.startswith((".", "__MACOSX"))
            and "__MACOSX" not in info.filename
        ]
        models = [m for m in members if PurePath(m.filename).suffix.lower() in MODEL_SUFFIXES]
        if len(models) != 1:
            raise ModelError(
                "The zip file must contain exactly one model file (.pmml, .xml or .onnx); "
                f"it contains {len(models)}."
            )
        info = models[0]
        if info.file_size > limit:
            raise ModelError(f"The model unpacks to more than {limit} bytes.")
        try:
            with archive.open(info) as member:
                out = member.read(limit + 1)  # the header's size may lie
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error) as exc:
            raise ModelError("The zip file cannot be read.", str(exc)) from None
    if len(out) > limit:
        raise ModelError(f"The model unpacks to more than {limit} bytes.")
    return out, PurePath(info.filename).name
