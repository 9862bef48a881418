"""The composition root builds the app: the API alone knows nothing of the console, and the
app that serve, the tests and the benches run has both."""

from __future__ import annotations

from fastapi.testclient import TestClient

from batchscore.api.app import create_api
from batchscore.composition.app import create_app
from batchscore.service.container import Services


def test_the_api_alone_mounts_no_console_and_the_composed_app_mounts_both(
    services: Services, admin: dict[str, str]
) -> None:
    with TestClient(create_api(services)) as api:
        assert api.get("/service/zementis/jobs", headers=admin).status_code == 200
        login = api.get("/login")
        assert login.status_code == 404
        assert login.headers["content-type"].startswith("application/json")
    with TestClient(create_app(services)) as app:
        assert app.get("/service/zementis/jobs", headers=admin).status_code == 200
        login = app.get("/login")
        assert login.status_code == 200
        assert login.headers["content-type"].startswith("text/html")


def test_the_console_stays_out_of_the_openapi_document(
    client: TestClient, admin: dict[str, str]
) -> None:
    paths = client.get("/openapi.json", headers=admin).json()["paths"]
    assert "/service/zementis/jobs" in paths
    assert not [p for p in paths if p == "/login" or p.startswith(("/jobs", "/static"))]
