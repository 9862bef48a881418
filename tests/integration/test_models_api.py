"""The Models API subset: upload, read, (de)activate, delete, and hostile model files."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from batchscore.testing import regression_pmml

BASE = "/service/zementis"


def test_upload_raw_and_read_back(client: TestClient, admin: dict[str, str]) -> None:
    pmml = regression_pmml("Linear", ["a", "b"], optional=["b"])
    r = client.post(f"{BASE}/model", content=pmml, headers=admin)
    assert r.status_code == 201
    info = r.json()
    assert info["modelName"] == "Linear"
    assert info["description"] == "test model"
    assert info["isActive"] is True
    assert info["creationDate"] == "2026-01-14T12:00:00.000Z"
    assert info["inputFields"] == [
        {"usage": "ACTIVE", "name": "a", "type": "DOUBLE", "opType": "continuous"},
        {"usage": "ACTIVE", "name": "b", "type": "DOUBLE", "opType": "continuous"},
    ]
    assert [f["name"] for f in info["outputFields"]] == ["y", "score"]
    assert client.get(f"{BASE}/model/Linear", headers=admin).json() == info
    assert client.get(f"{BASE}/models", headers=admin).json() == {"models": ["Linear"]}
    source = client.get(f"{BASE}/model/Linear/source", headers=admin)
    assert source.content == pmml


def test_multipart_upload_and_duplicate(client: TestClient, admin: dict[str, str]) -> None:
    pmml = regression_pmml("Multi", ["a"])
    files = {"file": ("multi.pmml", pmml, "application/xml")}
    r = client.post(f"{BASE}/model", files=files, headers=admin)
    assert r.status_code == 201, r.text
    r = client.post(f"{BASE}/model", files=files, headers=admin)
    assert r.status_code == 409
    assert r.json() == {"errors": ["A model with the name 'Multi' already exists."]}


def test_name_falls_back_to_the_file_name(client: TestClient, admin: dict[str, str]) -> None:
    pmml = regression_pmml("X", ["a"]).replace(b' modelName="X"', b"")
    files = {"file": ("vibration-model.pmml", pmml, "application/xml")}
    r = client.post(f"{BASE}/model", files=files, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["modelName"] == "vibration-model"


def test_activate_deactivate_delete(client: TestClient, admin: dict[str, str]) -> None:
    for name in ("A", "B"):
        client.post(f"{BASE}/model", content=regression_pmml(name, ["x"]), headers=admin)
    r = client.put(f"{BASE}/model/A/deactivate", headers=admin)
    assert (r.status_code, r.json()["isActive"]) == (200, False)
    r = client.put(f"{BASE}/model/A/activate", headers=admin)
    assert r.json()["isActive"] is True
    assert client.delete(f"{BASE}/model/A", headers=admin).json() == {"models": ["B"]}
    r = client.delete(f"{BASE}/model/A", headers=admin)
    assert (r.status_code, r.json()) == (404, {"errors": ["Model 'A' not found."]})
    assert client.delete(f"{BASE}/models", headers=admin).json() == {"models": []}


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<PMML version="4.4"><Header description="&lol9;"/></PMML>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE PMML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<PMML version="4.4"><Header description="&xxe;"/></PMML>"""


@pytest.mark.parametrize(
    ("content", "first_error"),
    [
        (BILLION_LAUGHS, "Invalid XML format."),
        (EXTERNAL_ENTITY, "Invalid XML format."),
        (b"<PMML><unclosed></PMML>", "Invalid XML format."),
        (b"not xml at all", "Invalid XML format."),
        (b"<html/>", "Invalid XML format."),
        (b"", "The model file is empty."),
    ],
)
def test_hostile_or_broken_models_are_400(
    client: TestClient, admin: dict[str, str], content: bytes, first_error: str
) -> None:
    started = time.perf_counter()
    r = client.post(f"{BASE}/model", content=content, headers=admin)
    # An expanded entity bomb would take minutes and gigabytes; a refusal takes milliseconds.
    # The bound is loose because CI machines stall for seconds under load.
    assert time.perf_counter() - started < 15.0
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0] == first_error
    assert b"root:" not in r.content


HUGE_CONTRAST_MATRIX = b"""<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
  <DataDictionary>
    <DataField name="c" optype="categorical" dataType="string">
      <Value value="a"/><Value value="b"/></DataField>
    <DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
  <GeneralRegressionModel modelType="generalLinear" functionName="regression">
    <MiningSchema><MiningField name="y" usageType="target"/><MiningField name="c"/></MiningSchema>
    <ParameterList><Parameter name="p0"/><Parameter name="p1"/></ParameterList>
    <FactorList><Predictor name="c"><Categories><Category value="a"/><Category value="b"/>
      </Categories><Matrix nbRows="1000000" nbCols="1000000">
      <MatCell row="1000000" col="1000000">1</MatCell></Matrix></Predictor></FactorList>
    <PPMatrix><PPCell value="a" predictorName="c" parameterName="p1"/></PPMatrix>
    <ParamMatrix><PCell parameterName="p0" beta="1"/><PCell parameterName="p1" beta="2"/>
    </ParamMatrix></GeneralRegressionModel></PMML>"""


