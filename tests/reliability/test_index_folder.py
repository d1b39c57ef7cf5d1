"""The index folder is safe to point at: any damage to CURRENT or the manifest is refused as
IndexCorruptError, a build refuses a folder that holds someone else's files, and a build
deletes only files it wrote."""
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import qa
from qa import cli, storage

from probes import EXTRA, SEEDS, fingerprint
from test_corruption import CORRUPTIONS, generation, reseal

SAMPLES = 30


def copy_of(seed_index_dir: Path, tmp_path: Path) -> Path:
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index_dir, index_dir)
    return index_dir


def flipped(data: bytes, position: int, rng: random.Random) -> bytes:
    damaged = bytearray(data)
    damaged[position] ^= rng.randrange(1, 256)
    return bytes(damaged)


def repoint(index_dir: Path) -> None:
    """Write CURRENT's manifest checksum anew, as someone crafting an index would."""
    pointer = json.loads((index_dir / "CURRENT").read_text())
    pointer["manifest_sha256"] = storage.sha256_of(generation(index_dir) / "manifest.json")
    (index_dir / "CURRENT").write_text(json.dumps(pointer, separators=(",", ":")))


def listing(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def test_current_names_the_generation_and_the_manifest_checksum(seed_index_dir):
    pointer = json.loads((seed_index_dir / "CURRENT").read_text())
    assert set(pointer) == {"generation", "manifest_sha256"}
    assert pointer["manifest_sha256"] == storage.sha256_of(generation(seed_index_dir) / "manifest.json")


@pytest.mark.parametrize("name", ["CURRENT", "manifest.json"])
def test_any_changed_byte_of_the_pointer_or_manifest_is_corruption(name, seed_index_dir, tmp_path):
    index_dir = copy_of(seed_index_dir, tmp_path)
    path = index_dir / "CURRENT" if name == "CURRENT" else generation(index_dir) / "manifest.json"
    original = path.read_bytes()
    rng = random.Random(f"flip {name}")
    # CURRENT is about 100 bytes: every one of them; of the manifest, a seeded sample.
    positions = range(len(original)) if name == "CURRENT" else \
        sorted({0, len(original) - 1, *rng.sample(range(len(original)), SAMPLES)})
    outcomes = {}
    for position in positions:
        path.write_bytes(flipped(original, position, rng))
        try:
            qa.load_index(index_dir)
            outcomes[position] = "loaded"
        except qa.IndexCorruptError as exc:
            assert "rebuild" in str(exc) and "\n" not in str(exc)
            outcomes[position] = "IndexCorruptError"
        except Exception as exc:  # noqa: BLE001 - the point is that nothing else escapes
            outcomes[position] = f"{type(exc).__name__}: {exc}"
    path.write_bytes(original)
    assert set(outcomes.values()) == {"IndexCorruptError"}, outcomes
    assert qa.load_index(index_dir).search("drones", k=1)


def test_index_of_the_previous_version_still_loads_and_updates(seed_index_dir, tmp_path):
    index_dir = copy_of(seed_index_dir, tmp_path)
    name = generation(index_dir).name
    (index_dir / "CURRENT").write_text(json.dumps({"generation": name}, indent=2))  # as written before
    assert fingerprint(index_dir) == fingerprint(seed_index_dir)
    source = tmp_path / "articles"
    shutil.copytree(SEEDS, source)
    (source / "medusa.txt").write_text(EXTRA, encoding="utf-8")
    assert qa.build_index(source, index_dir).added == ["medusa.txt"]
    assert "manifest_sha256" in json.loads((index_dir / "CURRENT").read_text())


MISSHAPEN = {
    "dimension as text": lambda m: m.update(dimension="384"),
    "model as a number": lambda m: m.update(model=5),
    "counts missing": lambda m: m.pop("counts"),
    "chunk count as text": lambda m: m["counts"].update(chunks="many"),
    "chunk size a boolean": lambda m: m.update(chunk_tokens=True),
    "files a list": lambda m: m.update(files=list(m["files"])),
    "file outside the folder": lambda m: m["files"].update({"../../etc/passwd": {"size": 1, "sha256": "0" * 64}}),
    "file without checksum": lambda m: m["files"][next(iter(m["files"]))].pop("sha256"),
    "languages not a list": lambda m: m.update(model_languages="en"),
    "a list, not an object": lambda m: m.clear(),
    "build time missing": lambda m: m.pop("built_at"),
}


@pytest.mark.parametrize("name", list(MISSHAPEN))
@pytest.mark.parametrize("pointer", ["with checksum", "previous version"])
def test_manifest_that_parses_but_is_misshapen_is_corruption(name, pointer, seed_index_dir, tmp_path):
    index_dir = copy_of(seed_index_dir, tmp_path)
    path = generation(index_dir) / "manifest.json"
    manifest = json.loads(path.read_text())
    MISSHAPEN[name](manifest)
    path.write_text(json.dumps(manifest if manifest else [1, 2]))
    if pointer == "with checksum":
        repoint(index_dir)
    else:
        (index_dir / "CURRENT").write_text(json.dumps({"generation": path.parent.name}))
    with pytest.raises(qa.IndexCorruptError, match="rebuild"):
        qa.load_index(index_dir)


@pytest.mark.parametrize("name", [n for n, (_, resealed) in CORRUPTIONS.items() if resealed])
def test_crafted_files_are_refused_even_with_checksums_and_pointer_rewritten(name, seed_index_dir, tmp_path):
    """test_corruption's crafted cases stop at the manifest checksum in CURRENT now; an attacker
    who rewrites that too still meets the deeper checks."""
    index_dir = copy_of(seed_index_dir, tmp_path)
    damage, _ = CORRUPTIONS[name]
    damage(index_dir)
    reseal(index_dir)
    repoint(index_dir)
    code = ("import qa, sys\n"
            "try:\n    qa.load_index(sys.argv[1]).search('drones')\n"
            "except qa.IndexCorruptError as e:\n    print(type(e).__name__, e)\n    sys.exit(3)\n")
    out = subprocess.run([sys.executable, "-c", code, str(index_dir)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 3, (out.returncode, out.stdout, out.stderr[-2000:])
    assert "manifest.json does not match" not in out.stdout


def test_build_refuses_a_folder_of_other_files_and_touches_nothing(tmp_path, capsys):
    folder = tmp_path / "my-documents"
    (folder / "photos").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes")
    (folder / "photos" / "cat.jpg").write_bytes(b"\xff\xd8 cat")
    (folder / "g000001").mkdir()  # looks like ours, but the folder holds other things too
    before = listing(folder)
    with pytest.raises(qa.IndexFolderError) as err:
        qa.build_index(SEEDS, folder)
    message = str(err.value)
    assert "notes.txt" in message and "photos" in message
    assert "holds no qa index" in message and "folder for --index" in message
    assert listing(folder) == before  # not even a lock file
    assert cli.main(["build", str(SEEDS), "--index", str(folder)]) == 1
    err_text = capsys.readouterr().err
    assert err_text.startswith("qa: error: ") and err_text.count("\n") == 1 and "notes.txt" in err_text
    assert listing(folder) == before


def test_a_folder_named_like_a_generation_with_other_files_is_not_ours(tmp_path):
    folder = tmp_path / "index"
    (folder / "g000999").mkdir(parents=True)
    (folder / "g000999" / "important.txt").write_text("mine")
    with pytest.raises(qa.IndexFolderError, match="g000999/important.txt"):
        qa.build_index(SEEDS, folder)
    assert (folder / "g000999" / "important.txt").read_text() == "mine"


def test_build_into_an_empty_or_new_folder_goes_ahead(tmp_path):
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "new" / "index"):
        assert len(qa.build_index(SEEDS, folder).added) == 5


def test_build_into_a_folder_kept_by_a_placeholder_goes_ahead(tmp_path):
    # A fresh clone's index/ holds only .gitkeep: `bash scripts/run.sh` must build there.
    folder = tmp_path / "index"
    folder.mkdir()
    (folder / ".gitkeep").write_text("")
    assert len(qa.build_index(SEEDS, folder).added) == 5
    assert (folder / ".gitkeep").is_file() and qa.load_index(folder).search("Pakistan", k=1)
    (folder / ".gitkeep").unlink()
    (folder / "notes.txt").write_text("mine")  # beside an index, other files are still left alone
    qa.build_index(SEEDS, folder, rebuild=True)
    assert (folder / "notes.txt").read_text() == "mine"


def test_build_deletes_only_files_it_wrote(seed_index_dir, tmp_path):
    index_dir = copy_of(seed_index_dir, tmp_path)
    source = tmp_path / "articles"
    shutil.copytree(SEEDS, source)
    kept = {
        "g000999/important.txt": b"not qa's",  # the case from the issue
        "notes.tmp": b"a user's temporary file",
        "g000777.tmp/mine.txt": b"mine",  # beside files an interrupted build left
        "elsewhere/vocab.index.json": b"{}",  # reached through a link in an old generation
    }
    for rel, data in kept.items():
        (index_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (index_dir / rel).write_bytes(data)
    (index_dir / "g000777.tmp" / "vectors.faiss").write_bytes(b"half written")
    (index_dir / "g000777.tmp" / "bm25").mkdir()
    (index_dir / "g000777.tmp" / "bm25" / "chunk_ids.npy").write_bytes(b"half written")
    (index_dir / "g000888").mkdir()
    (index_dir / "g000888" / "bm25").symlink_to(index_dir / "elsewhere")
    first = generation(index_dir).name
    for n in range(2):  # two builds, each writing a new generation
        (source / f"extra-{n}.txt").write_text(EXTRA.replace("Medusa", f"Medusa {n}"), encoding="utf-8")
        qa.build_index(source, index_dir)
    for rel, data in kept.items():
        assert (index_dir / rel).read_bytes() == data, rel
    assert not (index_dir / first).exists()  # qa's own superseded generation is gone
    assert not (index_dir / "g000777.tmp" / "vectors.faiss").exists()
    assert not (index_dir / "g000777.tmp" / "bm25").exists()
    assert sorted(p.name for p in (index_dir / "g000777.tmp").iterdir()) == ["mine.txt"]
    assert qa.load_index(index_dir).search("Medusa 1 naval exercise", k=1)[0].doc_id == "extra-1.txt"


def test_rebuild_over_a_damaged_pointer_keeps_other_files(seed_index_dir, tmp_path):
    index_dir = copy_of(seed_index_dir, tmp_path)
    (index_dir / "g000999").mkdir()
    (index_dir / "g000999" / "important.txt").write_text("keep me")
    (index_dir / "README.txt").write_text("what this folder is")
    (index_dir / "CURRENT").write_bytes(b"\xff\xfe not json")
    with pytest.raises(qa.IndexCorruptError):
        qa.load_index(index_dir)
    with pytest.raises(qa.IndexCorruptError):
        qa.build_index(SEEDS, index_dir)  # an update refuses; --rebuild replaces
    qa.build_index(SEEDS, index_dir, rebuild=True)
    assert (index_dir / "g000999" / "important.txt").read_text() == "keep me"
    assert (index_dir / "README.txt").read_text() == "what this folder is"
    assert fingerprint(index_dir) == fingerprint(seed_index_dir)
