"""The Models API of the Zementis service (design §2.3), under /service/zementis."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from batchscore.api.deps import ADMIN, READ, read_body, require, services
from batchscore.api.render import apply_json, model_json
from batchscore.api.schemas import ZEMENTIS_ERRORS, ModelNames, ModelOut
from batchscore.domain.roles import Principal
from batchscore.errors import MalformedRequest

router = APIRouter(prefix="/service/zementis", tags=["models"], responses=ZEMENTIS_ERRORS)

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "application/xml": {"schema": {"type": "string"}},
        },
    }
}


@router.get("/models", response_model=ModelNames, summary="List model names")
def list_models(request: Request, principal: Principal = require(READ)) -> JSONResponse:
    return JSONResponse({"models": services(request).models.names(principal.tenant)})


@router.post(
    "/model",
    status_code=201,
    response_model=ModelOut,
    summary="Upload a model (multipart file= or raw body)",
    openapi_extra=_UPLOAD_BODY,
    responses={409: {"description": "A model with that name exists."}},
)
async def upload_model(request: Request, principal: Principal = require(ADMIN)) -> JSONResponse:
    svc = services(request)
    raw = await read_body(request, svc.settings.max_model_bytes)
    filename: str | None = request.headers.get("x-file-name")
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise MalformedRequest("The multipart body must carry the model in a 'file' part.")
        data = await upload.read()
        filename = upload.filename or filename
        await form.close()
    else:
        data = raw
    model = await run_in_threadpool(svc.models.upload, principal.tenant, data, filename)
    return JSONResponse(model_json(model), status_code=201)


@router.get("/model/{name}", response_model=ModelOut, summary="Model information")
def get_model(name: str, request: Request, principal: Principal = require(READ)) -> JSONResponse:
    return JSONResponse(model_json(services(request).models.get(principal.tenant, name)))


_SOURCE_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The model file as uploaded: PMML as XML, ONNX and archives as bytes.",
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get(
    "/model/{name}/source",
    summary="The uploaded model file",
    response_class=Response,
    responses=_SOURCE_CONTENT,
)
def model_source(name: str, request: Request, principal: Principal = require(READ)) -> Response:
    models = services(request).models
    kind = models.get(principal.tenant, name).kind
    data = models.source(principal.tenant, name)
    media = "application/xml" if kind == "pmml" else "application/octet-stream"
    return Response(data, media_type=media)


@router.put("/model/{name}/activate", response_model=ModelOut, summary="Activate a model")
def activate(name: str, request: Request, principal: Principal = require(ADMIN)) -> JSONResponse:
    model = services(request).models.set_active(principal.tenant, name, True)
    return JSONResponse(model_json(model))


@router.put("/model/{name}/deactivate", response_model=ModelOut, summary="Deactivate a model")
def deactivate(name: str, request: Request, principal: Principal = require(ADMIN)) -> JSONResponse:
    model = services(request).models.set_active(principal.tenant, name, False)
    return JSONResponse(model_json(model))


@router.delete("/model/{name}", response_model=ModelNames, summary="Delete a model")
def delete_model(
    name: str, request: Request, principal: Principal = require(ADMIN)
) -> JSONResponse:
    return JSONResponse({"models": services(request).models.delete(principal.tenant, name)})


@router.delete("/models", response_model=ModelNames, summary="Delete all models")
def delete_models(request: Request, principal: Principal = require(ADMIN)) -> JSONResponse:
    return JSONResponse({"models": services(request).models.delete_all(principal.tenant)})


_APPLY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"type": "object"},
                        {"type": "array", "items": {"type": "object"}},
                    ]
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


@router.get("/apply/{name}", summary="Score one record given as ?record={json}")
def apply_one(
    name: str,
    request: Request,
    principal: Principal = require(READ),
    record: str = Query(..., max_length=100_000, description="One record as a JSON object."),
) -> Response:
    scored = services(request).apply.apply(
        principal.tenant, name, record.encode(), "application/json"
    )
    return Response(apply_json(name, scored), media_type="application/json")


@router.post(
    "/apply/{name}",
    summary="Score a batch of records (JSON object or array, or CSV with a header)",
    openapi_extra=_APPLY_BODY,
)
async def apply_batch(
    name: str, request: Request, principal: Principal = require(READ)
) -> Response:
    svc = services(request)
    await run_in_threadpool(svc.models.get, principal.tenant, name)
    # A batch is a request body like any other: bounded by BATCHSCORE_MAX_BODY_BYTES.
    body = await read_body(request, svc.settings.max_body_bytes)
    content_type = request.headers.get("content-type", "")
    scored = await run_in_threadpool(svc.apply.apply, principal.tenant, name, body, content_type)
    return Response(apply_json(name, scored), media_type="application/json")
