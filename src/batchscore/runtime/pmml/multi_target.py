"""JPMML's ``x-multiModelChain`` segmentation (sklearn2pmml writes it for multi-output
estimators, classifier and regressor chains, and estimator chains): every segment predicts its
own target field, in order, and later segments may read the Output fields of earlier ones.
The MiningModel's result is every segment's target (missing where the segment's predicate is
not true) and every segment's Output fields."""

from __future__ import annotations

from batchscore.errors import ModelError
from batchscore.runtime.pmml.compiler import init_plan
from batchscore.runtime.pmml.context import Context
from batchscore.runtime.pmml.plan import ModelHeader, ModelPlan, OutputColumn
from batchscore.runtime.pmml.predicates import Predicate
from batchscore.runtime.pmml.result import ModelResult, restrict_result

MULTI_CHAIN = "x-multiModelChain"


class SegmentTarget(ModelPlan):
    """One segment's prediction of its target, where its predicate is true."""

    def __init__(self, plan: ModelPlan, predicate: Predicate | None) -> None:
        super().__init__()
        self.plan = plan
        self.predicate = predicate
        self.function = plan.function
        self.target_name = plan.target_name
        self.target_type = plan.target_type
        self.target_optype = plan.target_optype
        self.labels = plan.labels
        self.display_values = plan.display_values

    def _evaluate(self, ctx: Context) -> ModelResult:
        result = self.plan.evaluate(ctx)
        if self.predicate is None:
            return result
        return restrict_result(result, self.predicate(ctx) == 1.0)


class MultiTargetPlan(ModelPlan):
    """The first segment's target as the plan's own; the others in ``more_targets``."""

    def __init__(self, targets: list[SegmentTarget]) -> None:
        super().__init__()
        self.targets = targets

    def _evaluate(self, ctx: Context) -> ModelResult:
        return self.targets[0].evaluate(ctx)


def compile_multi_chain(
    header: ModelHeader,
    segments: list[tuple[ModelPlan, Predicate | None, list[OutputColumn]]],
) -> ModelPlan:
    """The plan of an x-multiModelChain over compiled ``segments`` (plan, predicate, and the
    segment's Output columns masked by its predicate)."""
    targets: list[SegmentTarget] = []
    seen: set[str] = set()
    for plan, predicate, _ in segments:
        name = plan.target_name
        if name is None:
            raise ModelError(f"Invalid PMML: a segment of a {MULTI_CHAIN} has no target field.")
        if name in seen:
            raise ModelError(f"Invalid PMML: two segments of a {MULTI_CHAIN} predict {name!r}.")
        seen.add(name)
        targets.append(SegmentTarget(plan, predicate))
    declared = set(header.target_names)
    if declared and not seen <= declared:
        extra = ", ".join(sorted(seen - declared))
        raise ModelError(f"Invalid PMML: segment targets {extra} are not targets of the model.")
    multi = MultiTargetPlan(targets)
    init_plan(multi, header)
    first = targets[0]
    multi.function = first.function
    multi.target_name = first.target_name
    multi.target_type = first.target_type
    multi.target_optype = first.target_optype
    multi.labels = first.labels
    multi.display_values = first.display_values
    multi.more_targets = list(targets[1:])
    multi.outputs = [column for _, _, columns in segments for column in columns]
    return multi
