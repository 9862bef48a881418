"""SupportVectorMachineModel: kernel machines over a VectorDictionary.

Kernels are evaluated as [rows x support vectors] blocks (rows chunked). Dot products and
squared distances accumulate feature by feature, the order JPMML sums them in, so kernel
values agree with JPMML's to the last bits but for ``exp`` / ``tanh`` / ``pow``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.arrays import chunks, real_array
from batchscore.runtime.pmml.compiler import ModelHeader, init_plan, register
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import F64, Scalar, missing_mask, parse_scalar
from batchscore.runtime.pmml.expressions import numeric
from batchscore.runtime.pmml.plan import Environment, ModelPlan
from batchscore.runtime.pmml.result import ModelResult
from batchscore.runtime.pmml.targets import TargetSpec, parse_target
from batchscore.runtime.pmml.xml import attr, child, children, float_attr, require_attr

KERNELS = {
    "LinearKernelType": "linear",
    "PolynomialKernelType": "polynomial",
    "RadialBasisKernelType": "rbf",
    "SigmoidKernelType": "sigmoid",
}


@dataclass(frozen=True)
class Kernel:
    kind: str
    gamma: float = 1.0
    coef0: float = 1.0
    degree: float = 1.0

    def block(self, x: F64, vectors: F64) -> F64:
        """Kernel values [rows, vectors] for input rows ``x`` [rows, features]."""
        acc = np.zeros((x.shape[0], vectors.shape[0]))
        with np.errstate(over="ignore", invalid="ignore"):
            if self.kind == "rbf":
                for j in range(x.shape[1]):
                    diff = x[:, j, None] - vectors[None, :, j]
                    acc += diff * diff
                return np.exp(-acc * self.gamma)
            for j in range(x.shape[1]):
                acc += x[:, j, None] * vectors[None, :, j]
            if self.kind == "linear":
                return acc
            if self.kind == "polynomial":
                return np.power(acc * self.gamma + self.coef0, self.degree)
            return np.tanh(acc * self.gamma + self.coef0)


def parse_kernel(element: etree._Element) -> Kernel:
    for candidate in element:
        kind = KERNELS.get(candidate.tag)
        if kind is None:
            continue
        return Kernel(
            kind,
            gamma=float_attr(candidate, "gamma", 1.0),
            coef0=float_attr(candidate, "coef0", 1.0),
            degree=float_attr(candidate, "degree", 1.0),
        )
    raise ModelError("Invalid PMML: SupportVectorMachineModel has no kernel.")


@dataclass(frozen=True)
class Machine:
    vectors: npt.NDArray[np.int64]
    """Indices into the plan's support vector matrix (empty for the Coefficients form)."""
    coefficients: F64
    intercept: float
    target: str | None
    alternate: str | None
    threshold: float


