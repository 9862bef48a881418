"""Console pages of models: list with inputs and outputs, upload, (de)activate, delete."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.domain.jobs import Job
from batchscore.domain.models import StoredModel
from batchscore.errors import BatchscoreError, Invalid, PayloadTooLarge
from batchscore.web.console import ConsoleRoute, ConsoleUser, CurrentUser, checked_form, page
from batchscore.web.deps import services
from batchscore.web.forms import UploadedFile

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

MAX_LISTED = 20


def _models(request: Request, tenant: str) -> list[StoredModel]:
    return services(request).models.list_models(tenant)


def _jobs_by_model(request: Request, tenant: str) -> dict[str, list[Job]]:
    found: dict[str, list[Job]] = {}
    for job in services(request).jobs.list_jobs(tenant):
        found.setdefault(job.model_name, []).append(job)
    return found


def _names(jobs: list[Job]) -> str:
    shown = ", ".join(f"“{j.name}”" for j in jobs[:5])
    return shown + (f" and {len(jobs) - 5} more" if len(jobs) > 5 else "")


def notice_text(done: str, name: str, jobs: list[Job]) -> str | None:
    """The notice after an action on the model ``name``, saying what it means for its jobs."""
    count = f"{len(jobs)} job" + ("s" if len(jobs) != 1 else "")
    if done == "uploaded":
        return f"Model “{name}” uploaded."
    if done == "activated":
        if not jobs:
            return f"Model “{name}” activated."
        return f"Model “{name}” activated: {count} ({_names(jobs)}) can score with it again."
    if done == "deactivated":
        if not jobs:
            return f"Model “{name}” deactivated. No job uses it."
        return (
            f"Model “{name}” deactivated: the executions of {count} using it ({_names(jobs)}) "
            "fail until it is activated again."
        )
    if done == "deleted":
        if not jobs:
            return f"Model “{name}” deleted. No job used it."
        return (
            f"Model “{name}” deleted. {count} ({_names(jobs)}) still name it: their "
            "executions fail until a model of that name is uploaded again."
        )
    return None


def _models_page(
    request: Request,
    user: ConsoleUser,
    *,
    errors: tuple[str, ...] = (),
    notice: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    tenant = user.principal.tenant
    models = _models(request, tenant)
    return page(
        request,
        "models.html",
        user,
        status,
        models=models,
        users=_jobs_by_model(request, tenant),
        errors=errors,
        notice=notice,
    )


@router.get("/models")
def models_page(
    request: Request,
    done: str = Query("", max_length=20),
    name: str = Query("", max_length=255),
    user: ConsoleUser = CurrentUser,
) -> HTMLResponse:
    tenant = user.principal.tenant
    notice = None
    if done and _state_matches(request, tenant, done, name):
        notice = notice_text(done, name, _jobs_by_model(request, tenant).get(name, []))
    return _models_page(request, user, notice=notice)


def _state_matches(request: Request, tenant: str, done: str, name: str) -> bool:
    """Whether the model is as the notice would say (a crafted link gets no notice)."""
    state = services(request).job_views.model_states(tenant).get(name)
    expected = {"uploaded": state is not None, "activated": state is True}
    expected.update(deactivated=state is False, deleted=state is None)
    return expected.get(done, False)


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
    return RedirectResponse(f"/models?done=uploaded&name={quote(model.name)}", status_code=303)


@router.post("/models/state")
async def set_state(request: Request, user: ConsoleUser = CurrentUser) -> Response:
    form = await checked_form(request, user)
    name = str(form.get("name") or "")
    active = form.get("active") == "true"
    model = await run_in_threadpool(
        services(request).models.set_active, user.principal.tenant, name, active
    )
    done = "activated" if active else "deactivated"
    return RedirectResponse(f"/models?done={done}&name={quote(model.name)}", status_code=303)


@router.get("/models/delete")
def confirm_delete(
    request: Request, name: str = Query("", max_length=255), user: ConsoleUser = CurrentUser
) -> HTMLResponse:
    user.require_admin()
    svc = services(request)
    model = svc.models.get(user.principal.tenant, name)
    jobs = svc.job_views.using_model(user.principal.tenant, model.name)
    if jobs:
        count = f"{len(jobs)} job" + ("s use" if len(jobs) != 1 else " uses")
        question = (
            f"Delete the model “{model.name}”? {count} it; they keep their history, and their "
            "executions fail until a model of that name is uploaded again:"
        )
    else:
        question = f"Delete the model “{model.name}”? No job uses it."
    return page(
        request,
        "confirm.html",
        user,
        title=f"Delete model {model.name}?",
        question=question,
        items=[(f"/jobs/{j.id}", j.name) for j in jobs[:MAX_LISTED]],
        more=max(0, len(jobs) - MAX_LISTED),
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
    return RedirectResponse(f"/models?done=deleted&name={quote(name[:255])}", status_code=303)
