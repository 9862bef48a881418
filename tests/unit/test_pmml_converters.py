"""Conformance of the PMML evaluator on the converter corpus (``tests/data/pmml/converters/``):
documents written by sklearn2pmml (scikit-learn, XGBoost, LightGBM, statsmodels) and nyoka,
made by ``scripts/make_converter_corpus.py``. One test per case; expected values are
JPMML-Evaluator's (its float32 results for ``x-mathContext="float"`` models), compared at 1e-9
relative. Each case's ``meta.json`` says whether the native library agrees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.pmml_corpus import DATA, differences, meta_of

CONVERTERS = DATA / "converters"
REQUIRED_META = ("case", "model_element", "converter", "source", "expected", "versions")


def _cases() -> list[Any]:
    return [
        pytest.param(case, id=case.name)
        for case in sorted(p for p in CONVERTERS.iterdir() if p.is_dir() and p.name[0] != ".")
    ]


@pytest.mark.parametrize("case", _cases())
def test_converter_case_matches_jpmml(case: Path) -> None:
    meta = meta_of(case)
    assert all(key in meta for key in REQUIRED_META)
    failures = differences(case, 1e-9)
    assert not failures, "; ".join(failures)


def test_manifest_lists_exactly_the_case_folders() -> None:
    manifest = json.loads((CONVERTERS / "MANIFEST.json").read_text())
    folders = {p.name for p in CONVERTERS.iterdir() if p.is_dir() and p.name[0] != "."}
    assert set(manifest["cases"]) == folders
    assert len(folders) >= 200
    assert not set(manifest["skipped"]) & folders
