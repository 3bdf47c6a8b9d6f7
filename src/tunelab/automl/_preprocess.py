"""Column typing and the preprocessing half of every pipeline.

Input arrives as a numpy array or a pandas DataFrame with numeric and categorical columns and
missing values. The first pipeline step (:class:`ColumnTyper`) fixes each column's kind at fit
time and hands later steps a frame of float columns and string columns, so imputation, scaling
and encoding never meet pandas' many dtypes.
"""

from __future__ import annotations

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


def _is_numeric(series: Any) -> bool:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype):
        return False
    if pd.api.types.is_numeric_dtype(series.dtype):
        return True
    # An object column of numbers (a numpy object array) is numeric; one with words is not.
    converted = pd.to_numeric(series, errors="coerce")
    return bool(converted.notna().sum() == series.notna().sum())


class ColumnTyper(TransformerMixin, BaseEstimator):
    """Learns which columns are numeric and which categorical; emits float and str columns."""

    def fit(self, X: Any, y: Any = None) -> ColumnTyper:
        frame = to_frame(X)
        self.columns_ = list(frame.columns)
        self.numeric_ = [c for c in frame.columns if _is_numeric(frame[c])]
        self.categorical_ = [c for c in frame.columns if c not in set(self.numeric_)]
        return self

    def transform(self, X: Any) -> Any:
        import pandas as pd

        frame = to_frame(X)
        if list(frame.columns) != self.columns_:
            if frame.shape[1] != len(self.columns_):
                raise ValueError(
                    f"X has {frame.shape[1]} columns; the model was fitted on {len(self.columns_)}."
                )
            frame = frame.set_axis(self.columns_, axis=1)
        out = {}
        for c in self.numeric_:
            converted = pd.to_numeric(frame[c], errors="coerce")
            _warn_if_coerced(c, frame[c], converted)
            out[c] = converted.astype(float).to_numpy()
        for c in self.categorical_:
            col = frame[c]
            missing = col.isna().to_numpy()
            values = col.astype(object).to_numpy().astype(str).astype(object)
            values[missing] = MISSING
            out[c] = values
        return pd.DataFrame(out, index=frame.index, columns=self.numeric_ + self.categorical_)


def _warn_if_coerced(column: Any, given: Any, converted: Any) -> None:
    """Values of a column that was numeric at fit and are no numbers now become missing (and
    are imputed); a typo or a new format in new data would otherwise change predictions
    without a word."""
    lost = given.notna() & converted.isna()
    if lost.any():
        import warnings

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
