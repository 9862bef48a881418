"""Reads what a PMML file declares for the Models API: its name, description and input fields.

Parsing goes through the engine's hardened parser (``pmml/xml.py``); the outputs come from the
compiled model, since only the engine knows the exact columns it returns.
"""

from __future__ import annotations

from batchscore.domain.models import ModelDescription, ModelField
from batchscore.errors import ModelError
from batchscore.runtime.pmml.compiler import MODEL_TAGS
from batchscore.runtime.pmml.xml import attr, child, children, parse_document


def describe_pmml(data: bytes, fallback_name: str | None) -> ModelDescription:
    """Name, description and active inputs of a PMML document (outputs left empty)."""
    root = parse_document(data)
    model = next((c for c in root if isinstance(c.tag, str) and c.tag in MODEL_TAGS), None)
    if model is None:
        raise ModelError("The PMML document contains no model element.")
    name = (attr(model, "modelName") or fallback_name or "").strip()
    if not name:
        raise ModelError("The model has no name: set modelName or upload it with a file name.")
    header = child(root, "Header")
    description = (attr(header, "description") if header is not None else None) or ""
    dictionary = child(root, "DataDictionary")
    fields = {
        attr(f, "name"): f
        for f in (children(dictionary, "DataField") if dictionary is not None else [])
    }
    schema = child(model, "MiningSchema")
    inputs: list[ModelField] = []
    for mining_field in children(schema, "MiningField") if schema is not None else []:
        field_name = attr(mining_field, "name") or ""
        data_field = fields.get(field_name)
        if data_field is None:
            raise ModelError(
                f"The MiningField '{field_name}' is not declared in the DataDictionary."
            )
        if (attr(mining_field, "usageType") or "active") != "active":
            continue
        inputs.append(
            ModelField(
                name=field_name,
                data_type=attr(data_field, "dataType") or "double",
                op_type=attr(mining_field, "optype") or attr(data_field, "optype") or "continuous",
                required=attr(mining_field, "missingValueReplacement") is None,
            )
        )
    return ModelDescription(
        name=name, description=description, kind="pmml", inputs=tuple(inputs), outputs=()
    )
