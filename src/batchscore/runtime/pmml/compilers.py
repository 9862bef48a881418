"""The explicit table of model compilers: which PMML model elements the evaluator compiles,
and with which function (the model elements it refuses are in ``compiler.UNSUPPORTED_MODELS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from batchscore.runtime.pmml.anomaly import compile_anomaly
from batchscore.runtime.pmml.baseline import compile_baseline
from batchscore.runtime.pmml.clustering import compile_clustering
from batchscore.runtime.pmml.general_regression import compile_general_regression
from batchscore.runtime.pmml.knn import compile_knn
from batchscore.runtime.pmml.mining import compile_mining
from batchscore.runtime.pmml.naive_bayes import compile_naive_bayes
from batchscore.runtime.pmml.neural import compile_neural
from batchscore.runtime.pmml.plan import ModelCompiler
from batchscore.runtime.pmml.regression import compile_regression
from batchscore.runtime.pmml.ruleset import compile_ruleset
from batchscore.runtime.pmml.scorecard import compile_scorecard
from batchscore.runtime.pmml.svm import compile_svm
from batchscore.runtime.pmml.tree import compile_tree_model

COMPILERS: Mapping[str, ModelCompiler] = MappingProxyType(
    {
        "AnomalyDetectionModel": compile_anomaly,
        "BaselineModel": compile_baseline,
        "ClusteringModel": compile_clustering,
        "GeneralRegressionModel": compile_general_regression,
        "MiningModel": compile_mining,
        "NaiveBayesModel": compile_naive_bayes,
        "NearestNeighborModel": compile_knn,
        "NeuralNetwork": compile_neural,
        "RegressionModel": compile_regression,
        "RuleSetModel": compile_ruleset,
        "Scorecard": compile_scorecard,
        "SupportVectorMachineModel": compile_svm,
        "TreeModel": compile_tree_model,
    }
)
"""Model element name -> compiler."""
