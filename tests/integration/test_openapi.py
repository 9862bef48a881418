"""The published OpenAPI document covers every route and its error shapes."""

from __future__ import annotations

from fastapi.testclient import TestClient

SEED_ROUTES = {
    ("get", "/service/zementis/jobs"),
    ("get", "/service/zementis/job/{jobId}"),
    ("get", "/service/zementis/job/{jobId}/history"),
    ("get", "/service/zementis/job/{jobId}/history/{executionId}"),
    ("get", "/service/zementis/job/{jobId}/history/{executionId}/inferences"),
    ("post", "/service/zementis/job"),
    ("delete", "/service/zementis/job/{jobId}"),
    ("delete", "/service/zementis/jobs"),
}


def test_openapi_lists_every_route_with_error_shapes(
    client: TestClient, reader: dict[str, str]
) -> None:
    spec = client.get("/openapi.json", headers=reader).json()
    routes = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert routes >= SEED_ROUTES
    for method, path in SEED_ROUTES:
        responses = spec["paths"][path][method]["responses"]
        for code in ("401", "403", "404"):
            assert code in responses, (method, path, code)
    post = spec["paths"]["/service/zementis/job"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/JobIn"
    assert "JobIn" in spec["components"]["schemas"]
    assert "JobScheduleIn" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["basic"]["scheme"] == "basic"


def test_docs_page_is_served_behind_login(client: TestClient, reader: dict[str, str]) -> None:
    assert client.get("/docs").status_code == 401
    r = client.get("/docs", headers=reader)
    assert r.status_code == 200
    assert "/openapi.json" in r.text


def test_unknown_route_is_404_in_the_error_shape(client: TestClient) -> None:
    r = client.get("/nope")
    assert r.status_code == 404
    assert set(r.json()) == {"errors"}
