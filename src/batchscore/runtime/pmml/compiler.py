"""Compiling one model element: its MiningSchema scope, LocalTransformations, the
model-specific plan (looked up by element name in ``Environment.compilers``) and its Output."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.context import Expr, Scope
from batchscore.runtime.pmml.expressions import compile_derived_field
from batchscore.runtime.pmml.fields import nested_expr, parse_mining_schema
from batchscore.runtime.pmml.output import compile_outputs
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.targets import display_values
from batchscore.runtime.pmml.xml import attr, child, children, require_attr

MODEL_TAGS = frozenset(
    {
        "AnomalyDetectionModel",
        "AssociationModel",
        "BayesianNetworkModel",
        "BaselineModel",
        "ClusteringModel",
        "GaussianProcessModel",
        "GeneralRegressionModel",
        "MiningModel",
        "NaiveBayesModel",
        "NearestNeighborModel",
        "NeuralNetwork",
        "RegressionModel",
        "RuleSetModel",
        "SequenceModel",
        "Scorecard",
        "SupportVectorMachineModel",
        "TextModel",
        "TimeSeriesModel",
        "TreeModel",
    }
)
FUNCTIONS = frozenset(
    {
        "regression",
        "classification",
        "clustering",
        "associationRules",
        "sequences",
        "timeSeries",
        "mixed",
    }
)


UNSUPPORTED_MODELS = {
    "AssociationModel": "association rules are mined item sets, not a scoring function over rows",
    "BayesianNetworkModel": "Bayesian network inference is not supported",
    "GaussianProcessModel": "Gaussian process models are not supported",
    "SequenceModel": "sequence rules need ordered transactions, not independent rows",
    "TextModel": "text mining models are not supported",
    "TimeSeriesModel": "time series forecasting needs the series history, not independent rows",
}
"""Model elements the evaluator refuses, with the reason given in the error."""


def find_model(element: etree._Element) -> etree._Element:
    """The first model element child of ``element`` (PMML root or Segment)."""
    for candidate in element:
        if candidate.tag in MODEL_TAGS:
            return candidate
    raise ModelError(f"Invalid PMML: no model element in {element.tag}.")


def compile_model(
    element: etree._Element, env: Environment, parent: Scope, *, top_level: bool
) -> ModelPlan:
    tag = element.tag
    compiler = env.compilers.get(tag)
    if compiler is None:
        reason = UNSUPPORTED_MODELS.get(tag)
        raise ModelError(f"Unsupported PMML element: {tag}" + (f" ({reason})." if reason else "."))
    if attr(element, "isScorable") == "false":
        raise ModelError(f"The {tag} is marked as not scorable.")
    function = require_attr(element, "functionName")
    if function not in FUNCTIONS:
        raise ModelError(f"Invalid PMML: {tag}@functionName={function}.")
    if child(element, "EmbeddedModel") is not None:
        raise ModelError("Unsupported PMML element: EmbeddedModel.")
    mining_fields = tuple(parse_mining_schema(element))
    scope = Scope(parent)
    target_name: str | None = None
    target_names: list[str] = []
    for mining_field in mining_fields:
        name = mining_field.name
        if mining_field.usage in ("target", "predicted"):
            target_name = target_name or name
            target_names.append(name)
            continue
        if top_level and name not in env.data_fields:
            raise ModelError(f"Invalid PMML: field {name!r} is not declared in the DataDictionary.")
        if not parent.has(name):
            raise ModelError(f"Invalid PMML: field {name!r} is not declared.")
        data_field = env.data_fields.get(name)
        upstream = parent.resolve(name)
        if top_level or data_field is None:
            scope.define(name, upstream)
        else:
            scope.define(name, nested_expr(upstream, data_field, mining_field))
    if len(target_names) > 1 and not _predicts_several(element):
        raise ModelError(
            f"Unsupported PMML feature: a {tag} with {len(target_names)} target fields "
            f"({', '.join(target_names)}); only an x-multiModelChain MiningModel predicts several."
        )
    target = env.data_fields.get(target_name) if target_name is not None else None
    if target_name is not None and target is None and top_level:
        raise ModelError(
            f"Invalid PMML: field {target_name!r} is not declared in the DataDictionary."
        )
    local = child(element, "LocalTransformations")
    if local is not None:
        for derived in children(local, "DerivedField"):
            scope.define_lazy(require_attr(derived, "name"), derived, _derived(env), scope)
    header = ModelHeader(
        tag=tag,
        function=function,
        target_name=target_name,
        target=target,
        mining_fields=mining_fields,
        float_math=attr(element, "x-mathContext") == "float",
        target_names=tuple(target_names),
    )
    plan = compiler(element, scope, env, header)
    plan.float_math = header.float_math
    plan.display_values = display_values(element, target_name) | plan.display_values
    compile_outputs(element, plan, Scope(scope), env)
    scope.compile_pending()
    return plan


def _predicts_several(element: etree._Element) -> bool:
    segmentation = child(element, "Segmentation") if element.tag == "MiningModel" else None
    return segmentation is not None and (
        segmentation.get("multipleModelMethod") == "x-multiModelChain"
    )


def _derived(env: Environment) -> Callable[[etree._Element, Scope], Expr]:
    def compile_field(element: etree._Element, scope: Scope) -> Expr:
        return compile_derived_field(element, scope, env.functions)

    return compile_field


def init_plan(plan: ModelPlan, header: ModelHeader, labels: tuple[str, ...] = ()) -> None:
    """Fill the target facts every plan carries."""
    plan.function = header.function
    plan.target_name = header.target_name
    if header.target is not None:
        plan.target_type = header.target.data_type
        plan.target_optype = header.target.optype
    else:
        classify = header.function in ("classification", "clustering")
        plan.target_type = "string" if classify else "double"
        plan.target_optype = "categorical" if classify else "continuous"
    if not labels and header.target is not None:
        labels = header.target.labels
    plan.labels = labels


def init_score_plan(plan: ModelPlan, header: ModelHeader) -> None:
    """:func:`init_plan` for models whose prediction is a real-valued score whatever their
    target field declares (anomaly scores, baseline z-values)."""
    init_plan(plan, header)
    plan.target_type = "double"
    plan.target_optype = "continuous"
    plan.labels = ()
