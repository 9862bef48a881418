"""ONNX models scored with onnxruntime; see :class:`batchscore.runtime.onnx.engine.OnnxEngine`."""

from batchscore.runtime.onnx.engine import OnnxEngine, OnnxModel

__all__ = ["OnnxEngine", "OnnxModel"]
