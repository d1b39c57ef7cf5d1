"""Shared fixtures: the real bundled model, real FAISS, a real SQLite file, the seed articles.

The seed index is built once per session into a temporary folder; tests that change an
index build their own copy.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import qa

from corpus import DATA, ROOT, SEEDS  # noqa: F401  (tests import these from corpus)


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("seed-index") / "index"
    qa.build_index(SEEDS, path)
    return path


@pytest.fixture(scope="session")
def index(seed_index_dir) -> qa.Index:
    return qa.load_index(seed_index_dir)


@pytest.fixture
def source(tmp_path) -> Path:
    """A private copy of the seed articles that a test may change."""
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture(scope="session")
def embedder():
    from qa.embedder import get_embedder

    return get_embedder(qa.Settings().model)
