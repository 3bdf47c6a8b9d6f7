"""Contract test suites that every storage and sampler must pass (pytest classes).

Subclass them in your tests and provide the fixture::

    from tunelab.testing import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self):
            return MyStorage(...)
"""

from ._samplers import SamplerContract as SamplerContract
from ._storages import StorageContract as StorageContract

__all__ = ["SamplerContract", "StorageContract"]
