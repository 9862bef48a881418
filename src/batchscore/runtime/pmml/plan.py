"""The compiled form of one model element and what compiling one needs to know."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lxml import etree

from batchscore.runtime.pmml.context import Context, Expr, Scope, new_key
from batchscore.runtime.pmml.expressions import FunctionTable
from batchscore.runtime.pmml.fields import DataField, MiningField
from batchscore.runtime.pmml.result import ModelResult


@dataclass(frozen=True)
class ModelHeader:
    """What every model element declares in common."""

    tag: str
    function: str
    target_name: str | None
    target: DataField | None
    mining_fields: tuple[MiningField, ...]
    float_math: bool
    target_names: tuple[str, ...] = ()
    """Every target field of the MiningSchema (several only for an x-multiModelChain)."""


ModelCompiler = Callable[[etree._Element, Scope, "Environment", ModelHeader], "ModelPlan"]
"""Compiles one model element (in its scope, with its header) into a plan."""


@dataclass
class Environment:
    """Document-wide facts every model compiler needs."""

    data_fields: dict[str, DataField]
    functions: FunctionTable
    global_scope: Scope
    compilers: Mapping[str, ModelCompiler]
    """The model compilers by element name (``batchscore.runtime.pmml.compilers.COMPILERS``);
    nested models (segments, embedded models) are compiled through it."""


@dataclass
class OutputColumn:
    name: str
    expr: Expr


class ModelPlan(ABC):
    """One compiled model element: predictions for a batch plus its Output fields."""

    function: str
    target_name: str | None
    target_type: str
    target_optype: str
    labels: tuple[str, ...]

    def __init__(self) -> None:
        self._key = new_key()
        self.outputs: list[OutputColumn] = []
        self.float_math = False
        self.segment_id: str | None = None
        self.ranks_wanted = 1
        """The deepest OutputField@rank asked of entityId / affinity."""
        self.extra_features: frozenset[str] = frozenset()
        """The model-specific output features this plan puts in ``ModelResult.extra``
        (``ruleValue`` as ``ruleValue/<ruleFeature>``); others are refused at load time."""
        self.display_values: dict[str, str] = {}
        """predictedDisplayValue by predicted value (TargetValue@displayValue, Cluster@name)."""
        self.more_targets: list[ModelPlan] = []
        """Plans of further target fields, scored after this plan's own (x-multiModelChain)."""
        self.segment_plans: dict[str, ModelPlan] = {}
        """A MiningModel's segment plans by Segment@id, for OutputField@segmentId; their
        results come in ``ModelResult.segments``."""

    def evaluate(self, ctx: Context) -> ModelResult:
        result: ModelResult = ctx.memo(self._key, self._evaluate)
        return result

    @abstractmethod
    def _evaluate(self, ctx: Context) -> ModelResult: ...
