from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

import tunelab
from tunelab import Categorical, FrozenTrial, TrialState


def draw(space: Mapping, rng: np.random.Generator) -> tuple[dict, dict]:
    """Uniform random parameters of a declarative space (following conditional branches)."""
    params, dists = {}, {}
    for name, node in space.items():
        dist = node if isinstance(node, tunelab.Distribution) else Categorical(list(node))
        params[name], dists[name] = dist.from_unit(rng.random()), dist
        if not isinstance(node, tunelab.Distribution) and node[params[name]]:
            sub_params, sub_dists = draw(node[params[name]], rng)
            params.update(sub_params)
            dists.update(sub_dists)
    return params, dists


@pytest.fixture(scope="module")
def study_of(tmp_path_factory):
    """A study of ``n`` uniform random trials of ``objective``, built once per module and key
    (one write per trial), so the evaluators compared on one function see the same trials."""
    built: dict[str, tunelab.Study] = {}
    folder = tmp_path_factory.mktemp("importance")

    def make(key, space, objective, n=150, directions=("minimize",), seed=0) -> tunelab.Study:
        if key not in built:
            study = tunelab.create_study(
                study_name=key, storage=f"sqlite:///{folder}/x.db", directions=list(directions)
            )
            rng = np.random.default_rng(seed)
            for _ in range(n):
                params, dists = draw(space, rng)
                value = objective(params)
                values = list(value) if isinstance(value, tuple) else [value]
                study.add_trial(
                    FrozenTrial(
                        number=-1,
                        state=TrialState.COMPLETE,
                        values=values,
                        params=params,
                        distributions=dists,
                    )
                )
            built[key] = study
        return built[key]

    return make
