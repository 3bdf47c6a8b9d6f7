import pytest

import tunelab as tl
from tunelab.exceptions import InvalidParameterError
from tunelab.samplers import GridSampler
from tunelab.samplers._registry import SAMPLER_NAMES, sampler_from_name

SPACE = {"x": tl.Float(0.0, 1.0, step=0.25), "kind": tl.Categorical(["a", "b"])}


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_every_listed_name_makes_a_sampler(name):
    # Found by a QA pass: "grid" was listed for job files but unknown here.
    sampler = sampler_from_name(name, 0, space=SPACE)
    assert sampler is not None or name == "auto"


def test_grid_enumerates_the_space():
    sampler = sampler_from_name("grid", 0, space=SPACE)
    assert isinstance(sampler, GridSampler) and sampler.n_points == 10
    study = tl.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0, step=0.25), n_trials=50)
    assert len(study.trials) == 10


def test_grid_without_a_space_is_refused():
    with pytest.raises(InvalidParameterError, match="'grid' sampler enumerates a search space"):
        sampler_from_name("grid", 0)


def test_unknown_name_lists_the_names():
    with pytest.raises(InvalidParameterError, match="use one of auto, random, qmc, grid"):
        sampler_from_name("best")
