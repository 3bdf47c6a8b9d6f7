import numpy as np
import pytest

import tunelab as tl
from tunelab.samplers import QMCSampler, RandomSampler
from tunelab.testing import SamplerContract


class TestQMCSamplerContract(SamplerContract):
    def make_sampler(self, seed):
        return QMCSampler(seed=seed)


def _points(sampler, n=64):
    study = tl.create_study(sampler=sampler)
    space = {"a": tl.Float(0, 1), "b": tl.Float(0, 1)}
    out = []
    for _ in range(n):
        t = study.ask(space)
        out.append([t.params["a"], t.params["b"]])
        study.tell(t, 0.0)
    return np.array(out)


def test_sobol_covers_the_square_more_evenly_than_random():
    from scipy.stats import qmc

    sobol = qmc.discrepancy(_points(QMCSampler(seed=0)))
    rand = np.median([qmc.discrepancy(_points(RandomSampler(seed=s))) for s in range(5)])
    assert sobol < rand / 2


def test_scramble_takes_a_bool_only():
    # Found by a QA pass: scramble="false" (a quoted flag) was taken as True.
    with pytest.raises(tl.InvalidParameterError, match="'scramble' parameter of QMCSampler"):
        QMCSampler(scramble="false")
    assert QMCSampler(scramble=np.bool_(False)).scramble is False
