"""MapValues over an InlineTable whose cells carry a namespace prefix (PMML 4.4 Taxonomy:
"the content of a row is a sequence of elements; the column name is the element name").

sklearn2pmml writes ``<data:input>`` cells in the ``http://jpmml.org/jpmml-model/InlineTable``
namespace and names them ``column="data:input"`` in FieldColumnPair and outputColumn.
"""

from __future__ import annotations

import numpy as np

from batchscore.runtime.pmml import PmmlEngine

DOCUMENT = """<PMML xmlns="http://www.dmg.org/PMML-4_4"
    xmlns:data="http://jpmml.org/jpmml-model/InlineTable" version="4.4">
  <DataDictionary>
    <DataField name="site" optype="categorical" dataType="string"/>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>
  <RegressionModel functionName="regression">
    <MiningSchema><MiningField name="y" usageType="target"/><MiningField name="site"/>
    </MiningSchema>
    <LocalTransformations>
      <DerivedField name="code" optype="continuous" dataType="double">
        <MapValues outputColumn="{output}" defaultValue="-1">
          <FieldColumnPair field="site" column="{input}"/>
          <InlineTable>
            <row><{cell_in}>north</{cell_in}><{cell_out}>1</{cell_out}></row>
            <row><{cell_in}>south</{cell_in}><{cell_out}>4</{cell_out}></row>
          </InlineTable>
        </MapValues>
      </DerivedField>
    </LocalTransformations>
    <RegressionTable intercept="0.5"><NumericPredictor name="code" coefficient="2"/>
    </RegressionTable>
  </RegressionModel>
</PMML>"""


def score(**names: str) -> list[float]:
    model = PmmlEngine().load(DOCUMENT.format(**names).encode())
    sites = np.array(["north", "south", "west", None], dtype=object)
    return list(model.score({"site": sites})["y"])


def test_prefixed_cells_and_columns_are_matched() -> None:
    names = {"input": "data:input", "output": "data:output"}
    got = score(**names, cell_in="data:input", cell_out="data:output")
    assert got[:3] == [2.5, 8.5, -1.5]
    assert np.isnan(got[3])


def test_prefixed_cells_with_plain_column_names_are_matched() -> None:
    got = score(input="input", output="output", cell_in="data:input", cell_out="data:output")
    assert got[:3] == [2.5, 8.5, -1.5]


def test_plain_cells_still_match() -> None:
    got = score(input="input", output="output", cell_in="input", cell_out="output")
    assert got[:3] == [2.5, 8.5, -1.5]
