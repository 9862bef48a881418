"""Model metadata as the Models API shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# PMML dataType -> the upper-case type names of the Zementis API.
API_TYPES = {
    "double": "DOUBLE",
    "float": "FLOAT",
    "integer": "INTEGER",
    "string": "STRING",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "time": "TIME",
    "dateTime": "DATE_TIME",
}


@dataclass(frozen=True, slots=True)
class ModelField:
    name: str
    data_type: str  # PMML dataType, e.g. "double"
    op_type: str  # continuous | categorical | ordinal
    required: bool = True  # an active input without a missing-value replacement

    @property
    def api_type(self) -> str:
        return API_TYPES.get(self.data_type, self.data_type.upper())


@dataclass(frozen=True, slots=True)
class ModelDescription:
    """What reading a model file tells: its name, kind and fields."""

    name: str
    description: str
    kind: str  # "pmml" | "onnx"
    inputs: tuple[ModelField, ...]
    outputs: tuple[ModelField, ...]


@dataclass(frozen=True, slots=True)
class StoredModel:
    tenant: str
    name: str
    description: str
    kind: str
    sha256: str
    size: int
    is_active: bool
    created_at: datetime
    inputs: tuple[ModelField, ...]
    outputs: tuple[ModelField, ...]
