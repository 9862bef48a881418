"""Cases that exercise sklearn2pmml's transformers and decorations: scalers, encoders and
lookups (MapValues over InlineTable), date and date-time features, string functions, regular
expressions, text vectorizers (TextIndex) and expressions (Apply, if/else)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from converter_corpus.cases import case
from converter_corpus.data import CATEGORICAL, NUMERIC, SITES


def _pipeline(features: Callable[[], Any], estimator: Callable[[], Any]) -> Callable[[], Any]:
    def build() -> Any:
        from sklearn2pmml.pipeline import PMMLPipeline

        return PMMLPipeline([("features", features()), ("estimator", estimator())])

    return build


def _linreg() -> Any:
    from sklearn.linear_model import LinearRegression

    return LinearRegression()


def _tree() -> Any:
    from sklearn.tree import DecisionTreeRegressor

    return DecisionTreeRegressor(max_depth=4, random_state=1)


def _logreg() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=500)


ESTIMATORS: dict[str, tuple[str, Callable[[], Any]]] = {
    "linreg": ("regression", _linreg),
    "dtr": ("regression", _tree),
    "logreg": ("binary", _logreg),
}


def t(
    name: str,
    columns: tuple[str, ...],
    features: Callable[[], Any],
    text: str,
    estimators: tuple[str, ...] = ("linreg",),
    missing: float = 0.0,
) -> None:
    for key in estimators:
        task, estimator = ESTIMATORS[key]
        case(
            f"s2p_tf_{name}_{key}",
            "sklearn2pmml",
            task,
            columns,
            _pipeline(features, estimator),
            f"PMMLPipeline([{text}, {estimator.__name__.strip('_')}])",
            missing,
        )


def ct(*parts: tuple[str, Any, list[str]]) -> Any:
    from sklearn.compose import ColumnTransformer

    return ColumnTransformer(list(parts))


def mp(*steps: Any) -> Any:
    from sklearn.pipeline import make_pipeline

    return make_pipeline(*steps)


def _scalers() -> None:
    from sklearn import preprocessing as pp
    from sklearn2pmml.decoration import ContinuousDomain

    scalers: dict[str, Callable[[], Any]] = {
        "standard": pp.StandardScaler,
        "minmax": pp.MinMaxScaler,
        "maxabs": pp.MaxAbsScaler,
        "robust": pp.RobustScaler,
        "poly2": lambda: pp.PolynomialFeatures(degree=2),
        "kbins": lambda: pp.KBinsDiscretizer(
            n_bins=4,
            encode="onehot-dense",
            strategy="quantile",
            quantile_method="averaged_inverted_cdf",
        ),
        "binarizer": lambda: pp.Binarizer(threshold=0.2),
        "power_yj": lambda: pp.PowerTransformer(method="yeo-johnson", standardize=True),
        "spline": lambda: pp.SplineTransformer(n_knots=4, degree=2),
    }
    for name, make in scalers.items():
        t(
            name,
            NUMERIC,
            lambda make=make: mp(ContinuousDomain(invalid_value_treatment="as_is"), make()),
            f"ContinuousDomain(), {name}",
            ("linreg", "logreg"),
        )


def _imputers() -> None:
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.pipeline import make_union
    from sklearn2pmml.decoration import ContinuousDomain

    for strategy in ("mean", "median", "most_frequent", "constant"):
        t(
            f"impute_{strategy}",
            NUMERIC,
            lambda strategy=strategy: mp(
                ContinuousDomain(invalid_value_treatment="as_is"), SimpleImputer(strategy=strategy)
            ),
            f"SimpleImputer(strategy={strategy!r})",
            ("linreg",),
            missing=0.08,
        )
    t(
        "impute_indicator",
        NUMERIC,
        lambda: mp(
            ContinuousDomain(invalid_value_treatment="as_is"),
            make_union(SimpleImputer(strategy="mean"), MissingIndicator()),
        ),
        "SimpleImputer + MissingIndicator",
        ("linreg",),
        missing=0.08,
    )
    t(
        "domain_missing_replacement",
        NUMERIC,
        lambda: ContinuousDomain(missing_value_replacement=0.5, invalid_value_treatment="as_is"),
        "ContinuousDomain(missing_value_replacement=0.5)",
        ("linreg", "dtr"),
        missing=0.08,
    )


def _encoders() -> None:
    from sklearn import preprocessing as pp
    from sklearn2pmml.decoration import CategoricalDomain, ContinuousDomain
    from sklearn2pmml.preprocessing import (
        LookupTransformer,
        MultiLookupTransformer,
        PMMLLabelBinarizer,
        PMMLLabelEncoder,
    )

    num = ("num", ContinuousDomain(invalid_value_treatment="as_is"), ["x1", "x2"])
    columns = ("x1", "x2", *CATEGORICAL)

    def with_cat(make: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: ct(
            num,
            (
                "cat",
                mp(CategoricalDomain(invalid_value_treatment="as_is"), make()),
                list(CATEGORICAL),
            ),
        )

    t(
        "onehot_drop_first",
        columns,
        with_cat(lambda: pp.OneHotEncoder(drop="first")),
        "OneHotEncoder(drop='first')",
        ("linreg", "logreg"),
    )
    t(
        "onehot_ignore",
        columns,
        with_cat(lambda: pp.OneHotEncoder(handle_unknown="ignore")),
        "OneHotEncoder(handle_unknown='ignore')",
        ("linreg", "dtr"),
    )
    t(
        "ordinal",
        columns,
        with_cat(pp.OrdinalEncoder),
        "OrdinalEncoder()",
        ("linreg", "dtr", "logreg"),
    )
    t(
        "target_encoder",
        columns,
        with_cat(lambda: pp.TargetEncoder(random_state=1)),
        "TargetEncoder()",
        ("linreg",),
    )
    t(
        "label_encoder",
        columns,
        lambda: ct(
            num,
            (
                "mode",
                mp(CategoricalDomain(invalid_value_treatment="as_is"), PMMLLabelEncoder()),
                ["mode"],
            ),
            (
                "site",
                mp(CategoricalDomain(invalid_value_treatment="as_is"), PMMLLabelBinarizer()),
                ["site"],
            ),
        ),
        "PMMLLabelEncoder(mode), PMMLLabelBinarizer(site)",
        ("linreg", "dtr", "logreg"),
    )
    mapping = {site: i * i for i, site in enumerate(SITES)}
    t(
        "lookup",
        columns,
        lambda: ct(
            num,
            (
                "site",
                mp(
                    CategoricalDomain(invalid_value_treatment="as_is"),
                    LookupTransformer(mapping, default_value=-1),
                ),
                ["site"],
            ),
        ),
        "LookupTransformer(site -> number)",
        ("linreg", "dtr", "logreg"),
    )
    pairs = {
        "mode": ["idle", "idle", "walk", "walk", "run", "run"],
        "site": ["north", "south", "north", "south", "north", "south"],
        "value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    }
    t(
        "multi_lookup",
        columns,
        lambda: ct(
            num,
            (
                "pair",
                mp(
                    CategoricalDomain(invalid_value_treatment="as_is"),
                    MultiLookupTransformer(pairs_mapping(pairs), default_value=0.0),
                ),
                ["mode", "site"],
            ),
        ),
        "MultiLookupTransformer((mode, site) -> number)",
        ("linreg", "dtr"),
    )


def pairs_mapping(pairs: dict[str, list[Any]]) -> dict[tuple[str, str], float]:
    return {(m, s): v for m, s, v in zip(pairs["mode"], pairs["site"], pairs["value"], strict=True)}


def _dates() -> None:
    from sklearn2pmml.decoration import ContinuousDomain, DateDomain, DateTimeDomain
    from sklearn2pmml.preprocessing import (
        DaysSinceYearTransformer,
        ExpressionTransformer,
        SecondsSinceMidnightTransformer,
        SecondsSinceYearTransformer,
    )

    x1 = ("x1", ContinuousDomain(invalid_value_treatment="as_is"), ["x1"])
    for year in (1960, 2000, 2020):
        t(
            f"days_since_{year}",
            ("day", "x1"),
            lambda year=year: ct(
                x1,
                (
                    "day",
                    mp(
                        DateDomain(invalid_value_treatment="as_is"),
                        DaysSinceYearTransformer(year=year),
                    ),
                    ["day"],
                ),
            ),
            f"DateDomain(), DaysSinceYearTransformer(year={year})",
            ("linreg", "dtr", "logreg"),
        )
    for year in (1970, 2020):
        t(
            f"seconds_since_{year}",
            ("stamp", "x1"),
            lambda year=year: ct(
                x1,
                (
                    "stamp",
                    mp(
                        DateTimeDomain(invalid_value_treatment="as_is"),
                        SecondsSinceYearTransformer(year=year),
                    ),
                    ["stamp"],
                ),
            ),
            f"DateTimeDomain(), SecondsSinceYearTransformer(year={year})",
            ("linreg", "dtr"),
        )
    t(
        "seconds_since_midnight",
        ("stamp", "x1"),
        lambda: ct(
            x1,
            (
                "stamp",
                mp(
                    DateTimeDomain(invalid_value_treatment="as_is"),
                    SecondsSinceMidnightTransformer(),
                ),
                ["stamp"],
            ),
        ),
        "DateTimeDomain(), SecondsSinceMidnightTransformer()",
        ("linreg", "dtr", "logreg"),
    )
    t(
        "duration_days",
        ("day", "x1"),
        lambda: ct(
            x1,
            (
                "day",
                mp(
                    DateDomain(invalid_value_treatment="as_is"),
                    DaysSinceYearTransformer(year=2021),
                    ExpressionTransformer("X[0] / 7.0"),
                ),
                ["day"],
            ),
        ),
        "DateDomain(), DaysSinceYearTransformer(year=2021), weeks",
        ("linreg",),
    )
    t(
        "date_and_stamp",
        ("day", "stamp", "x1"),
        lambda: ct(
            x1,
            (
                "day",
                mp(
                    DateDomain(invalid_value_treatment="as_is"), DaysSinceYearTransformer(year=2000)
                ),
                ["day"],
            ),
            (
                "stamp",
                mp(
                    DateTimeDomain(invalid_value_treatment="as_is"),
                    SecondsSinceYearTransformer(year=2021),
                ),
                ["stamp"],
            ),
        ),
        "days since 2000 and seconds since 2021",
        ("linreg", "dtr", "logreg"),
    )


def _strings() -> None:
    from sklearn.preprocessing import OneHotEncoder
    from sklearn2pmml.decoration import CategoricalDomain, ContinuousDomain
    from sklearn2pmml.preprocessing import (
        ExpressionTransformer,
        MatchesTransformer,
        ReplaceTransformer,
        StringLengthTransformer,
        StringNormalizer,
        SubstringTransformer,
        WordCountTransformer,
    )

    num = ("num", ContinuousDomain(invalid_value_treatment="as_is"), list(NUMERIC[:2]))
    columns = (*NUMERIC[:2], "site", "note")
    string_parts: dict[str, tuple[Callable[[], Any], str, str]] = {
        "normalize_upper": (
            lambda: mp(
                CategoricalDomain(invalid_value_treatment="as_is"),
                StringNormalizer(function="uppercase"),
                OneHotEncoder(),
            ),
            "site",
            "StringNormalizer(uppercase), OneHotEncoder",
        ),
        "substring": (
            lambda: mp(
                CategoricalDomain(invalid_value_treatment="as_is"),
                SubstringTransformer(0, 2),
                OneHotEncoder(),
            ),
            "site",
            "SubstringTransformer(0, 2), OneHotEncoder",
        ),
        "string_length": (
            lambda: mp(
                CategoricalDomain(invalid_value_treatment="as_is"), StringLengthTransformer()
            ),
            "note",
            "StringLengthTransformer(note)",
        ),
        "word_count": (
            lambda: mp(CategoricalDomain(invalid_value_treatment="as_is"), WordCountTransformer()),
            "note",
            "WordCountTransformer(note)",
        ),
        "matches": (
            lambda: mp(
                CategoricalDomain(invalid_value_treatment="as_is"),
                MatchesTransformer("(leak|heat)"),
            ),
            "note",
            "MatchesTransformer('(leak|heat)')",
        ),
        "replace": (
            lambda: mp(
                CategoricalDomain(invalid_value_treatment="as_is"),
                ReplaceTransformer("[aeiou]", ""),
            ),
            "site",
            "ReplaceTransformer('[aeiou]', ''), then one-hot",
        ),
        "expression_string": (
            lambda: mp(
                CategoricalDomain(invalid_value_treatment="as_is"),
                ExpressionTransformer("1.0 if X[0].startswith('no') else 0.5"),
            ),
            "site",
            "ExpressionTransformer(startswith)",
        ),
    }
    for name, (make, column, text) in string_parts.items():
        if name == "replace":
            features = lambda make=make, column=column: ct(  # noqa: E731
                num, (column, mp(make(), OneHotEncoder()), [column])
            )
        else:
            features = lambda make=make, column=column: ct(num, (column, make(), [column]))  # noqa: E731
        t(name, columns, features, text, ("linreg", "dtr"))


def _expressions() -> None:
    from sklearn2pmml.decoration import ContinuousDomain
    from sklearn2pmml.preprocessing import ExpressionTransformer

    expressions = {
        "arith": "X[0] * X[1] + X[2] / (1.0 + X[3] * X[3])",
        "numpy": (
            "numpy.exp(X[0] / 2.0) + numpy.log1p(numpy.abs(X[1])) - numpy.sqrt(numpy.abs(X[2]))"
        ),
        "if_else": "X[0] if X[0] > X[1] else X[1] - 1.0",
        "if_int_float": "1 if X[0] > 0 else 0.5",
        "nested_if": "(2.0 if X[2] > 0.5 else 1.0) if X[0] > 0 else -1.0",
        "minmax": "max(X[0], X[1], X[2]) - min(X[2], X[3])",
        "pow_floor": "numpy.floor(X[0] * 3.0) + X[1] ** 2",
    }
    for name, text in expressions.items():
        t(
            f"expr_{name}",
            NUMERIC,
            lambda text=text: ct(
                ("num", ContinuousDomain(invalid_value_treatment="as_is"), list(NUMERIC)),
                ("expr", ExpressionTransformer(text), list(NUMERIC)),
            ),
            f"ExpressionTransformer({text!r})",
            ("linreg", "dtr", "logreg"),
        )
    t(
        "expr_missing",
        NUMERIC,
        lambda: ct(
            ("num", ContinuousDomain(missing_value_replacement=0.0), list(NUMERIC)),
            (
                "expr",
                mp(
                    ContinuousDomain(invalid_value_treatment="as_is"),
                    ExpressionTransformer("-1.0 if pandas.isnull(X[0]) else X[0]"),
                ),
                ["x1"],
            ),
        ),
        "ExpressionTransformer(isnull)",
        ("linreg",),
        missing=0.1,
    )


def _text() -> None:
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn2pmml.decoration import ContinuousDomain
    from sklearn2pmml.feature_extraction.text import Splitter

    for name, make in {
        "count": lambda: CountVectorizer(tokenizer=Splitter(), token_pattern=None, lowercase=False),
        "count_binary": lambda: CountVectorizer(
            tokenizer=Splitter(), token_pattern=None, binary=True, lowercase=False
        ),
        "tfidf": lambda: TfidfVectorizer(
            tokenizer=Splitter(), token_pattern=None, norm=None, lowercase=False
        ),
        "tfidf_sublinear": lambda: TfidfVectorizer(
            tokenizer=Splitter(), token_pattern=None, norm=None, sublinear_tf=True, lowercase=False
        ),
        "count_bigrams": lambda: CountVectorizer(
            tokenizer=Splitter(), token_pattern=None, ngram_range=(1, 2), lowercase=False
        ),
        "count_lowercase": lambda: CountVectorizer(
            tokenizer=Splitter(), token_pattern=None, lowercase=True
        ),
    }.items():
        t(
            f"text_{name}",
            ("x1", "note"),
            lambda make=make: ct(
                ("x1", ContinuousDomain(invalid_value_treatment="as_is"), ["x1"]),
                ("note", make(), "note"),
            ),
            f"{name} vectorizer (Splitter) of note",
            ("linreg", "dtr", "logreg"),
        )


def _selection() -> None:
    from sklearn.decomposition import PCA
    from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_regression
    from sklearn2pmml.decoration import ContinuousDomain

    t(
        "pca",
        NUMERIC,
        lambda: mp(ContinuousDomain(invalid_value_treatment="as_is"), PCA(n_components=3)),
        "PCA(3)",
        ("linreg", "logreg"),
    )
    t(
        "pca_whiten",
        NUMERIC,
        lambda: mp(
            ContinuousDomain(invalid_value_treatment="as_is"), PCA(n_components=2, whiten=True)
        ),
        "PCA(2, whiten=True)",
        ("linreg",),
    )
    t(
        "select_kbest",
        NUMERIC,
        lambda: mp(
            ContinuousDomain(invalid_value_treatment="as_is"), SelectKBest(f_regression, k=2)
        ),
        "SelectKBest(k=2)",
        ("linreg", "dtr"),
    )
    t(
        "variance_threshold",
        NUMERIC,
        lambda: mp(ContinuousDomain(invalid_value_treatment="as_is"), VarianceThreshold(0.5)),
        "VarianceThreshold(0.5)",
        ("linreg",),
    )


def register() -> None:
    _scalers()
    _imputers()
    _encoders()
    _dates()
    _strings()
    _expressions()
    _text()
    _selection()
