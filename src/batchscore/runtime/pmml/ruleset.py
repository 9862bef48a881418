"""RuleSetModel: SimpleRules (nested in CompoundRules) fire, the first RuleSelectionMethod
picks the prediction.

As JPMML: the predictions (``SimpleRule@score``) of the fired rules are met in rule order;
firstHit predicts the first fired rule, each prediction's confidence being the confidence of
its first fired rule; weightedSum gives each prediction the summed weight of its fired rules
divided by the number of fired rules; weightedMax gives each prediction the confidence of its
fired rule of highest weight (the first such). The prediction of highest confidence wins, ties
going to the one met first; entityId is its rule (firstHit: the first fired rule), ``SimpleRule@id``
or its 1-based position among all SimpleRules. When no rule fires the RuleSet's defaultScore and
defaultConfidence are the result (no entityId); without them the row is refused. Rules'
ScoreDistributions are informational (JPMML reports confidences, never probabilities).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.compiler import init_plan
from batchscore.runtime.pmml.context import Context, Scope
from batchscore.runtime.pmml.datatypes import F64, Bool
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.predicates import (
    PREDICATE_TAGS,
    Predicate,
    compile_predicate,
)
from batchscore.runtime.pmml.result import ModelResult
from batchscore.runtime.pmml.xml import (
    attr,
    child,
    children,
    float_attr,
    require_attr,
    require_child,
    require_children,
)

CRITERIA = frozenset({"firstHit", "weightedSum", "weightedMax"})
RULE_TAGS = frozenset({"SimpleRule", "CompoundRule"})


@dataclass(frozen=True)
class Rule:
    """A SimpleRule (``index`` into the flat rule list) or a CompoundRule (``rules``)."""

    predicate: Predicate
    index: int = -1
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class RuleFacts:
    """Per SimpleRule, in document order."""

    keys: npt.NDArray[np.intp]
    """Index of the rule's score among the plan's predictions."""
    weights: F64
    confidences: F64
    ids: tuple[str, ...]


class RuleSetPlan(ModelPlan):
    def __init__(
        self,
        rules: tuple[Rule, ...],
        facts: RuleFacts,
        scores: tuple[str, ...],
        criterion: str,
        default: tuple[str, float] | None,
    ) -> None:
        super().__init__()
        self.rules = rules
        self.facts = facts
        self.scores = scores
        self.criterion = criterion
        self.default = default
        self.extra_features = frozenset({"confidence"})

    def _fired(self, ctx: Context) -> Bool:
        fired = np.zeros((ctx.n, len(self.facts.ids)), dtype=bool)
        pending: list[tuple[tuple[Rule, ...], Bool]] = [(self.rules, np.ones(ctx.n, dtype=bool))]
        while pending:
            rules, active = pending.pop()
            for rule in rules:
                if not active.any():
                    break
                hit = active & (rule.predicate(ctx) == 1.0)
                if rule.index >= 0:
                    fired[:, rule.index] = hit
                else:
                    pending.append((rule.rules, hit))
        return fired

    def _evaluate(self, ctx: Context) -> ModelResult:
        n = ctx.n
        facts = self.facts
        dtype = np.float32 if self.float_math else np.float64
        n_keys = len(self.scores)
        fired = self._fired(ctx)
        # Per prediction: the position of its first fired rule (ties go to the first met).
        met = np.full((n, n_keys), fired.shape[1])
        value = np.zeros((n, n_keys), dtype=dtype)
        winner = np.full((n, n_keys), -1)
        weight = np.zeros((n, n_keys))
        rows = np.arange(n)
        first = self.criterion == "firstHit"
        for r in range(fired.shape[1]):
            hit = fired[:, r]
            k = facts.keys[r]
            fresh = hit & (met[:, k] > r)
            met[fresh, k] = r
            if self.criterion == "weightedSum":
                value[hit, k] += dtype(facts.weights[r])
            better = (
                fresh if first else hit & ((winner[:, k] < 0) | (weight[:, k] < facts.weights[r]))
            )
            winner[better, k] = r
            weight[better, k] = facts.weights[r]
            if self.criterion != "weightedSum":
                value[better, k] = dtype(facts.confidences[r])
        count = fired.sum(axis=1)
        if self.criterion == "weightedSum":
            with np.errstate(invalid="ignore", divide="ignore"):
                value = value / count.astype(dtype)[:, None]
        any_fired = count > 0
        best = self._best(met, value, fired.shape[1])
        labels = np.array((*self.scores, None), dtype=object)
        predicted = labels[np.where(any_fired, best, -1)]
        confidence = np.full(n, np.nan)
        confidence[any_fired] = value[rows[any_fired], best[any_fired]]
        ids = np.array((*facts.ids, None), dtype=object)
        chosen = np.full(n, -1)
        chosen[any_fired] = winner[rows[any_fired], best[any_fired]]
        entity_ids = ids[chosen]
        idle = ~any_fired
        if self.default is not None:
            predicted[idle] = self.default[0]
            confidence[idle] = float(dtype(self.default[1]))
        else:
            ctx.refuse(idle)
        result = ModelResult(predicted, entity_ids=entity_ids)
        result.extra["confidence"] = confidence
        return result

    def _best(self, met: npt.NDArray[np.intp], value: F64, n_rules: int) -> npt.NDArray[np.intp]:
        """Per row the winning prediction: of highest value, ties to the first met (0 when no
        rule fired)."""
        n = met.shape[0]
        if met.shape[1] == 0:
            return np.zeros(n, dtype=np.intp)
        if self.criterion == "firstHit":
            return np.asarray(np.argmin(met, axis=1), dtype=np.intp)
        present = met < n_rules
        ranked = np.where(present, value.astype(np.float64), -np.inf)
        top = present & (ranked == ranked.max(axis=1, keepdims=True))
        return np.asarray(np.argmin(np.where(top, met, n_rules + 1), axis=1), dtype=np.intp)


@dataclass
class _Collector:
    scope: Scope
    scores: list[str]
    keys: list[int]
    weights: list[float]
    confidences: list[float]
    ids: list[str | None]

    def rules(self, element: etree._Element) -> tuple[Rule, ...]:
        return tuple(self.rule(r) for r in element if r.tag in RULE_TAGS)

    def rule(self, element: etree._Element) -> Rule:
        predicate = require_child(element, PREDICATE_TAGS, what="predicate")
        compiled = compile_predicate(predicate, self.scope)
        if element.tag == "CompoundRule":
            inner = self.rules(element)
            if not inner:
                raise ModelError("Invalid PMML: CompoundRule has no rules.")
            return Rule(compiled, rules=inner)
        score = require_attr(element, "score")
        if score not in self.scores:
            self.scores.append(score)
        self.keys.append(self.scores.index(score))
        self.weights.append(float_attr(element, "weight", 1.0))
        self.confidences.append(float_attr(element, "confidence", 1.0))
        self.ids.append(attr(element, "id"))
        return Rule(compiled, index=len(self.keys) - 1)


def _entity_ids(declared: list[str | None]) -> tuple[str, ...]:
    """SimpleRule@id, else the rule's 1-based position; duplicates are invalid as in JPMML."""
    ids = [given if given is not None else str(i) for i, given in enumerate(declared, start=1)]
    if len(set(ids)) != len(ids):
        duplicate = next(x for x in ids if ids.count(x) > 1)
        raise ModelError(f"Invalid PMML: SimpleRule id {duplicate!r} is not unique.")
    return tuple(ids)


