"""OnnxEngine: the :class:`~batchscore.runtime.engine.ModelEngine` for ONNX models.

A model is loaded once into an onnxruntime session (CPU, one thread per call, all graph
optimizations); each :meth:`OnnxModel.score` call is one ``session.run`` over the whole batch.
The input and output conventions are described in ``inputs.py`` and ``outputs.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

from batchscore.errors import ModelError
from batchscore.runtime.onnx.inputs import InputTensor, read_inputs
from batchscore.runtime.onnx.modelproto import WireError, uses_external_data, zipmap_labels
from batchscore.runtime.onnx.outputs import Output, missing_column, read_outputs

# onnxruntime's exceptions share no base class but Exception.
_ORT_ERRORS: tuple[type[Exception], ...] = (
    ort_errors.Fail,
    ort_errors.InvalidArgument,
    ort_errors.InvalidGraph,
    ort_errors.InvalidProtobuf,
    ort_errors.NoModel,
    ort_errors.NoSuchFile,
    ort_errors.NotImplemented,
    ort_errors.RuntimeException,
    ort_errors.EPFail,
    RuntimeError,
)
_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ")
_ERRORS_ONLY = 3


class OnnxModel:
    """A loaded ONNX model (see :class:`~batchscore.runtime.engine.CompiledModel`)."""

    def __init__(
        self,
        name: str,
        session: Any,
        inputs: Sequence[InputTensor],
        outputs: Sequence[Output],
    ) -> None:
        self.name = name
        self.inputs = tuple(info for tensor in inputs for info in tensor.field_infos())
        self.outputs = tuple(info for output in outputs for info in output.fields)
        self._session = session
        self._input_tensors = tuple(inputs)
        self._output_readers = tuple(outputs)
        self._output_names = [output.name for output in outputs]

    def score(self, columns: Mapping[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
        lengths = {np.shape(column)[0] if np.ndim(column) else -1 for column in columns.values()}
        if len(lengths) > 1 or -1 in lengths:
            raise ModelError("Input columns must be one-dimensional and of equal length.")
        n = lengths.pop() if lengths else 0
        if n == 0:
            return {field.name: missing_column(field, 0) for field in self.outputs}
        feeds: dict[str, Any] = {}
        refused = np.zeros(n, dtype=np.bool_)
        for tensor in self._input_tensors:
            feeds[tensor.name], bad = tensor.encode(columns, n)
            refused |= bad
        try:
            results = self._session.run(self._output_names, feeds)
        except _ORT_ERRORS as exc:
            raise ModelError("The ONNX model failed to score the batch.", _detail(exc)) from exc
        any_refused = bool(refused.any())
        out: dict[str, npt.NDArray[Any]] = {}
        for reader, value in zip(self._output_readers, results, strict=True):
            for field, column in zip(reader.fields, reader.columns(value, n), strict=True):
                if any_refused:
                    column[refused] = None if column.dtype == object else np.nan
                out[field.name] = column
        return out


class OnnxEngine:
    """Loads ONNX models into onnxruntime sessions."""

    def load(self, data: bytes) -> OnnxModel:
        try:
            # Checked before onnxruntime sees the bytes: it would read the files they name.
            if uses_external_data(data):
                raise ModelError(
                    "The ONNX model stores tensors as external data; upload a self-contained model."
                )
        except WireError as exc:
            raise ModelError("Invalid ONNX model.", str(exc)) from exc
        try:
            session = ort.InferenceSession(
                data, sess_options=_session_options(), providers=["CPUExecutionProvider"]
            )
        except _ORT_ERRORS as exc:
            raise ModelError("Invalid ONNX model.", _detail(exc)) from exc
        meta = session.get_modelmeta()
        inputs = read_inputs(session.get_inputs(), dict(meta.custom_metadata_map))
        try:
            outputs = read_outputs(session.get_outputs(), cache(lambda: zipmap_labels(data)))
        except WireError as exc:
            raise ModelError("Invalid ONNX model.", str(exc)) from exc
        return OnnxModel(meta.graph_name or "onnx", session, inputs, outputs)


def _session_options() -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # onnxruntime logs to stderr by itself; what matters reaches us as exceptions.
    options.log_severity_level = _ERRORS_ONLY
    return options


def _detail(exc: Exception) -> str:
    return _ORT_PREFIX.sub("", str(exc).strip())
