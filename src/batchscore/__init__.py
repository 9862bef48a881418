"""batchscore: scheduled scoring of PMML/ONNX models on IoT measurement data."""

__version__ = "0.1.0"
