"""What a request carries for both front doors: the services the app was built with."""

from __future__ import annotations

from fastapi import Request

from batchscore.service.container import Services


def services(request: Request) -> Services:
    """The services the app was built with (the composition root puts them on its state)."""
    svc: Services = request.app.state.services
    return svc
