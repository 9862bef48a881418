"""batchscore's own vectorized PMML evaluator (numpy, no JVM).

Documents are parsed once into an evaluation plan of closures over whole columns; see
:class:`batchscore.runtime.pmml.engine.PmmlEngine`.
"""

from batchscore.runtime.pmml.engine import PmmlEngine, PmmlModel

__all__ = ["PmmlEngine", "PmmlModel"]
