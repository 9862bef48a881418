"""NeuralNetwork: layers evaluated as matrix products over the whole batch."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.compiler import init_plan
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import F64
from batchscore.runtime.pmml.expressions import compile_derived_field, numeric
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.result import ModelResult, predicted_from_probs
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

ACTIVATIONS = frozenset(
    {
        "threshold",
        "logistic",
        "tanh",
        "identity",
        "exponential",
        "reciprocal",
        "square",
        "Gauss",
        "sine",
        "cosine",
        "Elliott",
        "arctan",
        "rectifier",
        "radialBasis",
    }
)


def activate(name: str, z: F64, threshold: float = 0.0) -> F64:
    """The PMML activation function ``name`` applied elementwise."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if name == "threshold":
            return (z > threshold).astype(np.float64)
        if name == "logistic":
            return 1.0 / (1.0 + np.exp(-z))
        if name == "tanh":
            return np.tanh(z)
        if name == "identity":
            return z
        if name == "exponential":
            return np.exp(z)
        if name == "reciprocal":
            return 1.0 / z
        if name == "square":
            return z * z
        if name == "Gauss":
            return np.exp(-(z * z))
        if name == "sine":
            return np.sin(z)
        if name == "cosine":
            return np.cos(z)
        if name == "Elliott":
            return z / (1.0 + np.abs(z))
        if name == "arctan":
            return 2.0 * np.arctan(z) / math.pi
        if name == "rectifier":
            return np.maximum(z, 0.0)
    raise ModelError(f"Unsupported PMML feature: activationFunction={name}.")


def normalize_layer(method: str, values: F64) -> F64:
    if method == "none":
        return values
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if method == "softmax":
            shifted = np.exp(values)
            return np.asarray(shifted / shifted.sum(axis=1, keepdims=True), dtype=np.float64)
        if method == "simplemax":
            return np.asarray(values / values.sum(axis=1, keepdims=True), dtype=np.float64)
    raise ModelError(f"Unsupported PMML feature: NeuralLayer@normalizationMethod={method}.")


@dataclass(frozen=True)
class Layer:
    weights: F64
    """``[inputs, neurons]``; for radialBasis, the centres."""
    bias: F64
    activation: str
    normalization: str
    threshold: float
    width: F64
    altitude: F64
    connected: npt.NDArray[np.bool_]
    """``[inputs, neurons]``: which inputs a neuron has a ``Con`` from (radialBasis sums its
    distance over those only, and its fan-in is their number)."""

    def forward(self, x: F64) -> F64:
        if self.activation == "radialBasis":
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                gaps = (x[:, :, None] - self.weights[None, :, :]) ** 2
                distance = np.where(self.connected[None, :, :], gaps, 0.0).sum(axis=1)
                z = distance / (2.0 * self.width * self.width)
                fan_in = self.connected.sum(axis=0)
                out = np.exp(fan_in * np.log(self.altitude) - z)
        else:
            out = activate(self.activation, x @ self.weights + self.bias, self.threshold)
        return normalize_layer(self.normalization, out)


def _layer(
    element: etree._Element, network: etree._Element, index: dict[str, int]
) -> tuple[Layer, dict[str, int]]:
    activation = attr(element, "activationFunction") or attr(
        network, "activationFunction", "logistic"
    )
    if activation not in ACTIVATIONS:
        raise ModelError(f"Unsupported PMML feature: activationFunction={activation}.")
    normalization = attr(element, "normalizationMethod") or attr(
        network, "normalizationMethod", "none"
    )
    neurons = require_children(element, "Neuron")
    weights = np.zeros((len(index), len(neurons)))
    connected = np.zeros((len(index), len(neurons)), dtype=np.bool_)
    bias = np.zeros(len(neurons))
    default_width = float_attr(element, "width", float_attr(network, "width", 1.0))
    default_altitude = float_attr(element, "altitude", float_attr(network, "altitude", 1.0))
    width = np.full(len(neurons), default_width)
    altitude = np.full(len(neurons), default_altitude)
    ids: dict[str, int] = {}
    for j, neuron in enumerate(neurons):
        ids[require_attr(neuron, "id")] = j
        bias[j] = float_attr(neuron, "bias", 0.0)
        width[j] = float_attr(neuron, "width", default_width)
        altitude[j] = float_attr(neuron, "altitude", default_altitude)
        for con in children(neuron, "Con"):
            source = require_attr(con, "from")
            if source not in index:
                raise ModelError(f"Invalid PMML: Con@from={source!r} is not a previous neuron.")
            weights[index[source], j] += float_attr(con, "weight")
            connected[index[source], j] = True
    threshold = float_attr(element, "threshold", float_attr(network, "threshold", 0.0))
    layer = Layer(
        weights,
        bias,
        activation or "logistic",
        normalization or "none",
        threshold,
        width,
        altitude,
        connected,
    )
    return layer, ids


