import pytest

from tunelab.storage import InMemoryStorage
from tunelab.testing import StorageContract


class TestInMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self):
        return InMemoryStorage()
