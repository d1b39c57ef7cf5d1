"""Fixtures of the reliability suite."""
import shutil

import pytest

import qa

from probes import EXTRA, SEEDS, fingerprint

@pytest.fixture(scope="session")
def old_and_new(tmp_path_factory):
    """An index of the seeds (old) and the fingerprint after adding one article (new)."""
    base = tmp_path_factory.mktemp("reliability")
    source = base / "source"
    shutil.copytree(SEEDS, source)
    old_index = base / "old-index"
    qa.build_index(source, old_index)
    new_source = base / "new-source"
    shutil.copytree(source, new_source)
    (new_source / "medusa.txt").write_text(EXTRA, encoding="utf-8")
    new_index = base / "new-index"
    shutil.copytree(old_index, new_index)
    qa.build_index(new_source, new_index)
    return {"source": new_source, "old_index": old_index, "old": fingerprint(old_index),
            "new": fingerprint(new_index)}