def _check_outputs(element: etree._Element) -> None:
    output = child(element, "Output")
    for field in children(output, "OutputField") if output is not None else []:
        feature = attr(field, "feature", "predictedValue")
        name = attr(field, "name")
        if feature == "probability":
            raise ModelError(
                f"Unsupported PMML feature: OutputField@feature=probability of a RuleSetModel "
                f"({name}); its rules give confidences."
            )
        if feature == "confidence" and attr(field, "value") is not None:
            raise ModelError(
                f"Unsupported PMML feature: OutputField@value with feature=confidence ({name})."
            )


def compile_ruleset(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    if header.function != "classification":
        raise ModelError(f"Unsupported PMML feature: RuleSetModel@functionName={header.function}.")
    ruleset = require_child(element, "RuleSet")
    methods = require_children(ruleset, "RuleSelectionMethod")
    # "If more than one method is included, the first method is used as the default."
    criterion = require_attr(methods[0], "criterion")
    if criterion not in CRITERIA:
        raise ModelError(f"Unsupported PMML feature: RuleSelectionMethod@criterion={criterion}.")
    _check_outputs(element)
    collector = _Collector(scope, [], [], [], [], [])
    rules = collector.rules(ruleset)
    default_score = attr(ruleset, "defaultScore")
    default_confidence = attr(ruleset, "defaultConfidence")
    default = None
    if default_score is not None and default_confidence is not None:
        default = (default_score, float_attr(ruleset, "defaultConfidence"))
    facts = RuleFacts(
        np.array(collector.keys, dtype=np.intp),
        np.array(collector.weights, dtype=np.float64),
        np.array(collector.confidences, dtype=np.float64),
        _entity_ids(collector.ids),
    )
    plan = RuleSetPlan(rules, facts, tuple(collector.scores), criterion, default)
    labels = list(header.target.labels if header.target is not None else ())
    for label in [*collector.scores, *([default_score] if default_score is not None else [])]:
        if label not in labels:
            labels.append(label)
    init_plan(plan, header, tuple(labels))
    return plan
