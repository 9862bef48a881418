"""The cases of the converter corpus: which estimator, on which columns, through which
converter. Every case is fitted on :func:`data.train_rows` and scored on :func:`data.scoring_rows`.

The converters' libraries are imported when the case table is made (scikit-learn) or when
a case is built (the others).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from converter_corpus.data import CATEGORICAL, MIXED_NUMERIC, NUMERIC

Builder = Callable[[], Any]


@dataclass(frozen=True)
class Case:
    name: str
    converter: str
    """``sklearn2pmml``, ``nyoka`` or ``sklearn2pmml+statsmodels``."""
    task: str
    """A key of ``data.TARGETS``, or ``clustering`` / ``anomaly`` (no target)."""
    columns: tuple[str, ...]
    build: Builder
    source: str
    missing: float = 0.0
    configure: dict[str, Any] = field(default_factory=dict)


CASES: list[Case] = []


def case(
    name: str,
    converter: str,
    task: str,
    columns: tuple[str, ...],
    build: Builder,
    source: str,
    missing: float = 0.0,
    **configure: Any,
) -> None:
    CASES.append(Case(name, converter, task, columns, build, source, missing, configure))


# --- feature preparation (sklearn2pmml) ------------------------------------------------------


def numeric_domain() -> Any:
    from sklearn2pmml.decoration import ContinuousDomain

    return ContinuousDomain(invalid_value_treatment="as_is")


def scaled() -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn2pmml.decoration import ContinuousDomain

    return make_pipeline(ContinuousDomain(invalid_value_treatment="as_is"), StandardScaler())


def mixed(encoder: str = "onehot") -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder
    from sklearn2pmml.decoration import CategoricalDomain

    categorical: Any = OneHotEncoder() if encoder == "onehot" else OrdinalEncoder()
    return ColumnTransformer(
        [
            *numeric_parts(),
            (
                "cat",
                make_pipeline(CategoricalDomain(invalid_value_treatment="as_is"), categorical),
                list(CATEGORICAL),
            ),
        ]
    )


def numeric_parts() -> list[tuple[str, Any, list[str]]]:
    """The float columns and the integer ``load`` column (one Domain per dtype)."""
    from sklearn2pmml.decoration import ContinuousDomain

    floats = [c for c in MIXED_NUMERIC if c != "load"]
    return [
        ("num", ContinuousDomain(invalid_value_treatment="as_is"), floats),
        ("load", ContinuousDomain(invalid_value_treatment="as_is"), ["load"]),
    ]


def imputed() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn2pmml.decoration import CategoricalDomain, ContinuousDomain

    return ColumnTransformer(
        [
            (
                "num",
                make_pipeline(
                    ContinuousDomain(invalid_value_treatment="as_is"),
                    SimpleImputer(strategy="median"),
                ),
                list(MIXED_NUMERIC),
            ),
            (
                "cat",
                make_pipeline(
                    CategoricalDomain(invalid_value_treatment="as_is"),
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(),
                ),
                list(CATEGORICAL),
            ),
        ]
    )


PREPARATIONS: dict[str, tuple[Callable[[], Any], tuple[str, ...], float]] = {
    "num": (numeric_domain, NUMERIC, 0.0),
    "scaled": (scaled, NUMERIC, 0.0),
    "mixed": (mixed, (*MIXED_NUMERIC, *CATEGORICAL), 0.0),
    "ordinal": (lambda: mixed("ordinal"), (*MIXED_NUMERIC, *CATEGORICAL), 0.0),
    "imputed": (imputed, (*MIXED_NUMERIC, *CATEGORICAL), 0.05),
    "nan": (numeric_domain, NUMERIC, 0.08),
}
"""Feature preparations: ``nan`` leaves 8 % of the numeric cells empty for estimators that
take missing values themselves (histogram gradient boosting)."""


def pipeline(preparation: str, estimator: Builder) -> tuple[Builder, tuple[str, ...], float]:
    make_features, columns, missing = PREPARATIONS[preparation]

    def build() -> Any:
        from sklearn2pmml.pipeline import PMMLPipeline

        return PMMLPipeline([("features", make_features()), ("estimator", estimator())])

    return build, columns, missing


def sk(name: str, task: str, preparation: str, estimator: Builder, text: str, **cfg: Any) -> None:
    build, columns, missing = pipeline(preparation, estimator)
    source = f"PMMLPipeline([{preparation} features, {text}])"
    case(f"s2p_{name}_{preparation}", "sklearn2pmml", task, columns, build, source, missing, **cfg)


def _register_sklearn() -> None:
    import_map = _sklearn_estimators()
    for name, (task, builder, text, preparations) in import_map.items():
        for preparation in preparations:
            sk(name, task, preparation, builder, text)


def _sklearn_estimators() -> dict[str, tuple[str, Builder, str, tuple[str, ...]]]:
    from sklearn import (
        cluster,
        discriminant_analysis,
        ensemble,
        linear_model,
        naive_bayes,
        neighbors,
        neural_network,
        svm,
        tree,
    )

    lm, en = linear_model, ensemble
    both = ("num", "mixed")
    table: dict[str, tuple[str, Builder, str, tuple[str, ...]]] = {
        "linreg": (
            "regression",
            lambda: lm.LinearRegression(),
            "LinearRegression()",
            (*both, "imputed"),
        ),
        "ridge": ("regression", lambda: lm.Ridge(alpha=0.5), "Ridge(alpha=0.5)", both),
        "lasso": ("regression", lambda: lm.Lasso(alpha=0.01), "Lasso(alpha=0.01)", ("num",)),
        "elasticnet": (
            "regression",
            lambda: lm.ElasticNet(alpha=0.01),
            "ElasticNet(alpha=0.01)",
            ("num",),
        ),
        "lars": ("regression", lambda: lm.Lars(), "Lars()", ("num",)),
        "lassolars": ("regression", lambda: lm.LassoLars(alpha=0.01), "LassoLars(0.01)", ("num",)),
        "bayesridge": ("regression", lambda: lm.BayesianRidge(), "BayesianRidge()", ("num",)),
        "ard": ("regression", lambda: lm.ARDRegression(), "ARDRegression()", ("num",)),
        "huber": ("regression", lambda: lm.HuberRegressor(), "HuberRegressor()", ("num",)),
        "sgdreg": (
            "regression",
            lambda: lm.SGDRegressor(random_state=1),
            "SGDRegressor()",
            ("scaled",),
        ),
        "theilsen": (
            "regression",
            lambda: lm.TheilSenRegressor(random_state=1, max_subpopulation=200),
            "TheilSenRegressor()",
            ("num",),
        ),
        "poisson": ("count", lambda: lm.PoissonRegressor(), "PoissonRegressor()", ("num",)),
        "gamma": ("positive", lambda: lm.GammaRegressor(), "GammaRegressor()", ("num",)),
        "tweedie": (
            "positive",
            lambda: lm.TweedieRegressor(power=1.5, link="log"),
            "TweedieRegressor(power=1.5, link='log')",
            ("num",),
        ),
        "dtr": (
            "regression",
            lambda: tree.DecisionTreeRegressor(max_depth=5, random_state=1),
            "DecisionTreeRegressor(max_depth=5)",
            ("num", "mixed", "ordinal"),
        ),
        "rfr": (
            "regression",
            lambda: en.RandomForestRegressor(n_estimators=8, max_depth=4, random_state=1),
            "RandomForestRegressor(n_estimators=8, max_depth=4)",
            ("num", "mixed"),
        ),
        "etr": (
            "regression",
            lambda: en.ExtraTreesRegressor(n_estimators=8, max_depth=4, random_state=1),
            "ExtraTreesRegressor(n_estimators=8, max_depth=4)",
            ("num",),
        ),
        "gbr": (
            "regression",
            lambda: en.GradientBoostingRegressor(n_estimators=12, max_depth=3, random_state=1),
            "GradientBoostingRegressor(n_estimators=12, max_depth=3)",
            ("num", "mixed", "imputed"),
        ),
        "hgbr": (
            "regression",
            lambda: en.HistGradientBoostingRegressor(max_iter=12, random_state=1),
            "HistGradientBoostingRegressor(max_iter=12)",
            ("num", "ordinal", "nan"),
        ),
        "adar": (
            "regression",
            lambda: en.AdaBoostRegressor(
                tree.DecisionTreeRegressor(max_depth=3), n_estimators=10, random_state=1
            ),
            "AdaBoostRegressor(DecisionTreeRegressor(max_depth=3), n_estimators=10)",
            ("num", "mixed"),
        ),
        "baggingr": (
            "regression",
            lambda: en.BaggingRegressor(
                tree.DecisionTreeRegressor(max_depth=3), n_estimators=6, random_state=1
            ),
            "BaggingRegressor(DecisionTreeRegressor(max_depth=3), n_estimators=6)",
            ("num",),
        ),
        "knnr": (
            "regression",
            lambda: neighbors.KNeighborsRegressor(n_neighbors=5),
            "KNeighborsRegressor(5)",
            ("scaled",),
        ),
        "mlpr": (
            "regression",
            lambda: neural_network.MLPRegressor(
                hidden_layer_sizes=(6,), max_iter=300, random_state=1
            ),
            "MLPRegressor((6,))",
            ("scaled",),
        ),
        "svr": ("regression", lambda: svm.SVR(), "SVR()", ("scaled",)),
        "linsvr": ("regression", lambda: svm.LinearSVR(random_state=1), "LinearSVR()", ("scaled",)),
        "nusvr": ("regression", lambda: svm.NuSVR(), "NuSVR()", ("scaled",)),
        "logreg_bin": (
            "binary",
            lambda: lm.LogisticRegression(max_iter=500),
            "LogisticRegression()",
            (*both, "imputed"),
        ),
        "logreg_multi": (
            "multiclass",
            lambda: lm.LogisticRegression(max_iter=500),
            "LogisticRegression()",
            both,
        ),
        "ridgec_bin": ("binary", lambda: lm.RidgeClassifier(), "RidgeClassifier()", ("num",)),
        "sgdc_bin": (
            "binary",
            lambda: lm.SGDClassifier(loss="log_loss", random_state=1),
            "SGDClassifier(loss='log_loss')",
            ("scaled",),
        ),
        "linsvc_multi": ("multiclass", lambda: svm.LinearSVC(), "LinearSVC()", ("scaled",)),
        "lda_multi": (
            "multiclass",
            lambda: discriminant_analysis.LinearDiscriminantAnalysis(),
            "LinearDiscriminantAnalysis()",
            ("num",),
        ),
        "gnb_bin": ("binary", lambda: naive_bayes.GaussianNB(), "GaussianNB()", ("num",)),
        "gnb_multi": ("multiclass", lambda: naive_bayes.GaussianNB(), "GaussianNB()", ("num",)),
        "svc_bin": ("binary", lambda: svm.SVC(), "SVC()", ("scaled",)),
        "svc_multi": ("multiclass", lambda: svm.SVC(), "SVC()", ("scaled",)),
        "nusvc_multi": ("multiclass", lambda: svm.NuSVC(), "NuSVC()", ("scaled",)),
        "knnc_multi": (
            "multiclass",
            lambda: neighbors.KNeighborsClassifier(n_neighbors=5),
            "KNeighborsClassifier(5)",
            ("scaled",),
        ),
        "mlpc_bin": (
            "binary",
            lambda: neural_network.MLPClassifier(
                hidden_layer_sizes=(5,), max_iter=400, random_state=1
            ),
            "MLPClassifier((5,))",
            ("scaled",),
        ),
        "mlpc_multi": (
            "multiclass",
            lambda: neural_network.MLPClassifier(
                hidden_layer_sizes=(6, 4), max_iter=400, random_state=1
            ),
            "MLPClassifier((6, 4))",
            ("scaled",),
        ),
        "kmeans": (
            "clustering",
            lambda: cluster.KMeans(n_clusters=4, n_init=3, random_state=1),
            "KMeans(4)",
            ("scaled",),
        ),
        "minibatchkmeans": (
            "clustering",
            lambda: cluster.MiniBatchKMeans(n_clusters=3, n_init=3, random_state=1),
            "MiniBatchKMeans(3)",
            ("num",),
        ),
        "iforest": (
            "anomaly",
            lambda: en.IsolationForest(n_estimators=10, random_state=1),
            "IsolationForest(n_estimators=10)",
            ("num",),
        ),
        "ocsvm": ("anomaly", lambda: svm.OneClassSVM(nu=0.1), "OneClassSVM(nu=0.1)", ("scaled",)),
    }
    for task in ("binary", "multiclass"):
        short = "bin" if task == "binary" else "multi"
        table[f"dtc_{short}"] = (
            task,
            lambda: tree.DecisionTreeClassifier(max_depth=5, random_state=1),
            "DecisionTreeClassifier(max_depth=5)",
            ("num", "mixed", "ordinal"),
        )
        table[f"rfc_{short}"] = (
            task,
            lambda: en.RandomForestClassifier(n_estimators=8, max_depth=4, random_state=1),
            "RandomForestClassifier(n_estimators=8, max_depth=4)",
            ("num", "mixed"),
        )
        table[f"etc_{short}"] = (
            task,
            lambda: en.ExtraTreesClassifier(n_estimators=8, max_depth=4, random_state=1),
            "ExtraTreesClassifier(n_estimators=8, max_depth=4)",
            ("num",),
        )
        table[f"gbc_{short}"] = (
            task,
            lambda: en.GradientBoostingClassifier(n_estimators=8, max_depth=3, random_state=1),
            "GradientBoostingClassifier(n_estimators=8, max_depth=3)",
            ("num", "imputed"),
        )
        table[f"hgbc_{short}"] = (
            task,
            lambda: en.HistGradientBoostingClassifier(max_iter=8, random_state=1),
            "HistGradientBoostingClassifier(max_iter=8)",
            ("num", "ordinal", "nan"),
        )
        table[f"adac_{short}"] = (
            task,
            lambda: en.AdaBoostClassifier(
                tree.DecisionTreeClassifier(max_depth=2), n_estimators=8, random_state=1
            ),
            "AdaBoostClassifier(DecisionTreeClassifier(max_depth=2), n_estimators=8)",
            ("num",),
        )
        table[f"baggingc_{short}"] = (
            task,
            lambda: en.BaggingClassifier(
                tree.DecisionTreeClassifier(max_depth=3), n_estimators=6, random_state=1
            ),
            "BaggingClassifier(DecisionTreeClassifier(max_depth=3), n_estimators=6)",
            ("num",),
        )
        table[f"votingc_{short}"] = (
            task,
            lambda: en.VotingClassifier(
                [
                    ("lr", lm.LogisticRegression(max_iter=500)),
                    ("dt", tree.DecisionTreeClassifier(max_depth=3, random_state=1)),
                    ("nb", naive_bayes.GaussianNB()),
                ],
                voting="soft",
            ),
            "VotingClassifier([LogisticRegression, DecisionTreeClassifier, GaussianNB], soft)",
            ("num",),
        )
        table[f"stackc_{short}"] = (
            task,
            lambda: en.StackingClassifier(
                [
                    ("dt", tree.DecisionTreeClassifier(max_depth=3, random_state=1)),
                    ("nb", naive_bayes.GaussianNB()),
                ],
                final_estimator=lm.LogisticRegression(max_iter=500),
            ),
            "StackingClassifier([DecisionTreeClassifier, GaussianNB], LogisticRegression)",
            ("num",),
        )
    table["votingr"] = (
        "regression",
        lambda: en.VotingRegressor(
            [
                ("lr", lm.LinearRegression()),
                ("dt", tree.DecisionTreeRegressor(max_depth=3, random_state=1)),
            ],
            weights=[0.7, 0.3],
        ),
        "VotingRegressor([LinearRegression, DecisionTreeRegressor], weights=[0.7, 0.3])",
        ("num",),
    )
    table["stackr"] = (
        "regression",
        lambda: en.StackingRegressor(
            [
                ("dt", tree.DecisionTreeRegressor(max_depth=3, random_state=1)),
                ("ridge", lm.Ridge()),
            ],
            final_estimator=lm.LinearRegression(),
        ),
        "StackingRegressor([DecisionTreeRegressor, Ridge], LinearRegression)",
        ("num", "mixed"),
    )
    return table


_register_sklearn()