def test_hostile_sizes_are_refused_fast_by_name(client: TestClient, admin: dict[str, str]) -> None:
    started = time.perf_counter()
    r = client.post(f"{BASE}/model", content=HUGE_CONTRAST_MATRIX, headers=admin)
    assert time.perf_counter() - started < 15.0
    assert r.status_code == 400, r.text
    assert any("MatCell row=1000000" in e for e in r.json()["errors"])


def test_undeclared_field_is_named(client: TestClient, admin: dict[str, str]) -> None:
    pmml = regression_pmml("Bad", ["a"]).replace(
        b'<MiningField name="a"/>', b'<MiningField name="zz"/>'
    )
    r = client.post(f"{BASE}/model", content=pmml, headers=admin)
    assert r.status_code == 400
    assert any("zz" in e for e in r.json()["errors"])


def test_oversize_upload_is_413_before_reading(client: TestClient, admin: dict[str, str]) -> None:
    limit = client.app.state.services.settings.max_model_bytes  # type: ignore[attr-defined]
    r = client.post(
        f"{BASE}/model",
        content=b"x",
        headers={**admin, "Content-Length": str(limit + 1)},
    )
    assert r.status_code == 413
    assert set(r.json()) == {"errors"}


def test_corpus_isolation_forest_lists_jpmml_outputs(
    client: TestClient, admin: dict[str, str]
) -> None:
    from tests.conftest import IFOREST_CASE

    pmml = (IFOREST_CASE / "model.pmml").read_bytes()
    files = {"file": ("IsolationForest.pmml", pmml, "application/xml")}
    r = client.post(f"{BASE}/model", files=files, headers=admin)
    assert r.status_code == 201, r.text
    info = r.json()
    assert [f["name"] for f in info["inputFields"]] == [
        "accelerationX",
        "accelerationY",
        "accelerationZ",
        "gyroX",
        "gyroY",
        "gyroZ",
    ]
    assert {f["type"] for f in info["inputFields"]} == {"FLOAT"}
    outputs = {f["name"]: f["type"] for f in info["outputFields"]}
    assert outputs["rawAnomalyScore"] == "DOUBLE"
    assert outputs["outlier"] == "BOOLEAN"
    assert "normalizedAnomalyScore" in outputs
    assert "decisionFunction" in outputs


def test_unsupported_model_element_is_refused_by_name(
    client: TestClient, admin: dict[str, str]
) -> None:
    pmml = regression_pmml("Text", ["a"])
    start = pmml.index(b"<RegressionModel")
    end = pmml.index(b"</RegressionModel>") + len(b"</RegressionModel>")
    text_model = (
        b'<TextModel modelName="Text" functionName="classification" numberOfTerms="0"'
        b' numberOfDocuments="0"><MiningSchema><MiningField name="a"/></MiningSchema></TextModel>'
    )
    r = client.post(f"{BASE}/model", content=pmml[:start] + text_model + pmml[end:], headers=admin)
    assert r.status_code == 400
    assert any("TextModel" in e for e in r.json()["errors"])
    assert client.get(f"{BASE}/models", headers=admin).json() == {"models": []}


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


def _zip(files: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_gzip_and_zip_uploads(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post(
        f"{BASE}/model",
        files={"file": ("gz.pmml.gz", _gzip(regression_pmml("Gz", ["a"])))},
        headers=admin,
    )
    assert (r.status_code, r.json()["modelName"]) == (201, "Gz")
    archive = _zip({"readme.txt": b"hello", "model/zipped.pmml": regression_pmml("Zipped", ["a"])})
    r = client.post(f"{BASE}/model", content=archive, headers=admin)
    assert (r.status_code, r.json()["modelName"]) == (201, "Zipped")
    two = _zip({"a.pmml": regression_pmml("A", ["a"]), "b.pmml": regression_pmml("B", ["a"])})
    r = client.post(f"{BASE}/model", content=two, headers=admin)
    assert r.status_code == 400
    assert "exactly one model file" in r.json()["errors"][0]


def test_onnx_upload_lists_graph_fields(client: TestClient, admin: dict[str, str]) -> None:
    from tests.unit.test_onnx_engine import linear_regression

    files = {"file": ("linear.onnx", linear_regression(), "application/octet-stream")}
    r = client.post(f"{BASE}/model", files=files, headers=admin)
    assert r.status_code == 201, r.text
    info = r.json()
    assert info["modelName"] == "linear"
    assert info["type"] == "ONNX"
    assert [f["name"] for f in info["inputFields"]] == ["x0", "x1", "x2"]
    assert info["outputFields"]
    source = client.get(f"{BASE}/model/linear/source", headers=admin)
    assert source.headers["content-type"] == "application/octet-stream"
    assert source.content == linear_regression()


def test_compression_bombs_are_refused_within_the_limit(services: Any) -> None:
    from batchscore.errors import ModelError
    from batchscore.service.models import ModelService

    small = ModelService(services.db, services.clock, max_bytes=1_000_000)
    bomb = _gzip(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    for data in (bomb, _zip({"bomb.pmml": b"\0" * 50_000_000})):
        started = time.perf_counter()
        with pytest.raises(ModelError, match="unpacks to more than 1000000 bytes"):
            small.upload("t1", data, None)
        assert time.perf_counter() - started < 15.0  # loose: CI machines stall under load
