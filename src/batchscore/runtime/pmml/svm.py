"""SupportVectorMachineModel: kernel machines over a VectorDictionary.

Kernels are evaluated as [support vectors x rows] blocks: rows in chunks of
:data:`CHUNK_ROWS`, support vectors in slabs small enough for a block to stay in cache, with
in-place ufuncs into preallocated buffers (the inner loops run along rows). Dot products and
squared distances accumulate feature by feature, the order JPMML sums them in, so kernel values
agree with JPMML's to the last bits but for ``exp`` / ``tanh`` / ``pow``; each machine's
decision sums its coefficient-weighted kernel values slab by slab (a BLAS product per slab).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.arrays import CACHE_CELLS, real_array
from batchscore.runtime.pmml.compiler import init_plan
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import F64, Scalar, missing_mask, parse_scalar
from batchscore.runtime.pmml.expressions import numeric
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.result import ModelResult
from batchscore.runtime.pmml.targets import TargetSpec, parse_target
from batchscore.runtime.pmml.xml import (
    attr,
    child,
    children,
    float_attr,
    require_attr,
    require_child,
    require_children,
)

CHUNK_ROWS = 4096
"""Input rows per chunk: the kernel's ufuncs loop along rows, so long rows run fast."""

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

    def block(self, x_t: F64, vectors: F64, out: F64, scratch: F64) -> F64:
        """Kernel values [vectors, rows] of input rows ``x_t`` [features, rows] and support
        vectors ``vectors`` [vectors, features], written into ``out`` (``scratch`` is a
        buffer of the same shape)."""
        if x_t.shape[0] == 0:
            out.fill(0.0)
        with np.errstate(over="ignore", invalid="ignore"):
            for j in range(x_t.shape[0]):
                term = out if j == 0 else scratch
                if self.kind == "rbf":
                    np.subtract(x_t[j], vectors[:, j, None], out=term)
                    np.multiply(term, term, out=term)
                else:
                    np.multiply(x_t[j], vectors[:, j, None], out=term)
                if j > 0:
                    np.add(out, scratch, out=out)
            if self.kind == "rbf":
                np.multiply(out, -self.gamma, out=out)
                np.exp(out, out=out)
            elif self.kind != "linear":
                np.multiply(out, self.gamma, out=out)
                np.add(out, self.coef0, out=out)
                if self.kind == "polynomial":
                    np.power(out, self.degree, out=out)
                else:
                    np.tanh(out, out=out)
        return out


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


Piece = tuple[int, slice | npt.NDArray[np.intp], F64]
"""A machine's share of a slab: machine index, block rows, their coefficients."""


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
        self._slab_cache: dict[int, list[tuple[F64, list[Piece]]]] = {}

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
        if self.vectors.size == 0:
            for k, machine in enumerate(self.machines):
                out[:, k] = x @ machine.coefficients + machine.intercept
            out[missing] = np.nan
            return out
        x_t = np.ascontiguousarray(x.T)
        step = max(1, min(ctx.n, CHUNK_ROWS))
        fit = max(1, CACHE_CELLS // step)
        width = min(self.vectors.shape[0], 1 << (fit.bit_length() - 1))  # few distinct slabs
        slabs = self._slabs(width)
        acc = np.zeros((len(self.machines), ctx.n))
        block = np.empty(width * step)
        scratch = np.empty(width * step)
        gathered = np.empty(width * step)
        for start in range(0, ctx.n, step):
            rows = slice(start, min(ctx.n, start + step))
            m = rows.stop - rows.start
            for vectors, pieces in slabs:
                w = vectors.shape[0]
                values = self.kernel.block(
                    x_t[:, rows],
                    vectors,
                    block[: w * m].reshape(w, m),
                    scratch[: w * m].reshape(w, m),
                )
                for k, used, coefficients in pieces:
                    if isinstance(used, slice):
                        acc[k, rows] += coefficients @ values[used]
                    else:
                        taken = gathered[: used.size * m].reshape(used.size, m)
                        np.take(values, used, axis=0, out=taken, mode="clip")
                        acc[k, rows] += coefficients @ taken
        for k, machine in enumerate(self.machines):
            out[:, k] = acc[k] + machine.intercept
        out[missing] = np.nan
        return out

    def _slabs(self, width: int) -> list[tuple[F64, list[Piece]]]:
        """The support vectors in slabs of ``width``, each with the machines' share of it."""
        cached = self._slab_cache.get(width)
        if cached is not None:
            return cached
        slabs = []
        for start in range(0, self.vectors.shape[0], width):
            stop = min(self.vectors.shape[0], start + width)
            pieces = []
            for k, machine in enumerate(self.machines):
                inside = (machine.vectors >= start) & (machine.vectors < stop)
                if inside.any():
                    used = _slab_rows(machine.vectors[inside] - start)
                    pieces.append((k, used, machine.coefficients[inside]))
            slabs.append((self.vectors[start:stop], pieces))
        self._slab_cache[width] = slabs
        return slabs

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


def _slab_rows(indices: npt.NDArray[np.int64]) -> slice | npt.NDArray[np.intp]:
    """Block rows of a machine's vectors in a slab: a slice if they are consecutive."""
    if indices.size and np.array_equal(indices, np.arange(indices[0], indices[0] + indices.size)):
        return slice(int(indices[0]), int(indices[0]) + indices.size)
    return indices.astype(np.intp)


def _features(element: etree._Element, scope: Scope) -> list[tuple[Expr, Scalar | None]]:
    fields = require_child(element, "VectorDictionary/VectorFields", what="VectorFields")
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
    coefficients_el = require_child(element, "Coefficients")
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
        for m in require_children(element, "SupportVectorMachine")
    ]
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
