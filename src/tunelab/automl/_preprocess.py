"""Column typing and the preprocessing half of every pipeline.

Input arrives as a numpy array or a pandas DataFrame with numeric and categorical columns and
missing values. The first pipeline step (:class:`ColumnTyper`) fixes each column's kind at fit
time and hands later steps a frame of float columns and string columns, so imputation, scaling
and encoding never meet pandas' many dtypes.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

MISSING = "__missing__"


def to_frame(X: Any) -> Any:
    """X as a DataFrame (numpy arrays get columns x0, x1, ...)."""
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


def _kind(series: Any) -> str:
    """``numeric``, ``datetime`` (also timedeltas) or ``categorical``, for one column."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    # Python booleans in an object column (booleans with missing values) are categories, though
    # pd.to_numeric would read them as 1 and 0.
    if dtype.kind == "O":
        present = series.dropna()
        if (
            len(present)
            and isinstance(present.iloc[0], (bool, np.bool_))
            and all(isinstance(v, (bool, np.bool_)) for v in present)
        ):
            return "categorical"
    # An object column of numbers (a numpy object array) is numeric; one with words is not.
    converted = pd.to_numeric(series, errors="coerce")
    return "numeric" if bool(converted.notna().sum() == series.notna().sum()) else "categorical"


def _is_numeric(series: Any) -> bool:
    return _kind(series) == "numeric"


def _seconds(col: Any) -> np.ndarray:
    """A datetime (or timedelta) column as float seconds since the epoch, whatever its unit or
    time zone; NaT becomes NaN (imputed later). Text is parsed; what does not parse is NaN."""
    import pandas as pd

    if pd.api.types.is_timedelta64_dtype(col.dtype):
        return (col / pd.Timedelta(seconds=1)).astype(float).to_numpy()
    if not pd.api.types.is_datetime64_any_dtype(col.dtype):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            col = pd.to_datetime(col, errors="coerce", utc=True)
    if getattr(col.dt, "tz", None) is not None:
        col = col.dt.tz_convert("UTC").dt.tz_localize(None)
    return ((col - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).astype(float).to_numpy()


def _level(value: Any) -> str:
    # A whole float is written as an int: a CSV column of "1", "2", "3" that pandas reads as
    # floats in new data (no text in it any more) must give the levels seen in training.
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _categories(col: Any) -> np.ndarray:
    import pandas as pd

    missing = col.isna().to_numpy()
    raw = col.astype(object).to_numpy()
    if isinstance(col.dtype, pd.StringDtype) or col.dtype.kind in "iub":
        values = raw.astype(str).astype(object)  # no float to rewrite
    else:  # object, float or categorical columns may hold whole floats
        values = np.array([_level(v) for v in raw], dtype=object)
    values[missing] = MISSING
    return values


class ColumnTyper(TransformerMixin, BaseEstimator):
    """Learns which columns are numeric and which categorical; emits float and str columns.

    Columns are read by position and the output columns get string names of their own, so
    integer or mixed column labels (``read_csv(header=None)``, ``df[[3, 4, 5]]``) are never
    taken for positions by the steps that follow. Datetime and timedelta columns become float
    seconds (since the epoch), with NaT missing."""

    def fit(self, X: Any, y: Any = None) -> ColumnTyper:
        frame = to_frame(X)
        self.columns_ = list(frame.columns)
        self.kinds_ = [_kind(frame.iloc[:, i]) for i in range(frame.shape[1])]
        self.numeric_ = [c for c, k in zip(self.columns_, self.kinds_) if k != "categorical"]
        self.categorical_ = [c for c, k in zip(self.columns_, self.kinds_) if k == "categorical"]
        self.datetime_ = [c for c, k in zip(self.columns_, self.kinds_) if k == "datetime"]
        self.names_ = _unique_names(self.columns_)
        return self

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A typer pickled before kinds_ and names_ existed (2026-11-29) read columns by label.
        super().__setstate__(state)
        if "columns_" in state and "kinds_" not in state:
            numeric = set(map(str, state["numeric_"]))
            self.kinds_ = [
                "numeric" if str(c) in numeric else "categorical" for c in state["columns_"]
            ]
            self.datetime_ = []
            self.names_ = _unique_names(state["columns_"])

    def transform(self, X: Any) -> Any:
        import pandas as pd

        frame = to_frame(X)
        if frame.shape[1] != len(self.columns_):
            raise ValueError(
                f"X has {frame.shape[1]} columns; the model was fitted on {len(self.columns_)}."
            )
        out: dict[str, Any] = {}
        order = [i for i, k in enumerate(self.kinds_) if k != "categorical"] + [
            i for i, k in enumerate(self.kinds_) if k == "categorical"
        ]
        for i in order:
            col, kind, label = frame.iloc[:, i], self.kinds_[i], self.columns_[i]
            if kind == "datetime":
                out[self.names_[i]] = _seconds(col)
            elif kind == "numeric":
                converted = pd.to_numeric(col, errors="coerce")
                _warn_if_coerced(label, col, converted)
                out[self.names_[i]] = converted.astype(float).to_numpy()
            else:
                out[self.names_[i]] = _categories(col)
        return pd.DataFrame(out, index=frame.index, columns=[self.names_[i] for i in order])


def _unique_names(columns: list[Any]) -> list[str]:
    """String names for the output columns: the label as text, made unique by position."""
    names = [str(c) for c in columns]
    if len(set(names)) == len(names):
        return names
    return [f"{name}__{i}" for i, name in enumerate(names)]


def _warn_if_coerced(column: Any, given: Any, converted: Any) -> None:
    """Values of a column that was numeric at fit and are no numbers now become missing (and
    are imputed); a typo or a new format in new data would otherwise change predictions
    without a word."""
    lost = given.notna() & converted.isna()
    if lost.any():
        examples = ", ".join(repr(v) for v in given[lost].unique()[:3])
        warnings.warn(
            f"Column {column!r} held numbers when the model was fitted; {int(lost.sum())} "
            f"value(s) here are not numbers ({examples}) and are treated as missing.",
            UserWarning,
            stacklevel=4,
        )


def make_preprocessor(params: dict[str, Any], random_state: int | None) -> Any:
    """The ColumnTransformer that imputes, scales and encodes, as ``params`` chose.

    Columns are picked by dtype, which :class:`ColumnTyper` fixed: float is numeric, object is
    categorical. An empty selection is skipped by scikit-learn, so one builder fits all data."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import (
        OneHotEncoder,
        OrdinalEncoder,
        QuantileTransformer,
        RobustScaler,
        StandardScaler,
    )

    steps: list[Any] = [
        SimpleImputer(
            strategy=params.get("pre__impute", "median"),
            add_indicator=True,
            keep_empty_features=True,
        )
    ]
    scaler = params.get("pre__scaler", "standard")
    if scaler == "standard":
        steps.append(StandardScaler())
    elif scaler == "robust":
        steps.append(RobustScaler())
    elif scaler == "quantile":
        steps.append(
            QuantileTransformer(
                output_distribution="normal", n_quantiles=100, random_state=random_state
            )
        )
    if params.get("pre__encoding", "onehot") == "onehot":
        # Rare levels pool into one column so wide categoricals do not explode the matrix.
        encoder: Any = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=5,
            max_categories=32,
            sparse_output=False,
        )
    else:
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    return ColumnTransformer(
        [
            ("num", make_pipeline(*steps), make_column_selector(dtype_include=np.number)),
            ("cat", encoder, make_column_selector(dtype_exclude=np.number)),
        ],
        remainder="drop",
        sparse_threshold=0.0,
    )
