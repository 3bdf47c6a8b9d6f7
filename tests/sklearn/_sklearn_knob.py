"""Estimators whose cross-validation scores are known in advance."""

from __future__ import annotations

import zlib

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin


class Knob(RegressorMixin, BaseEstimator):
    """Scores ``q`` plus a fold effect shared by every configuration plus per-config jitter.

    The fold effect (the mean of the test rows' first feature) is what makes fold scores
    paired, as in real cross-validation; ``q`` is the true quality of a configuration.
    """

    def __init__(self, q: float = 0.0, jitter: float = 0.0, fail_below: float | None = None):
        self.q = q
        self.jitter = jitter
        self.fail_below = fail_below

    def fit(self, X, y=None):
        if self.fail_below is not None and self.q < self.fail_below:
            raise ValueError(f"q={self.q} is below {self.fail_below}")
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y=None, sample_weight=None):
        X = np.asarray(X)
        fold_effect = float(X[:, 0].mean())
        key = f"{self.q:.9f}|{fold_effect:.9f}".encode()
        noise = np.random.default_rng(zlib.crc32(key)).normal()
        return self.q + fold_effect + self.jitter * noise


def knob_data(n: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)), rng.normal(size=n)


class Table(ClassifierMixin, BaseEstimator):
    """A classifier whose right and wrong rows are given: configuration ``cfg`` predicts row
    ``i`` right exactly when ``table[cfg, i]``. Rows come from :func:`table_data` (the row
    number and the true label as features), so every fold score is known in advance."""

    def __init__(self, table=None, cfg: int = 0):
        self.table = table
        self.cfg = cfg

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        X = np.asarray(X)
        rows, truth = X[:, 0].astype(int), X[:, 1].astype(int)
        right = np.asarray(self.table, bool)[self.cfg, rows]
        return self.classes_[np.where(right, truth, 1 - truth)]


def table_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % 2
    return np.column_stack([np.arange(n), y]).astype(float), y


def table_rows(fold_size: int, right_per_fold: list[int]) -> np.ndarray:
    """One configuration's row of a :class:`Table` for unshuffled ``KFold``: the first
    ``right_per_fold[k]`` rows of fold ``k`` right, the others wrong."""
    row = np.zeros(fold_size * len(right_per_fold), bool)
    for k, right in enumerate(right_per_fold):
        row[k * fold_size : k * fold_size + right] = True
    return row
