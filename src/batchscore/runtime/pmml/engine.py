"""PmmlEngine: the :class:`~batchscore.runtime.engine.ModelEngine` for PMML documents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.engine import FieldInfo
from batchscore.runtime.pmml.compiler import compile_model, find_model
from batchscore.runtime.pmml.compilers import COMPILERS
from batchscore.runtime.pmml.context import Context, Expr, Scope, memoized
from batchscore.runtime.pmml.datatypes import cast_column, to_public
from batchscore.runtime.pmml.expressions import FunctionTable, compile_derived_field
from batchscore.runtime.pmml.fields import (
    DataField,
    MiningField,
    input_expr,
    parse_data_dictionary,
    parse_mining_schema,
)
from batchscore.runtime.pmml.plan import Environment, ModelPlan
from batchscore.runtime.pmml.xml import attr, child, children, parse_document, require_attr


class PmmlModel:
    """A compiled PMML document (see :class:`~batchscore.runtime.engine.CompiledModel`)."""

    def __init__(
        self,
        name: str,
        plan: ModelPlan,
        inputs: Sequence[FieldInfo],
        outputs: Sequence[FieldInfo],
    ) -> None:
        self.name = name
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        self._plan = plan

    def score(self, columns: Mapping[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
        lengths = {np.asarray(c).shape[0] for c in columns.values()}
        if len(lengths) > 1:
            raise ModelError("Input columns must have equal length.")
        n = lengths.pop() if lengths else 0
        ctx = Context(n, columns)
        plan = self._plan
        result = plan.evaluate(ctx)
        out: dict[str, npt.NDArray[Any]] = {}
        if plan.target_name is not None:
            out[plan.target_name] = to_public(
                plan.target_type, cast_column(plan.target_type, result.value)
            )
        for more in plan.more_targets:
            if more.target_name is not None:
                value = more.evaluate(ctx).value
                out[more.target_name] = to_public(
                    more.target_type, cast_column(more.target_type, value)
                )
        for column in plan.outputs:
            out[column.name] = to_public(column.expr.data_type, column.expr(ctx))
        if ctx.invalid.any():
            for values in out.values():
                values[ctx.invalid] = None if values.dtype == object else np.nan
        return out


class PmmlEngine:
    """Loads PMML 3.x/4.x documents into vectorized evaluation plans."""

    def load(self, data: bytes) -> PmmlModel:
        root = parse_document(data)
        try:
            return _compile_document(root)
        except RecursionError as exc:
            raise ModelError("Invalid PMML: the document is nested too deeply.") from exc
        except MemoryError as exc:
            raise ModelError(
                "Invalid PMML: the document needs more memory than a model may use."
            ) from exc
        except ModelError:
            raise
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise ModelError(f"Invalid PMML: {exc}.") from exc


def _compile_document(root: etree._Element) -> PmmlModel:
    data_fields = parse_data_dictionary(root)
    model = find_model(root)
    top_fields = {m.name: m for m in parse_mining_schema(model)}
    functions = FunctionTable()
    global_scope = Scope()
    for name, data_field in data_fields.items():
        mining_field = top_fields.get(name, MiningField(name))
        global_scope.define(name, _memo_input(data_field, mining_field))
    transformations = child(root, "TransformationDictionary")
    if transformations is not None:
        for definition in children(transformations, "DefineFunction"):
            functions.define(definition)
        for derived in children(transformations, "DerivedField"):
            global_scope.define_lazy(
                require_attr(derived, "name"),
                derived,
                lambda el, sc: compile_derived_field(el, sc, functions),
                global_scope,
            )
    env = Environment(data_fields, functions, global_scope, COMPILERS)
    plan = compile_model(model, env, global_scope, top_level=True)
    global_scope.compile_pending()
    inputs = [
        FieldInfo(
            m.name, data_fields[m.name].data_type, m.optype or data_fields[m.name].optype, "active"
        )
        for m in top_fields.values()
        if m.usage == "active"
    ]
    outputs: list[FieldInfo] = []
    for target_plan in (plan, *plan.more_targets):
        if target_plan.target_name is not None:
            outputs.append(
                FieldInfo(
                    target_plan.target_name,
                    target_plan.target_type,
                    target_plan.target_optype,
                    "target",
                )
            )
    seen = {o.name for o in outputs}
    for column in plan.outputs:
        if column.name in seen:
            raise ModelError(f"Invalid PMML: output field {column.name!r} is declared twice.")
        seen.add(column.name)
        outputs.append(FieldInfo(column.name, column.expr.data_type, column.expr.optype, "output"))
    name = attr(model, "modelName") or model.tag
    return PmmlModel(name, plan, inputs, outputs)


def _memo_input(data_field: DataField, mining_field: MiningField) -> Expr:
    return memoized(input_expr(data_field, mining_field))
