"""The SearchData a binary accuracy search over a DataFrame gets, for tests of the search loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import get_scorer
from sklearn.model_selection import StratifiedKFold

from tunelab.automl._search import SearchData


def binary_search_data(X: pd.DataFrame, y: np.ndarray, n_splits: int = 5) -> SearchData:
    return SearchData(
        X=X,
        y=y,
        y_codes=y,
        classes=np.array([0, 1]),
        task="classification",
        scorer=get_scorer("accuracy"),
        splits=list(StratifiedKFold(n_splits, shuffle=True, random_state=0).split(X, y)),
        X_holdout=None,
        n_features=X.shape[1],
        random_state=0,
        n_jobs=None,
        refit_rows=len(y),
    )