class NeuralPlan(ModelPlan):
    def __init__(
        self,
        inputs: list[Expr],
        layers: list[Layer],
        outputs: list[tuple[int, str, object]],
        target: TargetSpec,
    ) -> None:
        super().__init__()
        self.inputs = inputs
        self.layers = layers
        self.output_map = outputs
        self.target = target

    def _evaluate(self, ctx: Context) -> ModelResult:
        x = np.column_stack([np.asarray(e(ctx), dtype=np.float64) for e in self.inputs])
        missing = np.isnan(x).any(axis=1)
        for layer in self.layers:
            x = layer.forward(x)
        if self.function == "classification":
            # A target category without an output neuron has probability 0, as in JPMML.
            probs = np.zeros((ctx.n, len(self.labels)))
            for neuron, label, _ in self.output_map:
                probs[:, self.labels.index(label)] = x[:, neuron]
            probs[missing] = np.nan
            return ModelResult(predicted_from_probs(self.labels, probs), self.labels, probs)
        neuron, _, denormalize = self.output_map[0]
        value = x[:, neuron]
        if isinstance(denormalize, tuple):
            orig, norm = denormalize
            value = _denorm(value, np.asarray(orig), np.asarray(norm))
        value = np.where(missing, np.nan, value)
        return ModelResult(self.target.apply(value, self.float_math))


def _denorm(value: F64, orig: F64, norm: F64) -> F64:
    """Inverse of NormContinuous: piecewise linear from norm back to orig, extrapolating."""
    order = np.argsort(norm)
    norm, orig = norm[order], orig[order]
    segment = np.clip(np.searchsorted(norm, value) - 1, 0, len(norm) - 2)
    n1, n2 = norm[segment], norm[segment + 1]
    o1, o2 = orig[segment], orig[segment + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return o1 + (value - n1) / (n2 - n1) * (o2 - o1)


def compile_neural(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    inputs_el = child(element, "NeuralInputs")
    outputs_el = child(element, "NeuralOutputs")
    if inputs_el is None or outputs_el is None:
        raise ModelError("Invalid PMML: NeuralNetwork needs NeuralInputs and NeuralOutputs.")
    index: dict[str, int] = {}
    inputs: list[Expr] = []
    for neural_input in children(inputs_el, "NeuralInput"):
        derived = require_child(neural_input, "DerivedField")
        index[require_attr(neural_input, "id")] = len(inputs)
        inputs.append(numeric(compile_derived_field(derived, scope, env.functions)))
    layers: list[Layer] = []
    location: dict[str, tuple[int, int]] = {k: (-1, v) for k, v in index.items()}
    for number, layer_el in enumerate(require_children(element, "NeuralLayer")):
        layer, ids = _layer(layer_el, element, index)
        layers.append(layer)
        index = ids
        location.update({k: (number, v) for k, v in ids.items()})
    last = len(layers) - 1
    outputs: list[tuple[int, str, object]] = []
    for neural_output in children(outputs_el, "NeuralOutput"):
        neuron_id = require_attr(neural_output, "outputNeuron")
        layer_number, neuron = location.get(neuron_id, (-2, -1))
        if layer_number != last:
            raise ModelError(
                f"Unsupported PMML feature: output neuron {neuron_id!r} not in the last layer."
            )
        output_field = child(neural_output, "DerivedField")
        expression = next(iter(output_field), None) if output_field is not None else None
        if expression is None:
            raise ModelError("Invalid PMML: NeuralOutput has no DerivedField.")
        if expression.tag == "NormDiscrete":
            outputs.append((neuron, require_attr(expression, "value"), None))
        elif expression.tag == "FieldRef":
            outputs.append((neuron, "", None))
        elif expression.tag == "NormContinuous":
            points = children(expression, "LinearNorm")
            orig = tuple(float_attr(p, "orig") for p in points)
            norm = tuple(float_attr(p, "norm") for p in points)
            outputs.append((neuron, "", (orig, norm)))
        else:
            raise ModelError(f"Unsupported PMML feature: NeuralOutput with {expression.tag}.")
    labels: tuple[str, ...] = ()
    if header.function == "classification":
        known = header.target.labels if header.target is not None else ()
        labels = tuple(known) + tuple(label for _, label, _ in outputs if label not in known)
    elif header.function != "regression":
        raise ModelError(f"Unsupported PMML feature: NeuralNetwork@functionName={header.function}.")
    plan = NeuralPlan(inputs, layers, outputs, parse_target(element, header.target_name))
    init_plan(plan, header, labels)
    plan.labels = labels
    return plan
