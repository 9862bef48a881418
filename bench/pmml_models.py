"""The extra models of ``bench/pmml.py``: an SVM, a k-NN and a GeneralRegression model.

The shared bench folder has none of these, so they are fitted here on rows of
``bench_input.csv`` (fixed seeds) and converted to PMML once, into ``bench/.cache/``:

* ``svc_rbf``: ``StandardScaler`` + ``SVC()`` (RBF kernel, one-against-one over three classes,
  483 support vectors) on a derived ``activity`` label, converted with sklearn2pmml.
* ``knn_2000``: ``StandardScaler`` + ``KNeighborsClassifier(n_neighbors=5)`` over 2,000
  training instances, same label, converted with sklearn2pmml.
* ``glm_poisson``: ``PoissonRegressor`` on a derived count. sklearn2pmml turns scikit-learn's
  GLMs into a ``RegressionModel``, so its ``GeneralRegressionModel`` (``generalizedLinear``,
  log link, Poisson distribution) is written here from the fitted coefficients.

sklearn2pmml 0.133 refuses pickles newer than scikit-learn 1.9.0, by the version a pickle
records; when the installed scikit-learn is a newer 1.9.x bugfix release, the pickle handed to
the converter records 1.9.0 (see :func:`_recorded_version`).
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

CACHE = Path(__file__).resolve().parent / ".cache"
COLUMNS = (
    "accelerationX",
    "accelerationY",
    "accelerationZ",
    "gyroX",
    "gyroY",
    "gyroZ",
    "temperature",
)
RECIPE = 1
"""Bumped whenever a model below changes, so that stale cache entries are rebuilt."""
CONVERTER_SKLEARN = "1.9.0"
"""The newest scikit-learn version the installed sklearn2pmml accepts."""


@dataclass(frozen=True)
class BenchModel:
    name: str
    pmml: Path
    sklearn_pickle: Path
    sklearn_method: str
    sklearn_features: tuple[str, ...]
    pmml_inputs: tuple[str, ...]
    source: str
    expected_first_1000: Path | None = None
    """JPMML's output for the first 1,000 rows, if stored (else computed in the run)."""


def extra_models(frame: np.ndarray, names: set[str] | None = None) -> list[BenchModel]:
    """The extra models (only ``names`` if given), built into the cache when missing.

    ``frame`` holds the rows of ``bench_input.csv`` in :data:`COLUMNS` order.
    """
    out = []
    for name, build in BUILDERS.items():
        if names is not None and name not in names:
            continue
        pmml = CACHE / f"{name}.r{RECIPE}.pmml"
        pickle = CACHE / f"{name}.r{RECIPE}.joblib"
        info = CACHE / f"{name}.r{RECIPE}.json"
        if not (pmml.exists() and pickle.exists() and info.exists()):
            CACHE.mkdir(exist_ok=True)
            meta = build(frame, pmml, pickle)
            info.write_text(json.dumps(meta, indent=2) + "\n")
        meta = json.loads(info.read_text())
        out.append(
            BenchModel(
                name,
                pmml,
                pickle,
                meta["sklearn_method"],
                COLUMNS,
                COLUMNS,
                meta["source"],
            )
        )
    return out


