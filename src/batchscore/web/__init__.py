"""The web console: server-rendered pages at ``/`` for people, beside the API for programs."""

from batchscore.web.routes import router

__all__ = ["router"]
