"""XGBoost and LightGBM through sklearn2pmml, and sklearn2pmml's chains: stacking, estimator
chains, multi-output estimators (several targets), select-first estimators, GBDT+LR."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from converter_corpus.cases import PREPARATIONS, case


def _pipe(
    preparation: str, estimator: Callable[[], Any]
) -> tuple[Callable[[], Any], tuple[str, ...], float]:
    make_features, columns, missing = PREPARATIONS[preparation]

    def build() -> Any:
        from sklearn2pmml.pipeline import PMMLPipeline

        return PMMLPipeline([("features", make_features()), ("estimator", estimator())])

    return build, columns, missing


def e(
    name: str,
    task: str,
    preparation: str,
    estimator: Callable[[], Any],
    text: str,
    missing: float | None = None,
    **cfg: Any,
) -> None:
    build, columns, default_missing = _pipe(preparation, estimator)
    case(
        f"s2p_{name}_{preparation}",
        "sklearn2pmml",
        task,
        columns,
        build,
        f"PMMLPipeline([{preparation} features, {text}])",
        default_missing if missing is None else missing,
        **cfg,
    )


def _xgboost() -> None:
    import xgboost as xgb

    common = {"n_estimators": 6, "max_depth": 3, "random_state": 1}
    e("xgbr", "regression", "num", lambda: xgb.XGBRegressor(**common), "XGBRegressor(6, depth 3)")
    e(
        "xgbr",
        "regression",
        "ordinal",
        lambda: xgb.XGBRegressor(**common),
        "XGBRegressor(6, depth 3)",
    )
    e(
        "xgbr_missing",
        "regression",
        "num",
        lambda: xgb.XGBRegressor(**common),
        "XGBRegressor(6, depth 3), NaN inputs",
        missing=0.08,
        allow_missing=True,
    )
    e(
        "xgbr_dart",
        "regression",
        "num",
        lambda: xgb.XGBRegressor(booster="dart", rate_drop=0.3, **common),
        "XGBRegressor(booster='dart', rate_drop=0.3): weightedSum",
    )
    e(
        "xgbr_poisson",
        "count",
        "num",
        lambda: xgb.XGBRegressor(objective="count:poisson", **common),
        "XGBRegressor(objective='count:poisson')",
    )
    e(
        "xgbr_gamma",
        "positive",
        "num",
        lambda: xgb.XGBRegressor(objective="reg:gamma", **common),
        "XGBRegressor(objective='reg:gamma')",
    )
    e(
        "xgbc_bin",
        "binary01",
        "num",
        lambda: xgb.XGBClassifier(**common),
        "XGBClassifier(6, depth 3)",
    )
    e(
        "xgbc_multi",
        "multicodes",
        "num",
        lambda: xgb.XGBClassifier(**common),
        "XGBClassifier(6, depth 3)",
    )
    e(
        "xgbc_bin_missing",
        "binary01",
        "num",
        lambda: xgb.XGBClassifier(**common),
        "XGBClassifier, NaN inputs",
        missing=0.08,
        allow_missing=True,
    )
    e(
        "xgbc_multi_dart",
        "multicodes",
        "num",
        lambda: xgb.XGBClassifier(booster="dart", rate_drop=0.3, **common),
        "XGBClassifier(booster='dart')",
    )
    e(
        "xgbrf",
        "regression",
        "num",
        lambda: xgb.XGBRFRegressor(n_estimators=5, max_depth=3, random_state=1),
        "XGBRFRegressor(5)",
    )
    e(
        "xgbr_linear",
        "regression",
        "num",
        lambda: xgb.XGBRegressor(booster="gblinear", n_estimators=20),
        "XGBRegressor(booster='gblinear')",
    )


def _more_boosting() -> None:
    import lightgbm as lgb
    import xgboost as xgb

    xgb_variants: dict[str, tuple[str, dict[str, Any], float]] = {
        "xgbr_depth1": ("regression", {"max_depth": 1, "n_estimators": 10}, 0.0),
        "xgbr_deep": ("regression", {"max_depth": 6, "n_estimators": 4}, 0.0),
        "xgbr_l1": ("regression", {"objective": "reg:absoluteerror", "n_estimators": 6}, 0.0),
        "xgbr_huber": ("regression", {"objective": "reg:pseudohubererror", "n_estimators": 6}, 0.0),
        "xgbr_tweedie": ("positive", {"objective": "reg:tweedie", "n_estimators": 6}, 0.0),
        "xgbr_logistic": ("binary01", {"objective": "reg:logistic", "n_estimators": 6}, 0.0),
        "xgbr_base_score": ("regression", {"base_score": 2.5, "n_estimators": 6}, 0.0),
        "xgbr_dart_missing": ("regression", {"booster": "dart", "rate_drop": 0.2}, 0.08),
        "xgbc_multi_missing": ("multicodes", {"n_estimators": 5}, 0.08),
        "xgbc_bin_logitraw": ("binary01", {"objective": "binary:logitraw", "n_estimators": 5}, 0.0),
        "xgbc_bin_dart": ("binary01", {"booster": "dart", "rate_drop": 0.3}, 0.0),
    }
    for name, (task, params, missing) in xgb_variants.items():
        merged = {"n_estimators": 6, "max_depth": 3, "random_state": 1, **params}
        make = xgb.XGBClassifier if name.startswith("xgbc") else xgb.XGBRegressor
        e(
            name,
            task,
            "num",
            lambda make=make, merged=merged: make(**merged),
            f"{make.__name__}({params})",
            missing=missing,
            allow_missing=True,
        )
    lgb_variants: dict[str, tuple[str, dict[str, Any], float]] = {
        "lgbmr_l1": ("regression", {"objective": "regression_l1"}, 0.0),
        "lgbmr_huber": ("regression", {"objective": "huber"}, 0.0),
        "lgbmr_gamma": ("positive", {"objective": "gamma"}, 0.0),
        "lgbmr_tweedie": ("positive", {"objective": "tweedie"}, 0.0),
        "lgbmr_dart": ("regression", {"boosting_type": "dart"}, 0.0),
        "lgbmr_deep": ("regression", {"num_leaves": 31, "n_estimators": 3}, 0.0),
        "lgbmc_multi_missing": ("multiclass", {}, 0.08),
        "lgbmc_bin_dart": ("binary", {"boosting_type": "dart"}, 0.0),
        "lgbmr_linear_tree_missing": ("regression", {"linear_tree": True}, 0.08),
    }
    for name, (task, params, missing) in lgb_variants.items():
        merged = {"n_estimators": 6, "num_leaves": 8, "random_state": 1, "verbose": -1, **params}
        make = lgb.LGBMClassifier if name.startswith("lgbmc") else lgb.LGBMRegressor
        e(
            name,
            task,
            "num",
            lambda make=make, merged=merged: make(**merged),
            f"{make.__name__}({params})",
            missing=missing,
        )


def _lightgbm() -> None:
    import lightgbm as lgb

    common = {"n_estimators": 6, "num_leaves": 8, "random_state": 1, "verbose": -1}
    e(
        "lgbmr",
        "regression",
        "num",
        lambda: lgb.LGBMRegressor(**common),
        "LGBMRegressor(6, 8 leaves)",
    )
    e(
        "lgbmr",
        "regression",
        "ordinal",
        lambda: lgb.LGBMRegressor(**common),
        "LGBMRegressor(6, 8 leaves)",
    )
    e(
        "lgbmr_missing",
        "regression",
        "num",
        lambda: lgb.LGBMRegressor(**common),
        "LGBMRegressor, NaN inputs",
        missing=0.08,
    )
    e(
        "lgbmr_linear_tree",
        "regression",
        "num",
        lambda: lgb.LGBMRegressor(linear_tree=True, **common),
        "LGBMRegressor(linear_tree=True): regression models in tree nodes",
    )
    e(
        "lgbmr_linear_tree",
        "regression",
        "ordinal",
        lambda: lgb.LGBMRegressor(linear_tree=True, **common),
        "LGBMRegressor(linear_tree=True)",
    )
    e(
        "lgbmr_poisson",
        "count",
        "num",
        lambda: lgb.LGBMRegressor(objective="poisson", **common),
        "LGBMRegressor(objective='poisson')",
    )
    e("lgbmc_bin", "binary", "num", lambda: lgb.LGBMClassifier(**common), "LGBMClassifier(6)")
    e("lgbmc_multi", "multiclass", "num", lambda: lgb.LGBMClassifier(**common), "LGBMClassifier(6)")
    e(
        "lgbmc_multi",
        "multiclass",
        "ordinal",
        lambda: lgb.LGBMClassifier(**common),
        "LGBMClassifier(6)",
    )
    e(
        "lgbmc_bin_missing",
        "binary",
        "num",
        lambda: lgb.LGBMClassifier(**common),
        "LGBMClassifier, NaN inputs",
        missing=0.08,
    )
    e(
        "lgbmc_bin_linear_tree",
        "binary",
        "num",
        lambda: lgb.LGBMClassifier(linear_tree=True, **common),
        "LGBMClassifier(linear_tree=True)",
    )
    e(
        "lgbmr_rf",
        "regression",
        "num",
        lambda: lgb.LGBMRegressor(
            boosting_type="rf", bagging_fraction=0.8, bagging_freq=1, **common
        ),
        "LGBMRegressor(boosting_type='rf')",
    )


def _chains() -> None:
    from sklearn import linear_model as lm
    from sklearn import multioutput, tree
    from sklearn.compose import TransformedTargetRegressor
    from sklearn2pmml.ensemble import (
        EstimatorChain,
        GBDTLRClassifier,
        SelectFirstClassifier,
        SelectFirstRegressor,
    )

    e(
        "multioutput_reg",
        "multiregression",
        "num",
        lambda: multioutput.MultiOutputRegressor(lm.Ridge()),
        "MultiOutputRegressor(Ridge) over two targets",
    )
    e(
        "multioutput_tree",
        "multiregression",
        "num",
        lambda: tree.DecisionTreeRegressor(max_depth=4, random_state=1),
        "DecisionTreeRegressor over two targets",
    )
    e(
        "regressor_chain",
        "multiregression",
        "num",
        lambda: multioutput.RegressorChain(lm.LinearRegression(), order=[0, 1]),
        "RegressorChain(LinearRegression)",
    )
    e(
        "multioutput_clf",
        "multiclassification",
        "num",
        lambda: multioutput.MultiOutputClassifier(lm.LogisticRegression(max_iter=500)),
        "MultiOutputClassifier(LogisticRegression) over two targets",
    )
    e(
        "classifier_chain",
        "multicodes2",
        "num",
        lambda: multioutput.ClassifierChain(lm.LogisticRegression(max_iter=500), order=[0, 1]),
        "ClassifierChain(LogisticRegression)",
    )
    e(
        "estimator_chain",
        "multiclassification",
        "num",
        lambda: EstimatorChain(
            [
                ("first", tree.DecisionTreeClassifier(max_depth=3, random_state=1), "True"),
                ("second", lm.LogisticRegression(max_iter=500), "X[0] > -5"),
            ],
            multioutput=True,
        ),
        "EstimatorChain([DecisionTreeClassifier, LogisticRegression], multioutput=True)",
    )
    e(
        "select_first_reg",
        "regression",
        "num",
        lambda: SelectFirstRegressor(
            [
                ("pos", lm.LinearRegression(), "X[0] > 0.5"),
                ("rest", tree.DecisionTreeRegressor(max_depth=3, random_state=1), "True"),
            ]
        ),
        "SelectFirstRegressor([LinearRegression if x1 > 0.5, DecisionTreeRegressor])",
    )
    e(
        "select_first_clf",
        "binary",
        "num",
        lambda: SelectFirstClassifier(
            [
                ("pos", lm.LogisticRegression(max_iter=500), "X[0] > 0.5"),
                ("rest", tree.DecisionTreeClassifier(max_depth=3, random_state=1), "True"),
            ]
        ),
        "SelectFirstClassifier([LogisticRegression if x1 > 0.5, DecisionTreeClassifier])",
    )
    e(
        "gbdt_lr",
        "binary",
        "num",
        lambda: GBDTLRClassifier(_gbc(), lm.LogisticRegression(max_iter=500)),
        "GBDTLRClassifier(GradientBoostingClassifier(4), LogisticRegression)",
    )
    e(
        "transformed_target",
        "positive",
        "num",
        lambda: TransformedTargetRegressor(
            regressor=lm.LinearRegression(), func=_log, inverse_func=_exp
        ),
        "TransformedTargetRegressor(LinearRegression, log/exp)",
    )


def _gbc() -> Any:
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=4, max_depth=2, random_state=1)


def _log(x: Any) -> Any:
    import numpy

    return numpy.log(x)


def _exp(x: Any) -> Any:
    import numpy

    return numpy.exp(x)


def register() -> None:
    _xgboost()
    _more_boosting()
    _lightgbm()
    _chains()
