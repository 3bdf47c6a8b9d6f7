from __future__ import annotations

import numpy as np
import pandas as pd

from tunelab.automl._preprocess import MISSING, ColumnTyper, make_preprocessor


def test_column_typer_splits_numeric_and_categorical() -> None:
    X = pd.DataFrame(
        {
            "num": [1.0, np.nan, 3.0],
            "obj_num": np.array([1, 2, None], dtype=object),
            "word": ["a", None, "b"],
            "flag": [True, False, True],
            "cat": pd.Categorical(["u", "v", "u"]),
        }
    )
    typer = ColumnTyper().fit(X)
    assert typer.numeric_ == ["num", "obj_num"]
    assert typer.categorical_ == ["word", "flag", "cat"]
    out = typer.transform(X)
    assert out["word"].tolist() == ["a", MISSING, "b"]
    assert np.isnan(out["obj_num"].iloc[2])


def test_numpy_input_gets_column_names_and_unseen_levels_pass() -> None:
    train = np.array([["a", 1.0], ["b", 2.0], ["a", np.nan]], dtype=object)
    typer = ColumnTyper().fit(train)
    assert typer.categorical_ == ["x0"] and typer.numeric_ == ["x1"]
    prep = make_preprocessor({"pre__encoding": "onehot"}, 0)
    prep.fit(typer.transform(train))
    unseen = typer.transform(np.array([["zzz", 5.0]], dtype=object))
    assert np.all(np.isfinite(prep.transform(unseen)))


def test_words_in_a_column_fitted_as_numbers_warn_and_become_missing() -> None:
    # Found by a QA pass: "oops" in a numeric column at predict became NaN without a word.
    import warnings

    import pytest

    typer = ColumnTyper().fit(pd.DataFrame({"a": ["1", "2.5", None]}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        typer.transform(pd.DataFrame({"a": ["3", None, "4"]}))  # missing values stay quiet
    with pytest.warns(UserWarning, match=r"Column 'a' held numbers.*2 value\(s\).*'oops', '1,5'"):
        out = typer.transform(pd.DataFrame({"a": ["oops", "1,5", "7"]}))
    assert np.isnan(out["a"].iloc[0]) and out["a"].iloc[2] == 7.0
