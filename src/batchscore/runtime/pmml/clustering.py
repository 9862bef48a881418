"""ClusteringModel (center-based): the nearest cluster by the ComparisonMeasure.

The predicted value and entityId are the winning cluster's id (its ``id`` or 1-based
position); ``affinity`` is the distance (or similarity) to a cluster.
"""

from __future__ import annotations

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.arrays import chunks, real_array
from batchscore.runtime.pmml.compiler import init_plan
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import F64
from batchscore.runtime.pmml.expressions import numeric
from batchscore.runtime.pmml.measures import (
    FieldCompare,
    Measure,
    distances,
    nearest_first,
    parse_field_compare,
    parse_measure,
)
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.result import ModelResult
from batchscore.runtime.pmml.xml import (
    attr,
    child,
    children,
    require_attr,
    require_child,
    require_children,
)


class ClusteringPlan(ModelPlan):
    def __init__(
        self,
        fields: list[Expr],
        compares: list[FieldCompare],
        measure: Measure,
        centers: F64,
        ids: tuple[str, ...],
        missing_weights: F64 | None,
    ) -> None:
        super().__init__()
        self.fields = fields
        self.compares = compares
        self.measure = measure
        self.centers = centers
        self.ids = ids
        self.missing_weights = missing_weights

    def _evaluate(self, ctx: Context) -> ModelResult:
        x = np.empty((ctx.n, len(self.fields)))
        for j, expr in enumerate(self.fields):
            x[:, j] = expr(ctx)
        affinity = np.empty((ctx.n, self.centers.shape[0]))
        for rows in chunks(ctx.n, self.centers.shape[0]):
            affinity[rows] = distances(
                self.measure, self.compares, x[rows], self.centers, self.missing_weights
            )
        undefined = np.isnan(affinity).all(axis=1) | ctx.invalid
        order = np.argsort(nearest_first(affinity, self.measure), axis=1, kind="stable")
        ranking = np.array(self.ids, dtype=object)[order]
        ranking[undefined] = None
        affinity[ctx.invalid] = np.nan
        winner = ranking[:, 0].copy()
        return ModelResult(
            winner,
            entity_ids=winner.copy(),
            affinities=affinity,
            affinity_ids=self.ids,
            entity_ranking=ranking,
            affinity_ranking=np.take_along_axis(affinity, order, axis=1),
        )


def compile_clustering(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    if header.function != "clustering":
        raise ModelError(f"Invalid PMML: ClusteringModel@functionName={header.function}.")
    model_class = attr(element, "modelClass", "centerBased")
    if model_class != "centerBased":
        raise ModelError(f"Unsupported PMML feature: ClusteringModel@modelClass={model_class}.")
    if child(element, "CenterFields") is not None:
        raise ModelError("Unsupported PMML element: CenterFields.")
    measure = parse_measure(require_child(element, "ComparisonMeasure", owner="the model"))
    fields: list[Expr] = []
    compares: list[FieldCompare] = []
    for field in children(element, "ClusteringField"):
        if attr(field, "isCenterField", "true") == "false":
            continue
        if child(field, "Comparisons") is not None:
            raise ModelError("Unsupported PMML element: Comparisons.")
        fields.append(numeric(scope.resolve(require_attr(field, "field"))))
        compares.append(parse_field_compare(field, measure))
    if not fields:
        raise ModelError("Invalid PMML: ClusteringModel has no ClusteringField.")
    clusters = require_children(element, "Cluster")
    centers = np.array([real_array(c, len(fields)) for c in clusters])
    ids = tuple(attr(c, "id") or str(i + 1) for i, c in enumerate(clusters))
    weights_el = child(element, "MissingValueWeights")
    missing_weights = real_array(weights_el, len(fields)) if weights_el is not None else None
    plan = ClusteringPlan(fields, compares, measure, centers, ids, missing_weights)
    init_plan(plan, header, ids)
    plan.target_type = "string"
    plan.labels = ids
    plan.display_values = {
        cluster_id: name
        for cluster_id, name in zip(ids, (c.get("name") for c in clusters), strict=True)
        if name is not None
    }
    return plan