def _training_rows(frame: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return frame[rng.choice(frame.shape[0], n, replace=False)]


def _activity(x: np.ndarray, seed: int) -> np.ndarray:
    """A derived three-class label (idle / walk / run) from motion magnitudes, with noise."""
    rng = np.random.default_rng(seed)
    gyro = np.sqrt(x[:, 3] ** 2 + x[:, 4] ** 2 + x[:, 5] ** 2)
    accel = np.sqrt(x[:, 0] ** 2 + x[:, 1] ** 2 + (x[:, 2] - 9.81) ** 2)
    score = gyro + 0.3 * accel + rng.normal(0.0, 0.15, x.shape[0])
    return np.where(score < 0.5, "idle", np.where(score < 1.5, "walk", "run"))


def _frame(x: np.ndarray) -> Any:
    import pandas

    return pandas.DataFrame(x, columns=list(COLUMNS))


def _series(y: np.ndarray, name: str) -> Any:
    import pandas

    return pandas.Series(y, name=name)


def _svc(frame: np.ndarray, pmml: Path, pickle: Path) -> dict[str, Any]:
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn2pmml import PMMLPipeline

    x = _training_rows(frame, 1000, seed=21)
    pipeline = PMMLPipeline([("scaler", StandardScaler()), ("classifier", SVC())])
    pipeline.fit(_frame(x), _series(_activity(x, seed=22), "activity"))
    support = int(pipeline.steps[-1][1].n_support_.sum())
    _convert(pipeline, pmml, pickle)
    return {
        "sklearn_method": "predict",
        "source": f"sklearn2pmml from PMMLPipeline(StandardScaler(), SVC()) on 1,000 rows, "
        f"3 classes, {support} support vectors",
    }


def _knn(frame: np.ndarray, pmml: Path, pickle: Path) -> dict[str, Any]:
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import StandardScaler
    from sklearn2pmml import PMMLPipeline

    x = _training_rows(frame, 2000, seed=31)
    pipeline = PMMLPipeline(
        [("scaler", StandardScaler()), ("classifier", KNeighborsClassifier(n_neighbors=5))]
    )
    pipeline.fit(_frame(x), _series(_activity(x, seed=32), "activity"))
    _convert(pipeline, pmml, pickle)
    return {
        "sklearn_method": "predict",
        "source": "sklearn2pmml from PMMLPipeline(StandardScaler(), "
        "KNeighborsClassifier(n_neighbors=5)) on 2,000 instances, 3 classes",
    }


def _glm(frame: np.ndarray, pmml: Path, pickle: Path) -> dict[str, Any]:
    import joblib
    from sklearn.linear_model import PoissonRegressor

    x = _training_rows(frame, 5000, seed=41)
    rng = np.random.default_rng(42)
    gyro = np.sqrt(x[:, 3] ** 2 + x[:, 4] ** 2 + x[:, 5] ** 2)
    rate = np.exp(0.2 + 0.5 * gyro + 0.1 * np.abs(x[:, 0]) + 0.02 * (x[:, 6] - 38.0))
    y = rng.poisson(rate)
    model = PoissonRegressor(alpha=1e-4, max_iter=1000).fit(x, y)
    joblib.dump(model, pickle)
    pmml.write_text(_general_regression(model.intercept_, model.coef_, "events"))
    return {
        "sklearn_method": "predict",
        "source": "GeneralRegressionModel (generalizedLinear, log link, poisson) written from "
        "the coefficients of PoissonRegressor(alpha=1e-4) fitted on 5,000 rows",
    }


def _convert(pipeline: Any, pmml: Path, pickle: Path) -> None:
    import joblib
    from sklearn2pmml import sklearn2pmml

    joblib.dump(pipeline, pickle)
    with _recorded_version(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sklearn2pmml(pipeline, str(pmml))


@contextlib.contextmanager
def _recorded_version() -> Iterator[None]:
    """Make pickles record :data:`CONVERTER_SKLEARN` if scikit-learn is a newer 1.9.x."""
    import sklearn
    import sklearn.base

    installed = sklearn.__version__
    same_minor = installed.split(".")[:2] == CONVERTER_SKLEARN.split(".")[:2]
    if not same_minor:
        yield
        return
    sklearn.base.__version__ = CONVERTER_SKLEARN  # type: ignore[attr-defined]
    try:
        yield
    finally:
        sklearn.base.__version__ = installed  # type: ignore[attr-defined]


def _general_regression(intercept: float, coefficients: np.ndarray, target: str) -> str:
    """A PMML 4.4 GeneralRegressionModel for ``exp(intercept + coefficients . x)``."""
    fields = "\n".join(
        f'    <DataField name="{c}" optype="continuous" dataType="double"/>' for c in COLUMNS
    )
    mining = "\n".join(f'      <MiningField name="{c}"/>' for c in COLUMNS)
    parameters = ['      <Parameter name="p0" label="Intercept"/>']
    parameters += [
        f'      <Parameter name="p{j + 1}" label={quoteattr(c)}/>' for j, c in enumerate(COLUMNS)
    ]
    covariates = "\n".join(f'      <Predictor name="{c}"/>' for c in COLUMNS)
    cells = "\n".join(
        f'      <PPCell value="1" predictorName="{c}" parameterName="p{j + 1}"/>'
        for j, c in enumerate(COLUMNS)
    )
    betas = [float(intercept), *(float(b) for b in coefficients)]
    pcells = "\n".join(
        f'      <PCell parameterName="p{j}" beta="{b!r}" df="1"/>' for j, b in enumerate(betas)
    )
    newline = "\n"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
  <Header description="bench/pmml_models.py: PoissonRegressor as a GeneralRegressionModel"/>
  <DataDictionary numberOfFields="{len(COLUMNS) + 1}">
    <DataField name="{target}" optype="continuous" dataType="double"/>
{fields}
  </DataDictionary>
  <GeneralRegressionModel modelType="generalizedLinear" functionName="regression"
      linkFunction="log" distribution="poisson" targetVariableName="{target}">
    <MiningSchema>
      <MiningField name="{target}" usageType="target"/>
{mining}
    </MiningSchema>
    <ParameterList>
{newline.join(parameters)}
    </ParameterList>
    <CovariateList>
{covariates}
    </CovariateList>
    <PPMatrix>
{cells}
    </PPMatrix>
    <ParamMatrix>
{pcells}
    </ParamMatrix>
  </GeneralRegressionModel>
</PMML>
"""


BUILDERS = {"svc_rbf": _svc, "knn_2000": _knn, "glm_poisson": _glm}
