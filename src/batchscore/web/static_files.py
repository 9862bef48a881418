"""The console's static files (own CSS/JS and vendored libraries), from the package only."""

from __future__ import annotations

import mimetypes
from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from batchscore.errors import NotFound

router = APIRouter(include_in_schema=False)

_ROOT = Path(str(resources.files("batchscore.web").joinpath("static")))
TYPES = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}


def _index() -> dict[str, Path]:
    """Every servable file by its path below static/: requests never reach the file system
    with a client-chosen path."""
    return {
        p.relative_to(_ROOT).as_posix(): p
        for p in _ROOT.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


FILES = _index()


@router.get("/static/{path:path}")
def static_file(path: str) -> Response:
    found = FILES.get(path)
    if found is None:
        raise NotFound(f"No resource at /static/{path[:200]}.")
    kind = TYPES.get(found.suffix) or mimetypes.guess_type(found.name)[0] or "text/plain"
    return Response(
        found.read_bytes(),
        media_type=kind,
        headers={"Cache-Control": "public, max-age=3600"},
    )
