"""Hostile documents are refused quickly at load, with a 400-class ModelError naming what they
ask for, instead of allocating what their attributes state."""

from __future__ import annotations

import time

import pytest

from batchscore.errors import ModelError
from batchscore.runtime.pmml import PmmlEngine, engine
from batchscore.runtime.pmml.limits import MAX_CELLS, check_cells
from tests.unit.pmml_documents import load_document

CONTRAST = """<DataDictionary>
    <DataField name="c" optype="categorical" dataType="string">
      <Value value="a"/><Value value="b"/><Value value="z"/></DataField>
    <DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
  <GeneralRegressionModel modelType="generalLinear" functionName="regression">
    <MiningSchema><MiningField name="y" usageType="target"/><MiningField name="c"/></MiningSchema>
    <ParameterList><Parameter name="p0"/><Parameter name="p1"/></ParameterList>
    <FactorList><Predictor name="c" contrastMatrixType="simple">
      <Categories><Category value="a"/><Category value="b"/><Category value="z"/></Categories>
      <Matrix {matrix}>{cells}</Matrix></Predictor></FactorList>
    <PPMatrix><PPCell value="a" predictorName="c" parameterName="p1"/></PPMatrix>
    <ParamMatrix><PCell parameterName="p0" beta="1"/><PCell parameterName="p1" beta="2"/>
    </ParamMatrix></GeneralRegressionModel>"""


def load(matrix: str, cells: str) -> object:
    dictionary, _, body = CONTRAST.format(matrix=matrix, cells=cells).partition("</DataDictionary>")
    return load_document(dictionary + "</DataDictionary>", body)


def test_contrast_matrix_cell_far_outside_is_refused_fast() -> None:
    cells = '<MatCell row="1000000" col="1">1</MatCell><MatCell row="1" col="1">1</MatCell>'
    start = time.perf_counter()
    with pytest.raises(ModelError, match=r"MatCell row=1000000 col=1 is outside"):
        load('nbRows="1000000" nbCols="2"', cells)
    assert time.perf_counter() - start < 1.0


def test_contrast_matrix_of_stated_cells_is_read() -> None:
    cells = "".join(
        f'<MatCell row="{r}" col="{c}">{v}</MatCell>'
        for r, c, v in [(1, 1, 1), (2, 2, 1), (3, 1, -1), (3, 2, -1)]
    )
    model = load('nbRows="3" nbCols="2"', cells)
    assert model is not None


def test_sparse_array_of_huge_size_is_refused() -> None:
    dictionary = """<DataDictionary><DataField name="x" optype="continuous" dataType="double"/>
        </DataDictionary>"""
    body = f"""<ClusteringModel functionName="clustering" modelClass="centerBased">
        <MiningSchema><MiningField name="x"/></MiningSchema>
        <ComparisonMeasure kind="distance"><euclidean/></ComparisonMeasure>
        <ClusteringField field="x"/>
        <MissingValueWeights><REAL-SparseArray n="{MAX_CELLS * 64}"/></MissingValueWeights>
        <Cluster id="1"><Array n="1" type="real">0</Array></Cluster></ClusteringModel>"""
    with pytest.raises(ModelError, match=f"MissingValueWeights has {MAX_CELLS * 64} values"):
        load_document(dictionary, body)


def test_no_array_beyond_the_cell_limit() -> None:
    assert check_cells(MAX_CELLS, "Array") == MAX_CELLS
    with pytest.raises(ModelError, match=f"Matrix asks for {MAX_CELLS + 1} cells"):
        check_cells(MAX_CELLS + 1, "Matrix")


def test_format_number_of_huge_width_is_refused() -> None:
    dictionary = """<DataDictionary><DataField name="x" optype="continuous" dataType="double"/>
        <DataField name="y" optype="continuous" dataType="double"/></DataDictionary>"""
    body = """<RegressionModel functionName="regression"><MiningSchema>
        <MiningField name="y" usageType="target"/><MiningField name="x"/></MiningSchema>
        <Output><OutputField name="o" feature="transformedValue" dataType="string">
        <Apply function="formatNumber"><FieldRef field="x"/><Constant>%01000000000d</Constant>
        </Apply></OutputField></Output><RegressionTable intercept="0"/></RegressionModel>"""
    with pytest.raises(ModelError, match="asks for a field of 1000000000 characters"):
        load_document(dictionary, body)


def test_memory_error_while_compiling_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(root: object) -> object:
        raise MemoryError

    monkeypatch.setattr(engine, "_compile_document", exhausted)
    with pytest.raises(ModelError, match="needs more memory than a model may use"):
        PmmlEngine().load(b'<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"/>')
