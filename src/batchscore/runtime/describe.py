"""Reads what a model file declares (name, inputs, outputs) without scoring anything."""

from __future__ import annotations

from lxml import etree

from batchscore.domain.models import ModelDescription, ModelField
from batchscore.errors import ModelError

MODEL_ELEMENTS = {
    "AnomalyDetectionModel",
    "AssociationModel",
    "BaselineModel",
    "BayesianNetworkModel",
    "ClusteringModel",
    "GaussianProcessModel",
    "GeneralRegressionModel",
    "MiningModel",
    "NaiveBayesModel",
    "NearestNeighborModel",
    "NeuralNetwork",
    "RegressionModel",
    "RuleSetModel",
    "Scorecard",
    "SequenceModel",
    "SupportVectorMachineModel",
    "TextModel",
    "TimeSeriesModel",
    "TreeModel",
}


def safe_parser() -> etree.XMLParser:
    """An XML parser that loads no DTD, expands no entities and never touches the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_pmml_xml(data: bytes) -> etree._Element:
    """Parse PMML bytes; refuse DTDs and entity declarations outright (Invalid XML format)."""
    if not data.strip():
        raise ModelError("Invalid XML format.", "The model file is empty.")
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise ModelError("Invalid XML format.", "DTDs and entity declarations are not allowed.")
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise ModelError("Invalid XML format.", _first_line(str(exc))) from None
    if root is None or _local(root.tag) != "PMML":
        raise ModelError("Invalid XML format.", "The document's root element is not PMML.")
    return root


def describe_pmml(data: bytes, fallback_name: str | None) -> ModelDescription:
    """Name, description, inputs and outputs of a PMML document."""
    root = parse_pmml_xml(data)
    children = [c for c in root if isinstance(c.tag, str)]
    model = next((c for c in children if _local(c.tag) in MODEL_ELEMENTS), None)
    if model is None:
        raise ModelError("The PMML document contains no model element.")
    header = next((c for c in children if _local(c.tag) == "Header"), None)
    name = model.get("modelName") or (fallback_name or "")
    if not name.strip():
        raise ModelError("The model has no name: set modelName or upload it with a file name.")
    description = (header.get("description") if header is not None else None) or ""
    dictionary = {
        f.get("name", ""): f
        for c in children
        if _local(c.tag) == "DataDictionary"
        for f in c
        if isinstance(f.tag, str) and _local(f.tag) == "DataField"
    }
    inputs: list[ModelField] = []
    targets: list[ModelField] = []
    for mf in _children(model, "MiningSchema", "MiningField"):
        fname = mf.get("name", "")
        usage = mf.get("usageType", "active")
        field = dictionary.get(fname)
        if field is None:
            raise ModelError(f"The MiningField '{fname}' is not declared in the DataDictionary.")
        info = ModelField(
            name=fname,
            data_type=field.get("dataType", "double"),
            op_type=mf.get("optype") or field.get("optype") or "continuous",
            required=mf.get("missingValueReplacement") is None,
        )
        if usage == "active":
            inputs.append(info)
        elif usage in ("target", "predicted"):
            targets.append(info)
    outputs = [
        ModelField(
            name=of.get("name", ""),
            data_type=of.get("dataType", "double"),
            op_type=of.get("optype", "continuous"),
        )
        for of in _children(model, "Output", "OutputField")
    ]
    return ModelDescription(
        name=name.strip(),
        description=description,
        kind="pmml",
        inputs=tuple(inputs),
        outputs=tuple(targets + outputs),
    )


def _children(element: etree._Element, parent: str, child: str) -> list[etree._Element]:
    return [
        c
        for p in element
        if isinstance(p.tag, str) and _local(p.tag) == parent
        for c in p
        if isinstance(c.tag, str) and _local(c.tag) == child
    ]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _first_line(text: str) -> str:
    line = text.splitlines()[0] if text else "the document is not well-formed"
    return line[:200] if line.endswith(".") else line[:199] + "."
