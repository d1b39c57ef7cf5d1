"""Damaged, foreign or hand-crafted index files are refused with a named error, never
loaded: no segfault, no wrong answer, nothing unpickled."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import qa
from qa import storage

from probes import fingerprint


def generation(index_dir: Path) -> Path:
    return index_dir / json.loads((index_dir / "CURRENT").read_text())["generation"]


def truncate(path: Path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip_bit(path: Path, where: float = 0.5):
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    path.write_bytes(bytes(data))


def reseal(index_dir: Path):
    """Recompute the manifest checksums: what someone crafting a malicious index would do."""
    folder = generation(index_dir)
    manifest = json.loads((folder / "manifest.json").read_text())
    for rel in manifest["files"]:
        p = folder / rel
        manifest["files"][rel] = {"size": p.stat().st_size, "sha256": storage.sha256_of(p)}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def foreign_faiss(path: Path):
    import faiss

    index = faiss.IndexIDMap2(faiss.IndexFlatIP(128))
    index.add_with_ids(np.random.default_rng(0).random((10, 128), dtype="float32"), np.arange(10))
    faiss.write_index(index, str(path))


def pickled_npy(path: Path):
    np.save(path, np.array([{"evil": "object"}], dtype=object), allow_pickle=True)


def fewer_vectors(path: Path):
    import faiss

    index = faiss.read_index(str(path))
    index.remove_ids(faiss.IDSelectorBatch(np.array([faiss.vector_to_array(index.id_map)[0]], dtype="int64")))
    faiss.write_index(index, str(path))


CORRUPTIONS = {
    "truncated vectors": (lambda ix: truncate(generation(ix) / "vectors.faiss"), False),
    "bit flip in vectors": (lambda ix: flip_bit(generation(ix) / "vectors.faiss"), False),
    "bit flip in sqlite": (lambda ix: flip_bit(generation(ix) / "store.sqlite", 0.3), False),
    "truncated sqlite": (lambda ix: truncate(generation(ix) / "store.sqlite"), False),
    "bm25 file deleted": (lambda ix: (generation(ix) / "bm25" / "vocab.index.json").unlink(), False),
    "bit flip in bm25": (lambda ix: flip_bit(generation(ix) / "bm25" / "data.csc.index.npy", 0.9), False),
    "extra file planted": (lambda ix: (generation(ix) / "evil.py").write_text("print('x')"), False),
    "manifest garbage": (lambda ix: (generation(ix) / "manifest.json").write_text("{not json"), False),
    "manifest deleted": (lambda ix: (generation(ix) / "manifest.json").unlink(), False),
    "pointer garbage": (lambda ix: (ix / "CURRENT").write_text("\x00\x01garbage"), False),
    "pointer escapes the folder": (lambda ix: (ix / "CURRENT").write_text('{"generation": "../../etc"}'), False),
    "pointer to missing generation": (lambda ix: (ix / "CURRENT").write_text('{"generation": "g999999"}'), False),
    "format version from the future": (lambda ix: _edit_manifest(ix, format_version=99), False),
    # Hand-crafted: the attacker also rewrites the checksums, so only the deeper checks stand.
    "foreign faiss index, resealed": (lambda ix: foreign_faiss(generation(ix) / "vectors.faiss"), True),
    "pickled object in bm25 npy, resealed": (lambda ix: pickled_npy(generation(ix) / "bm25" / "chunk_ids.npy"), True),
    "garbage faiss file, resealed": (lambda ix: (generation(ix) / "vectors.faiss").write_bytes(b"IxMp" + bytes(200)), True),
    "one vector removed, resealed": (lambda ix: fewer_vectors(generation(ix) / "vectors.faiss"), True),
}


def _edit_manifest(index_dir, **changes):
    path = generation(index_dir) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corruption_is_detected(name, seed_index_dir, tmp_path):
    index_dir = tmp_path / "copy"
    shutil.copytree(seed_index_dir, index_dir)  # relocated copy: must load as the original
    assert fingerprint(index_dir) == fingerprint(seed_index_dir)
    damage, resealed = CORRUPTIONS[name]
    damage(index_dir)
    if resealed:
        reseal(index_dir)
    # Load in a child process: a segfault there fails this test instead of killing the run.
    code = ("import qa, sys\n"
            "try:\n    qa.load_index(sys.argv[1]).search('drones')\n"
            "except qa.QAError as e:\n    print(type(e).__name__, e)\n    sys.exit(3)\n")
    out = subprocess.run([sys.executable, "-c", code, str(index_dir)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 3, (out.returncode, out.stdout, out.stderr[-2000:])
    assert out.stdout.startswith(("IndexCorruptError", "IndexNotFoundError")), out.stdout
    assert "rebuild" in out.stdout or "build one" in out.stdout


def test_damaged_index_is_replaced_by_rebuild(seed_index_dir, tmp_path):
    from probes import SEEDS

    index_dir = tmp_path / "copy"
    shutil.copytree(seed_index_dir, index_dir)
    flip_bit(generation(index_dir) / "vectors.faiss")
    with pytest.raises(qa.IndexCorruptError):
        qa.build_index(SEEDS, index_dir)  # an update refuses to build on a damaged index
    qa.build_index(SEEDS, index_dir, rebuild=True)
    assert fingerprint(index_dir) == fingerprint(seed_index_dir)


def test_index_folder_holds_no_absolute_paths(seed_index_dir):
    for path in generation(seed_index_dir).rglob("*.json"):
        assert str(seed_index_dir) not in path.read_text(encoding="utf-8")
    assert "/" not in (seed_index_dir / "CURRENT").read_text()