class SvmPlan(ModelPlan):
    def __init__(
        self,
        features: list[tuple[Expr, Scalar | None]],
        kernel: Kernel,
        vectors: F64,
        machines: list[Machine],
        method: str,
        alternate_binary: str | None,
        target: TargetSpec,
    ) -> None:
        super().__init__()
        self.features = features
        self.kernel = kernel
        self.vectors = vectors
        self.machines = machines
        self.method = method
        self.alternate_binary = alternate_binary
        self.target = target

    def _inputs(self, ctx: Context) -> tuple[F64, np.ndarray]:
        x = np.empty((ctx.n, len(self.features)))
        missing = np.zeros(ctx.n, dtype=bool)
        for j, (expr, category) in enumerate(self.features):
            column = expr(ctx)
            absent = missing_mask(column)
            missing |= absent
            if category is None:
                x[:, j] = column
            else:
                x[:, j] = np.asarray(column == category, dtype=np.float64)
        x[missing] = 0.0
        return x, missing

    def decisions(self, ctx: Context) -> F64:
        """Per machine decision values [rows, machines] (NaN for rows with a missing input)."""
        x, missing = self._inputs(ctx)
        out = np.empty((ctx.n, len(self.machines)))
        for rows in chunks(ctx.n, self.vectors.shape[0] + 1):
            block = self.kernel.block(x[rows], self.vectors) if self.vectors.size else None
            for k, machine in enumerate(self.machines):
                if block is None or machine.vectors.size == 0:
                    value = x[rows] @ machine.coefficients
                else:
                    value = block[:, machine.vectors.astype(np.intp)] @ machine.coefficients
                out[rows, k] = value + machine.intercept
        out[missing] = np.nan
        return out

    def _evaluate(self, ctx: Context) -> ModelResult:
        values = self.decisions(ctx)
        if self.function == "regression":
            return ModelResult(self.target.apply(values[:, 0]))
        missing = np.isnan(values).any(axis=1) | ctx.invalid
        labels = np.array(self.labels, dtype=object)
        index = {label: j for j, label in enumerate(self.labels)}
        if self.method == "OneAgainstAll":
            order = np.array([index[m.target or ""] for m in self.machines])
            best = order[np.argmin(np.where(np.isnan(values), np.inf, values), axis=1)]
            predicted = labels[best]
            predicted[missing] = None
            return ModelResult(predicted, self.labels)
        votes = np.zeros((ctx.n, len(self.labels)))
        first = np.full((ctx.n, len(self.labels)), np.inf)
        rows = np.arange(ctx.n)
        for k, machine in enumerate(self.machines):
            chosen, undefined = self._vote(machine, values[:, k], index)
            missing |= undefined
            votes[rows, chosen] += 1.0
            first[rows, chosen] = np.minimum(first[rows, chosen], k)
        top = votes.max(axis=1, keepdims=True)
        best = np.argmin(np.where(votes == top, first, np.inf), axis=1)
        predicted = labels[best]
        predicted[missing] = None
        probs = votes / len(self.machines)
        probs[missing] = np.nan
        return ModelResult(predicted, self.labels, probs)

    def _vote(
        self, machine: Machine, value: F64, index: dict[str, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The label index each row votes for, and rows whose vote is undefined."""
        target = index[machine.target or ""]
        if self.alternate_binary is not None:
            rounded = np.floor(value + 0.5)
            undefined = ~((rounded == 0.0) | (rounded == 1.0))
            chosen = np.where(rounded == 0.0, index[self.alternate_binary], target)
            return chosen, undefined
        alternate = index[machine.alternate or ""]
        chosen = np.where(value < machine.threshold, target, alternate)
        return chosen, np.isnan(value)


def _features(element: etree._Element, scope: Scope) -> list[tuple[Expr, Scalar | None]]:
    dictionary = child(element, "VectorDictionary")
    fields = child(dictionary, "VectorFields") if dictionary is not None else None
    if fields is None:
        raise ModelError("Invalid PMML: SupportVectorMachineModel has no VectorFields.")
    out: list[tuple[Expr, Scalar | None]] = []
    for item in fields:
        if item.tag == "FieldRef":
            out.append((numeric(scope.resolve(require_attr(item, "field"))), None))
        elif item.tag == "CategoricalPredictor":
            expr = scope.resolve(require_attr(item, "name"))
            if float_attr(item, "coefficient", 1.0) != 1.0:
                raise ModelError("Invalid PMML: VectorFields/CategoricalPredictor@coefficient.")
            out.append((expr, parse_scalar(expr.data_type, require_attr(item, "value"))))
        elif item.tag != "Extension":
            raise ModelError(f"Unsupported PMML element: VectorFields/{item.tag}.")
    return out


def _machine(
    element: etree._Element,
    ids: dict[str, int],
    n_features: int,
    representation: str,
    default: float,
) -> Machine:
    coefficients_el = child(element, "Coefficients")
    if coefficients_el is None:
        raise ModelError("Invalid PMML: SupportVectorMachine has no Coefficients.")
    coefficients = np.array(
        [float_attr(c, "value", 0.0) for c in children(coefficients_el, "Coefficient")]
    )
    vectors_el = child(element, "SupportVectors")
    if representation == "SupportVectors":
        refs = children(vectors_el, "SupportVector") if vectors_el is not None else []
        try:
            vectors = np.array([ids[require_attr(r, "vectorId")] for r in refs], dtype=np.int64)
        except KeyError as exc:
            raise ModelError(f"Invalid PMML: unknown SupportVector@vectorId {exc}.") from exc
        if vectors.shape[0] != coefficients.shape[0]:
            raise ModelError("Invalid PMML: SupportVectors and Coefficients differ in number.")
    else:
        vectors = np.zeros(0, dtype=np.int64)
        if coefficients.shape[0] != n_features:
            raise ModelError("Invalid PMML: Coefficients do not match the VectorFields.")
    return Machine(
        vectors,
        coefficients,
        float_attr(coefficients_el, "absoluteValue", 0.0),
        attr(element, "targetCategory"),
        attr(element, "alternateTargetCategory"),
        float_attr(element, "threshold", default),
    )


def _method(element: etree._Element, machines: list[Machine], alternate_binary: str | None) -> str:
    method = attr(element, "classificationMethod")
    if method is not None:
        if method not in ("OneAgainstAll", "OneAgainstOne"):
            raise ModelError(f"Unsupported PMML feature: classificationMethod={method}.")
        return method
    # JPMML's inference for producers that omit the attribute.
    if alternate_binary is not None or machines[0].alternate is not None:
        return "OneAgainstOne"
    return "OneAgainstAll"


def compile_svm(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    if header.function not in ("classification", "regression"):
        raise ModelError(f"Invalid PMML: SupportVectorMachineModel@functionName={header.function}.")
    if header.float_math:
        raise ModelError("Unsupported PMML feature: SupportVectorMachineModel with float math.")
    if attr(element, "maxWins") == "true":
        raise ModelError("Unsupported PMML feature: SupportVectorMachineModel@maxWins=true.")
    representation = attr(element, "svmRepresentation", "SupportVectors") or "SupportVectors"
    if representation not in ("SupportVectors", "Coefficients"):
        raise ModelError(f"Invalid PMML: svmRepresentation={representation}.")
    kernel = parse_kernel(element)
    if representation == "Coefficients" and kernel.kind != "linear":
        raise ModelError("Invalid PMML: svmRepresentation=Coefficients needs a linear kernel.")
    features = _features(element, scope)
    dictionary = child(element, "VectorDictionary")
    assert dictionary is not None
    ids: dict[str, int] = {}
    rows: list[F64] = []
    for instance in children(dictionary, "VectorInstance"):
        ids[require_attr(instance, "id")] = len(rows)
        rows.append(real_array(instance, len(features)))
    vectors = np.array(rows).reshape(len(rows), len(features))
    threshold = float_attr(element, "threshold", 0.0)
    machines = [
        _machine(m, ids, len(features), representation, threshold)
        for m in children(element, "SupportVectorMachine")
    ]
    if not machines:
        raise ModelError("Invalid PMML: SupportVectorMachineModel has no SupportVectorMachine.")
    used = np.unique(np.concatenate([m.vectors for m in machines]))
    if used.size < vectors.shape[0]:
        remap = {int(old): new for new, old in enumerate(used)}
        vectors = vectors[used]
        machines = [
            Machine(
                np.array([remap[int(v)] for v in m.vectors], dtype=np.int64),
                m.coefficients,
                m.intercept,
                m.target,
                m.alternate,
                m.threshold,
            )
            for m in machines
        ]
    alternate_binary = attr(element, "alternateBinaryTargetCategory")
    method = "regression"
    labels: tuple[str, ...] = ()
    if header.function == "regression":
        if len(machines) != 1:
            raise ModelError("Invalid PMML: a regression SVM needs one SupportVectorMachine.")
    else:
        method = _method(element, machines, alternate_binary)
        known = list(header.target.labels if header.target is not None else ())
        for machine in machines:
            if machine.target is None:
                raise ModelError("Invalid PMML: SupportVectorMachine has no targetCategory.")
            wanted = [machine.target]
            if method == "OneAgainstOne":
                other = alternate_binary if alternate_binary is not None else machine.alternate
                if other is None:
                    raise ModelError(
                        "Invalid PMML: SupportVectorMachine has no alternateTargetCategory."
                    )
                wanted.append(other)
            known += [x for x in wanted if x not in known]
        labels = tuple(known)
    if any(not math.isfinite(m.intercept) for m in machines):
        raise ModelError("Invalid PMML: Coefficients@absoluteValue is not finite.")
    plan = SvmPlan(
        features,
        kernel,
        vectors,
        machines,
        method,
        alternate_binary,
        parse_target(element, header.target_name),
    )
    init_plan(plan, header, labels)
    plan.labels = labels
    return plan


register("SupportVectorMachineModel", compile_svm)
