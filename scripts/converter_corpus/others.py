"""Cases of the other converters: nyoka (Software AG's, which Zementis users use) and
JPMML-StatsModels through sklearn2pmml's statsmodels wrappers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from converter_corpus.cases import case
from converter_corpus.data import NUMERIC


def _skl(steps: Callable[[], list[tuple[str, Any]]]) -> Callable[[], Any]:
    def build() -> Any:
        from sklearn.pipeline import Pipeline

        return Pipeline(steps())

    return build


def n(
    name: str,
    task: str,
    steps: Callable[[], list[tuple[str, Any]]],
    text: str,
    missing: float = 0.0,
) -> None:
    case(f"nyoka_{name}", "nyoka", task, NUMERIC, _skl(steps), f"Pipeline([{text}])", missing)


def _nyoka() -> None:
    import lightgbm as lgb
    import xgboost as xgb
    from sklearn import cluster, ensemble, naive_bayes, neighbors, neural_network, svm, tree
    from sklearn import linear_model as lm
    from sklearn import preprocessing as pp
    from sklearn.impute import SimpleImputer

    scalers: dict[str, Callable[[], Any]] = {
        "plain": lambda: None,
        "standard": pp.StandardScaler,
        "minmax": pp.MinMaxScaler,
        "robust": pp.RobustScaler,
        "maxabs": pp.MaxAbsScaler,
    }

    def steps(scaler: str, estimator: Callable[[], Any]) -> Callable[[], list[tuple[str, Any]]]:
        def make() -> list[tuple[str, Any]]:
            first = scalers[scaler]()
            out: list[tuple[str, Any]] = [] if first is None else [("scale", first)]
            return [*out, ("model", estimator())]

        return make

    models: dict[str, tuple[str, Callable[[], Any], tuple[str, ...]]] = {
        "linreg": ("regression", lm.LinearRegression, ("plain", "standard", "minmax", "robust")),
        "ridge": ("regression", lambda: lm.Ridge(alpha=0.5), ("plain",)),
        "lasso": ("regression", lambda: lm.Lasso(alpha=0.01), ("plain",)),
        "logreg_bin": (
            "binary",
            lambda: lm.LogisticRegression(max_iter=500),
            ("plain", "standard", "maxabs"),
        ),
        "logreg_multi": (
            "multiclass",
            lambda: lm.LogisticRegression(max_iter=500),
            ("plain", "minmax"),
        ),
        "dtr": (
            "regression",
            lambda: tree.DecisionTreeRegressor(max_depth=4, random_state=1),
            ("plain",),
        ),
        "dtc_bin": (
            "binary",
            lambda: tree.DecisionTreeClassifier(max_depth=4, random_state=1),
            ("plain",),
        ),
        "dtc_multi": (
            "multiclass",
            lambda: tree.DecisionTreeClassifier(max_depth=4, random_state=1),
            ("plain",),
        ),
        "rfr": (
            "regression",
            lambda: ensemble.RandomForestRegressor(n_estimators=5, max_depth=3, random_state=1),
            ("plain",),
        ),
        "rfc_multi": (
            "multiclass",
            lambda: ensemble.RandomForestClassifier(n_estimators=5, max_depth=3, random_state=1),
            ("plain",),
        ),
        "etc_bin": (
            "binary",
            lambda: ensemble.ExtraTreesClassifier(n_estimators=5, max_depth=3, random_state=1),
            ("plain",),
        ),
        "gbr": (
            "regression",
            lambda: ensemble.GradientBoostingRegressor(n_estimators=6, max_depth=3, random_state=1),
            ("plain",),
        ),
        "gbc_bin": (
            "binary",
            lambda: ensemble.GradientBoostingClassifier(
                n_estimators=6, max_depth=3, random_state=1
            ),
            ("plain",),
        ),
        "gbc_multi": (
            "multiclass",
            lambda: ensemble.GradientBoostingClassifier(
                n_estimators=6, max_depth=3, random_state=1
            ),
            ("plain",),
        ),
        "knnr": ("regression", lambda: neighbors.KNeighborsRegressor(n_neighbors=4), ("standard",)),
        "knnc_multi": (
            "multiclass",
            lambda: neighbors.KNeighborsClassifier(n_neighbors=5),
            ("standard",),
        ),
        "svr": ("regression", svm.SVR, ("standard",)),
        "svc_bin": ("binary", svm.SVC, ("standard",)),
        "svc_multi": ("multiclass", svm.SVC, ("standard",)),
        "linsvc_bin": ("binary", svm.LinearSVC, ("standard",)),
        "gnb_multi": ("multiclass", naive_bayes.GaussianNB, ("plain",)),
        "mlpr": (
            "regression",
            lambda: neural_network.MLPRegressor(
                hidden_layer_sizes=(6,), max_iter=300, random_state=1
            ),
            ("standard",),
        ),
        "mlpc_bin": (
            "binary",
            lambda: neural_network.MLPClassifier((5,), max_iter=400, random_state=1),
            ("standard",),
        ),
        "mlpc_multi": (
            "multiclass",
            lambda: neural_network.MLPClassifier((5,), max_iter=400, random_state=1),
            ("standard",),
        ),
        "kmeans": (
            "clustering",
            lambda: cluster.KMeans(n_clusters=3, n_init=3, random_state=1),
            ("plain", "standard"),
        ),
        "iforest": (
            "anomaly",
            lambda: ensemble.IsolationForest(n_estimators=8, random_state=1),
            ("plain",),
        ),
        "ocsvm": ("anomaly", lambda: svm.OneClassSVM(nu=0.1), ("standard",)),
        "xgbr": (
            "regression",
            lambda: xgb.XGBRegressor(n_estimators=6, max_depth=3, random_state=1),
            ("plain",),
        ),
        "xgbc_bin": (
            "binary01",
            lambda: xgb.XGBClassifier(n_estimators=6, max_depth=3, random_state=1),
            ("plain",),
        ),
        "xgbc_multi": (
            "multicodes",
            lambda: xgb.XGBClassifier(n_estimators=6, max_depth=3, random_state=1),
            ("plain",),
        ),
        "lgbmr": (
            "regression",
            lambda: lgb.LGBMRegressor(n_estimators=6, num_leaves=8, random_state=1, verbose=-1),
            ("plain",),
        ),
        "lgbmc_bin": (
            "binary",
            lambda: lgb.LGBMClassifier(n_estimators=6, num_leaves=8, random_state=1, verbose=-1),
            ("plain",),
        ),
        "lgbmc_multi": (
            "multiclass",
            lambda: lgb.LGBMClassifier(n_estimators=6, num_leaves=8, random_state=1, verbose=-1),
            ("plain",),
        ),
    }
    for name, (task, estimator, scaler_names) in models.items():
        for scaler in scaler_names:
            n(f"{name}_{scaler}", task, steps(scaler, estimator), f"{scaler} scaling, {name}")
    n(
        "linreg_imputed",
        "regression",
        lambda: [("impute", SimpleImputer(strategy="mean")), ("model", lm.LinearRegression())],
        "SimpleImputer(mean), LinearRegression",
        missing=0.08,
    )
    for name in ("dtr", "dtc_multi", "rfr", "logreg_bin", "logreg_multi", "gbr", "knnr", "svr"):
        task, estimator, _ = models[name]
        n(
            f"{name}_imputed_scaled",
            task,
            lambda estimator=estimator: [
                ("impute", SimpleImputer(strategy="median")),
                ("scale", pp.StandardScaler()),
                ("model", estimator()),
            ],
            f"SimpleImputer(median), StandardScaler, {name}",
            missing=0.08,
        )


def s(name: str, task: str, build: Callable[[], Any], text: str) -> None:
    case(f"statsmodels_{name}", "sklearn2pmml+statsmodels", task, NUMERIC, build, text)


def _statsmodels() -> None:
    def regressor(model: str, **kwargs: Any) -> Callable[[], Any]:
        def build() -> Any:
            import statsmodels.api as sm
            from sklearn2pmml.pipeline import PMMLPipeline
            from sklearn2pmml.statsmodels import StatsModelsRegressor

            args = {k: (v() if callable(v) else v) for k, v in kwargs.items()}
            return PMMLPipeline([("model", StatsModelsRegressor(getattr(sm, model), **args))])

        return build

    def classifier(model: str, **kwargs: Any) -> Callable[[], Any]:
        def build() -> Any:
            import statsmodels.api as sm
            from sklearn2pmml.pipeline import PMMLPipeline
            from sklearn2pmml.statsmodels import StatsModelsClassifier

            args = {k: (v() if callable(v) else v) for k, v in kwargs.items()}
            return PMMLPipeline([("model", StatsModelsClassifier(getattr(sm, model), **args))])

        return build

    import statsmodels.api as sm

    fam = sm.families
    s("ols", "regression", regressor("OLS"), "OLS")
    s(
        "ols_no_intercept",
        "regression",
        regressor("OLS", fit_intercept=False),
        "OLS without intercept",
    )
    s("wls", "regression", regressor("WLS"), "WLS")
    s("glm_gaussian", "regression", regressor("GLM", family=fam.Gaussian), "GLM(Gaussian)")
    s("glm_poisson", "count", regressor("GLM", family=fam.Poisson), "GLM(Poisson)")
    s(
        "glm_gamma_log",
        "positive",
        regressor("GLM", family=lambda: fam.Gamma(fam.links.Log())),
        "GLM(Gamma, log)",
    )
    s("glm_gamma", "positive", regressor("GLM", family=fam.Gamma), "GLM(Gamma, inverse)")
    s(
        "glm_invgauss",
        "positive",
        regressor("GLM", family=lambda: fam.InverseGaussian(fam.links.Log())),
        "GLM(InverseGaussian, log)",
    )
    s(
        "glm_tweedie",
        "positive",
        regressor("GLM", family=lambda: fam.Tweedie(var_power=1.5)),
        "GLM(Tweedie 1.5)",
    )
    s("poisson", "count", regressor("Poisson"), "discrete Poisson")
    s("glm_binomial", "binary", classifier("GLM", family=fam.Binomial), "GLM(Binomial)")
    s(
        "glm_binomial_probit",
        "binary",
        classifier("GLM", family=lambda: fam.Binomial(fam.links.Probit())),
        "GLM(Binomial, probit)",
    )
    s(
        "glm_binomial_cloglog",
        "binary",
        classifier("GLM", family=lambda: fam.Binomial(fam.links.CLogLog())),
        "GLM(Binomial, cloglog)",
    )
    s("logit", "binary", classifier("Logit"), "Logit")
    s("probit", "binary", classifier("Probit"), "Probit")
    s("mnlogit", "multiclass", classifier("MNLogit"), "MNLogit")


def register() -> None:
    _nyoka()
    _statsmodels()
