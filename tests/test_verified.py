"""Opening an index hashes each file once: a file already checked and unchanged since is
trusted (qa/verified.py), an altered one is hashed again and refused (real index, real files)."""
import shutil
import time

import pytest

import qa
from qa import storage, verified
from qa.errors import IndexCorruptError


@pytest.fixture
def index_copy(seed_index_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("QA_VERIFIED_CACHE", str(tmp_path / "verified.json"))
    monkeypatch.setattr(verified, "_memory", {})
    target = tmp_path / "index"
    shutil.copytree(seed_index_dir, target)
    return target


def _count_hashing(monkeypatch) -> list:
    hashed = []
    real = storage.sha256_of

    def counting(path):
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(storage, "sha256_of", counting)
    return hashed


def test_an_unchanged_file_is_hashed_once(index_copy, monkeypatch):
    hashed = _count_hashing(monkeypatch)
    qa.load_index(index_copy)
    first = len(hashed)
    assert first >= 3  # every file of a fresh copy: changed within the racy window, not recorded
    time.sleep(verified.RACY_SECONDS + 0.1)
    qa.load_index(index_copy)  # hashed again, and now old enough to be recorded
    hashed.clear()
    monkeypatch.setattr(verified, "_memory", {})  # as a new process: from the cache file
    assert qa.load_index(index_copy).search("Bayraktar drones at EDEX", k=1)
    assert hashed == []


def test_a_file_altered_right_after_its_check_is_refused(index_copy, monkeypatch):
    time.sleep(verified.RACY_SECONDS + 0.1)
    qa.load_index(index_copy)  # checked and recorded
    folder, _ = storage.read_manifest(index_copy, verify=False)
    store = folder / "store.sqlite"
    data = bytearray(store.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte changed, at once
    store.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="fails its checksum"):
        qa.load_index(index_copy)
