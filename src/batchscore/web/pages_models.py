"""Console pages of models: list with inputs and outputs, upload, (de)activate, delete."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.api.deps import services
from batchscore.domain.models import StoredModel
from batchscore.errors import BatchscoreError, Invalid, PayloadTooLarge
from batchscore.web.console import ConsoleRoute, ConsoleUser, CurrentUser, checked_form, page
from batchscore.web.forms import UploadedFile

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _models(request: Request, tenant: str) -> list[StoredModel]:
    return services(request).models.list_models(tenant)


def _models_page(
    request: Request,
    user: ConsoleUser,
    *,
    errors: tuple[str, ...] = (),
    notice: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    models = _models(request, user.principal.tenant)
    return page(request, "models.html", user, status, models=models, errors=errors, notice=notice)


@router.get("/models")
def models_page(
    request: Request, uploaded: str = "", user: ConsoleUser = CurrentUser
) -> HTMLResponse:
    notice = f"Model “{uploaded[:255]}” uploaded." if uploaded else None
    return _models_page(request, user, notice=notice)


@router.post("/models")
async def upload_model(request: Request, user: ConsoleUser = CurrentUser) -> Response:
    svc = services(request)
    form = await checked_form(request, user, max_files=1)
    upload = form.get("file")
    if not isinstance(upload, UploadedFile) or not upload.filename:
        return _models_page(request, user, errors=("Choose a model file to upload.",))
    try:
        model = await run_in_threadpool(
            svc.models.upload, user.principal.tenant, upload.data, upload.filename
        )
    except BatchscoreError as exc:
        if not isinstance(exc, Invalid | PayloadTooLarge) and "already exists" not in str(exc):
            raise
        return _models_page(request, user, errors=exc.messages)
    return RedirectResponse(f"/models?uploaded={quote(model.name)}", status_code=303)


@router.post("/models/state")
async def set_state(request: Request, user: ConsoleUser = CurrentUser) -> Response:
    form = await checked_form(request, user)
    name = str(form.get("name") or "")
    active = form.get("active") == "true"
    await run_in_threadpool(
        services(request).models.set_active, user.principal.tenant, name, active
    )
    return RedirectResponse("/models", status_code=303)


@router.get("/models/delete")
def confirm_delete(
    request: Request, name: str = "", user: ConsoleUser = CurrentUser
) -> HTMLResponse:
    user.require_admin()
    model = services(request).models.get(user.principal.tenant, name)
    return page(
        request,
        "confirm.html",
        user,
        title=f"Delete model {model.name}?",
        question=f"Delete the model “{model.name}”? Jobs using it keep their history; "
        "their next executions fail.",
        action="/models/delete",
        hidden={"name": model.name},
        confirm_label="Delete model",
        cancel_url="/models",
    )


@router.post("/models/delete")
async def delete_model(request: Request, user: ConsoleUser = CurrentUser) -> Response:
    form = await checked_form(request, user)
    name = str(form.get("name") or "")
    await run_in_threadpool(services(request).models.delete, user.principal.tenant, name)
    return RedirectResponse("/models", status_code=303)
