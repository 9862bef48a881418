"""Fitting a case and converting it to PMML with its converter."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy

from converter_corpus.cases import Case
from converter_corpus.data import Rows

CONVERTER_SKLEARN = "1.9.0"
"""The newest scikit-learn the installed sklearn2pmml accepts (see bench/pmml_models.py)."""


@contextlib.contextmanager
def recorded_version() -> Iterator[None]:
    """Make pickles record :data:`CONVERTER_SKLEARN` when scikit-learn is a newer 1.9.x."""
    import sklearn
    import sklearn.base

    installed = sklearn.__version__
    if installed.split(".")[:2] != CONVERTER_SKLEARN.split(".")[:2]:
        yield
        return
    sklearn.base.__version__ = CONVERTER_SKLEARN  # type: ignore[attr-defined]
    try:
        yield
    finally:
        sklearn.base.__version__ = installed  # type: ignore[attr-defined]


def scikit_learn_19_compatibility() -> None:
    """Two mismatches of sklearn2pmml 0.133's Python side with scikit-learn 1.9 (the PMML is
    unaffected): its stateless transformers do not all say they are fitted, which Pipeline
    checks before ``transform``, and several return 1-D arrays or Series, which
    ColumnTransformer and the encoders after them refuse."""
    from sklearn.base import TransformerMixin
    from sklearn2pmml import preprocessing

    for name in dir(preprocessing):
        cls = getattr(preprocessing, name)
        if not isinstance(cls, type) or not issubclass(cls, TransformerMixin):
            continue
        if cls.__module__.split(".")[0] != "sklearn2pmml":
            continue
        if "__sklearn_is_fitted__" not in vars(cls):
            cls.__sklearn_is_fitted__ = lambda self: True
        for method in ("transform", "fit_transform"):
            found = getattr(cls, method, None)
            if found is not None and not getattr(found, "two_dimensional", False):
                setattr(cls, method, _two_dimensional(found))


def _two_dimensional(transform: Any) -> Any:
    def wrapped(self: Any, x: Any, *args: Any, **kwargs: Any) -> Any:
        out = transform(self, x, *args, **kwargs)
        if getattr(out, "ndim", 2) == 1:
            return numpy.asarray(out).reshape((-1, 1))
        return out

    wrapped.two_dimensional = True  # type: ignore[attr-defined]
    return wrapped


def fit(case: Case, train: Rows) -> Any:
    """The case's estimator fitted on ``train``."""
    scikit_learn_19_compatibility()
    estimator = case.build()
    x = train.features(case.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case.task in ("clustering", "anomaly"):
            estimator.fit(x)
        else:
            estimator.fit(x, train.target(case.task))
    return estimator


def convert(case: Case, estimator: Any, path: Path) -> None:
    """Write the PMML of the fitted ``estimator`` to ``path``."""
    if case.converter == "nyoka":
        _nyoka(case, estimator, path)
        return
    from sklearn2pmml import sklearn2pmml

    if case.configure:
        estimator.configure(**case.configure)
    with recorded_version(), warnings.catch_warnings(), java_output() as output:
        warnings.simplefilter("ignore")
        try:
            sklearn2pmml(estimator, str(path))
        except Exception as exc:
            raise RuntimeError(_java_reason(output.read_text(errors="replace"))) from exc


@contextlib.contextmanager
def java_output() -> Iterator[Path]:
    """Send what the converter's Java process prints (file descriptors 1 and 2) to a file."""
    with tempfile.NamedTemporaryFile("w+b", suffix=".log") as handle:
        saved = [os.dup(1), os.dup(2)]
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        try:
            yield Path(handle.name)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _java_reason(text: str) -> str:
    """The exception line of a Java stack trace, else the last line printed."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if "Exception:" in line and not line.startswith("at "):
            return line[:300]
    return lines[-1][:300] if lines else "no reason printed"


def _nyoka(case: Case, estimator: Any, path: Path) -> None:
    from nyoka import lgb_to_pmml, skl_to_pmml, xgboost_to_pmml

    final = type(estimator.steps[-1][1]).__module__
    export = skl_to_pmml
    if final.startswith("xgboost"):
        export = xgboost_to_pmml
    elif final.startswith("lightgbm"):
        export = lgb_to_pmml
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        target = "y" if case.task not in ("clustering", "anomaly") else None
        export(estimator, list(case.columns), target, str(path))


def converter_version(case: Case) -> str:
    from importlib.metadata import version

    if case.converter == "nyoka":
        return f"nyoka {version('nyoka')}"
    return f"sklearn2pmml {version('sklearn2pmml')}"


def library_versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("scikit-learn", "xgboost", "lightgbm", "statsmodels", "numpy", "pandas")
    return {name: version(name) for name in names}
