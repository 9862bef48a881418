"""require_child / require_children and the exact messages of the missing-element checks."""

from __future__ import annotations

import pytest
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.xml import require_child, require_children
from tests.unit.pmml_documents import load_document

DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>
    <DataField name="c" optype="categorical" dataType="string">
      <Value value="a"/><Value value="b"/></DataField>
  </DataDictionary>"""
SCHEMA_R = '<MiningSchema><MiningField name="y" usageType="target"/><MiningField name="x"/>'
SCHEMA_R += "</MiningSchema>"
SCHEMA_C = '<MiningSchema><MiningField name="c" usageType="target"/><MiningField name="x"/>'
SCHEMA_C += "</MiningSchema>"


def element(text: str) -> etree._Element:
    return etree.fromstring(text)


def test_require_child_returns_the_first_match() -> None:
    parent = element("<A><B n='1'/><B n='2'/></A>")
    assert require_child(parent, "B").get("n") == "1"


def test_require_child_follows_a_path() -> None:
    parent = element("<A><B/><B><C n='x'/></B></A>")
    # Only the first B is followed, as the PMML schema allows one.
    with pytest.raises(ModelError, match=r"^Invalid PMML: A has no B/C\.$"):
        require_child(parent, "B/C")
    assert require_child(element("<A><B><C n='x'/></B></A>"), "B/C").get("n") == "x"


def test_require_child_takes_alternatives() -> None:
    parent = element("<A><X/><SimplePredicate/></A>")
    found = require_child(parent, ("True", "SimplePredicate"), what="predicate")
    assert found.tag == "SimplePredicate"
    with pytest.raises(ModelError, match=r"^Invalid PMML: A has no predicate\.$"):
        require_child(element("<A/>"), ("True", "False"), what="predicate")


def test_require_child_names_owner_and_what() -> None:
    with pytest.raises(ModelError, match=r"^Invalid PMML: the model has no ComparisonMeasure\.$"):
        require_child(element("<A/>"), "ComparisonMeasure", owner="the model")


def test_require_children_refuses_none() -> None:
    assert len(require_children(element("<A><B/><B/></A>"), "B")) == 2
    with pytest.raises(ModelError, match=r"^Invalid PMML: Rows has no Row\.$"):
        require_children(element("<Rows><Other/></Rows>"), "Row")
    with pytest.raises(ModelError, match=r"^Invalid PMML: A has no Bs\.$"):
        require_children(element("<A><B/></A>"), "B/C", what="Bs")


CASES = [
    (
        f'<RegressionModel functionName="regression">{SCHEMA_R}</RegressionModel>',
        "Invalid PMML: RegressionModel has no RegressionTable.",
    ),
    (
        '<RegressionModel functionName="regression"></RegressionModel>',
        "Invalid PMML: RegressionModel has no MiningSchema.",
    ),
    (
        f'<MiningModel functionName="regression">{SCHEMA_R}</MiningModel>',
        "Invalid PMML: MiningModel has no Segmentation.",
    ),
    (
        f'<MiningModel functionName="regression">{SCHEMA_R}'
        '<Segmentation multipleModelMethod="sum"/></MiningModel>',
        "Invalid PMML: Segmentation has no Segment.",
    ),
    (
        f'<MiningModel functionName="regression">{SCHEMA_R}'
        '<Segmentation multipleModelMethod="sum"><Segment>'
        f'<TreeModel functionName="regression">{SCHEMA_R}<Node score="1"><True/></Node>'
        "</TreeModel></Segment></Segmentation></MiningModel>",
        "Invalid PMML: Segment has no predicate.",
    ),
    (
        f'<TreeModel functionName="regression">{SCHEMA_R}<Node score="1"/></TreeModel>',
        "Invalid PMML: Node has no predicate.",
    ),
    (
        f'<NeuralNetwork functionName="regression" activationFunction="identity">{SCHEMA_R}'
        '<NeuralInputs><NeuralInput id="0"/></NeuralInputs><NeuralOutputs/></NeuralNetwork>',
        "Invalid PMML: NeuralInput has no DerivedField.",
    ),
    (
        f'<NeuralNetwork functionName="regression" activationFunction="identity">{SCHEMA_R}'
        "<NeuralInputs/><NeuralOutputs/></NeuralNetwork>",
        "Invalid PMML: NeuralNetwork has no NeuralLayer.",
    ),
    (
        f'<NeuralNetwork functionName="regression" activationFunction="identity">{SCHEMA_R}'
        "<NeuralInputs/><NeuralLayer/><NeuralOutputs/></NeuralNetwork>",
        "Invalid PMML: NeuralLayer has no Neuron.",
    ),
    (
        f'<ClusteringModel functionName="clustering" modelClass="centerBased">{SCHEMA_R}'
        "</ClusteringModel>",
        "Invalid PMML: the model has no ComparisonMeasure.",
    ),
    (
        f'<ClusteringModel functionName="clustering" modelClass="centerBased">{SCHEMA_R}'
        '<ComparisonMeasure kind="distance"><euclidean/></ComparisonMeasure>'
        '<ClusteringField field="x"/></ClusteringModel>',
        "Invalid PMML: ClusteringModel has no Cluster.",
    ),
    (
        f'<NaiveBayesModel functionName="classification" threshold="0.001">{SCHEMA_C}'
        "<BayesOutput/></NaiveBayesModel>",
        "Invalid PMML: NaiveBayesModel has no BayesOutput/TargetValueCounts.",
    ),
    (
        f'<GeneralRegressionModel functionName="regression" modelType="regression">{SCHEMA_R}'
        "</GeneralRegressionModel>",
        "Invalid PMML: GeneralRegressionModel has no ParameterList.",
    ),
    (
        f'<GeneralRegressionModel functionName="regression" modelType="regression">{SCHEMA_R}'
        "<ParameterList/></GeneralRegressionModel>",
        "Invalid PMML: GeneralRegressionModel has no PPMatrix.",
    ),
    (
        f'<GeneralRegressionModel functionName="regression" modelType="regression">{SCHEMA_R}'
        "<ParameterList/><PPMatrix/></GeneralRegressionModel>",
        "Invalid PMML: GeneralRegressionModel has no ParamMatrix.",
    ),
    (
        f'<RuleSetModel functionName="classification">{SCHEMA_C}</RuleSetModel>',
        "Invalid PMML: RuleSetModel has no RuleSet.",
    ),
    (
        f'<RuleSetModel functionName="classification">{SCHEMA_C}<RuleSet/></RuleSetModel>',
        "Invalid PMML: RuleSet has no RuleSelectionMethod.",
    ),
    (
        f'<Scorecard functionName="regression" useReasonCodes="false">{SCHEMA_R}'
        "<Characteristics/></Scorecard>",
        "Invalid PMML: Scorecard has no Characteristics.",
    ),
    (
        f'<Scorecard functionName="regression" useReasonCodes="false">{SCHEMA_R}'
        '<Characteristics><Characteristic name="cx"/></Characteristics></Scorecard>',
        "Invalid PMML: Characteristic cx has no Attribute.",
    ),
    (
        f'<SupportVectorMachineModel functionName="regression">{SCHEMA_R}'
        "<LinearKernelType/></SupportVectorMachineModel>",
        "Invalid PMML: SupportVectorMachineModel has no VectorFields.",
    ),
    (
        f'<BaselineModel functionName="regression">{SCHEMA_R}</BaselineModel>',
        "Invalid PMML: BaselineModel has no TestDistributions.",
    ),
    (
        f'<TreeModel functionName="regression">{SCHEMA_R}<Node score="1"><True/>'
        '<Node score="2"><SimpleSetPredicate field="x" booleanOperator="isIn"/></Node>'
        "</Node></TreeModel>",
        "Invalid PMML: SimpleSetPredicate has no Array.",
    ),
]


@pytest.mark.parametrize(("body", "message"), CASES, ids=[m for _, m in CASES])
def test_missing_elements_keep_their_messages(body: str, message: str) -> None:
    with pytest.raises(ModelError) as raised:
        load_document(DICTIONARY, body)
    assert str(raised.value) == message
