from tunelab.samplers import RandomSampler
from tunelab.testing import SamplerContract


class TestRandomSamplerContract(SamplerContract):
    def make_sampler(self, seed):
        return RandomSampler(seed=seed)
