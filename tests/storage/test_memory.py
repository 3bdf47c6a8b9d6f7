import pytest

from tunelab.storage import InMemoryStorage
from tunelab.testing import StorageContract


class TestInMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self):
        return InMemoryStorage()


def test_memory_storage_keeps_no_leases():
    storage = InMemoryStorage()
    assert storage.heartbeat_interval is None
    sid = storage.create_study("s", [])
    storage.create_trial(sid)
    assert storage.reap_stale_trials(sid, retry_failed=3) == []
