"""The index folder: crash-safe generations, the manifest with file checksums, the build lock.

    index/
      CURRENT          {"generation":"g000003","manifest_sha256":"..."}: replaced atomically to
                       switch generations; the checksum makes any damage to the manifest show
      .build.lock      held (flock) by the one running build; the kernel frees it if that dies
      g000003/
        manifest.json  format, model, vector size, chunk settings, counts, size + sha256 per file
        vectors.faiss  store.sqlite  bm25/...

A build writes g000004.tmp/, fsyncs every file, renames it to g000004, fsyncs the folder and
only then points CURRENT at it. A crash at any moment leaves CURRENT naming a complete,
verified generation. Paths inside are relative, so the folder can be copied or moved. A build
deletes only files it writes: whatever else is in the folder stays.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import BuildLockedError, IndexCorruptError, IndexFolderError, IndexNotFoundError
from .manifest import REBUILD, check_compatible, check_shape  # noqa: F401  (check_compatible: build imports it here)

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = ".build.lock"
MANIFEST = "manifest.json"
_GENERATION = re.compile(r"^g(\d{6})$")
_GENERATION_DIR = re.compile(r"^g\d{6}(\.tmp)?$")  # finished or unfinished
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
POINTER_MAX_BYTES = 4096  # CURRENT holds under 150 bytes; more is not ours
# What a build writes in a generation folder: the only files a build ever deletes.
GENERATION_FILES = (MANIFEST, f"{MANIFEST}.tmp", "vectors.faiss", "companion.faiss", "store.sqlite", "store.sqlite-journal",
                    "store.sqlite-wal", "store.sqlite-shm")
# In bm25/: what bm25s's save() writes (scores, vocabulary, parameters, corpus when given) and
# qa's chunk ids (qa/lexical.py).
BM25_FILES = ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy",
              "nonoccurrence_array.index.npy", "vocab.index.json", "params.index.json", "corpus.jsonl",
              "corpus.mmindex.json", "chunk_ids.npy")


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def read_pointer(index_dir: Path) -> dict | None:
    """CURRENT as {"generation": name, "manifest_sha256": hex}, or None when there is none. An
    index of the previous version has no manifest_sha256; anything else is damage."""
    pointer = index_dir / CURRENT
    try:
        with open(pointer, "rb") as f:
            raw = f.read(POINTER_MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexCorruptError(f"cannot read {pointer}: {exc}; {REBUILD}") from None
    try:
        if len(raw) > POINTER_MAX_BYTES:
            raise ValueError("too long")
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or not {"generation"} <= set(data) <= {"generation", "manifest_sha256"}:
            raise ValueError("unexpected keys")
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise IndexCorruptError(f"{pointer} is damaged; {REBUILD}") from None
    name, digest = data["generation"], data.get("manifest_sha256", "")
    if not isinstance(name, str) or not _GENERATION.match(name):
        raise IndexCorruptError(f"{pointer} names no valid generation; {REBUILD}")
    if "manifest_sha256" in data and not (isinstance(digest, str) and _SHA256.match(digest)):
        raise IndexCorruptError(f"{pointer} holds no valid manifest checksum; {REBUILD}")
    return data


def current_generation(index_dir: Path) -> str | None:
    """Name of the current generation, or None when the folder holds no index."""
    pointer = read_pointer(index_dir)
    return pointer["generation"] if pointer else None


def pointer_stamp(index_dir: Path):
    """Cheap identity of CURRENT, so an open index can notice a finished rebuild."""
    try:
        st = (index_dir / CURRENT).stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_manifest(index_dir: Path, verify: bool = True) -> tuple[Path, dict]:
    """The current generation's folder and manifest; with `verify`, every file's size and
    sha256 are checked before any of them is parsed by FAISS, bm25s or SQLite. The manifest
    itself is checked against the sha256 in CURRENT, then for its shape."""
    if not index_dir.is_dir():
        raise IndexNotFoundError(f"no index at {index_dir}: build one with `qa build SOURCE --index {index_dir}`")
    pointer = read_pointer(index_dir)
    if pointer is None:
        raise IndexNotFoundError(f"no index at {index_dir}: build one with `qa build SOURCE --index {index_dir}`")
    folder = index_dir / pointer["generation"]
    try:
        raw = (folder / MANIFEST).read_bytes()
    except FileNotFoundError:
        raise IndexCorruptError(f"{folder / MANIFEST} is missing; {REBUILD}") from None
    except OSError as exc:
        raise IndexCorruptError(f"cannot read {folder / MANIFEST}: {exc}; {REBUILD}") from None
    expected = pointer.get("manifest_sha256")
    if expected and hashlib.sha256(raw).hexdigest() != expected:
        raise IndexCorruptError(f"{folder / MANIFEST} does not match the checksum in {CURRENT} "
                                f"(altered or damaged); {REBUILD}")
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise IndexCorruptError(f"{folder / MANIFEST} is damaged; {REBUILD}") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(
            f"{folder} has index format {manifest.get('format_version') if isinstance(manifest, dict) else '?'}, "
            f"this qa reads format {FORMAT_VERSION}; {REBUILD}")
    check_shape(manifest, folder / MANIFEST)
    if verify:
        verify_files(folder, manifest)
    return folder, manifest


def verify_files(folder: Path, manifest: dict) -> None:
    expected = manifest.get("files")
    if not isinstance(expected, dict) or not expected:
        raise IndexCorruptError(f"{folder / MANIFEST} lists no files; {REBUILD}")
    from . import verified

    present = {p.relative_to(folder).as_posix() for p in _files_in(folder)}
    hashed: dict[Path, str] = {}
    for rel, meta in expected.items():
        path = folder / rel
        if rel not in present or not isinstance(meta, dict):
            raise IndexCorruptError(f"index file {rel} is missing; {REBUILD}")
        if path.stat().st_size != meta.get("size"):
            raise IndexCorruptError(
                f"index file {rel} has {path.stat().st_size} bytes, the manifest says {meta.get('size')} "
                f"(truncated or replaced); {REBUILD}")
        if verified.already_verified(path, meta.get("sha256")):
            continue  # hashed before and unchanged since (qa/verified.py)
        if sha256_of(path) != meta.get("sha256"):
            raise IndexCorruptError(f"index file {rel} fails its checksum (altered or damaged); {REBUILD}")
        hashed[path] = meta["sha256"]
    extra = present - set(expected)
    if extra:
        raise IndexCorruptError(f"unexpected file(s) in the index: {', '.join(sorted(extra))}; {REBUILD}")
    verified.record(hashed)


def new_generation_dir(index_dir: Path) -> tuple[str, Path]:
    numbers = [int(m.group(1)) for p in index_dir.iterdir() if (m := _GENERATION.match(p.name.removesuffix(".tmp")))]
    name = f"g{(max(numbers) + 1 if numbers else 1):06d}"
    tmp = index_dir / f"{name}.tmp"
    tmp.mkdir()
    return name, tmp


def commit_generation(index_dir: Path, name: str, tmp: Path, manifest: dict, crash_hook=None) -> None:
    """Seal `tmp` as generation `name` and make it current, durably and atomically."""
    hook = crash_hook or (lambda point: None)
    files = {}
    for path in _files_in(tmp):
        fsync_file(path)
        files[path.relative_to(tmp).as_posix()] = {"size": path.stat().st_size, "sha256": sha256_of(path)}
    manifest = {**manifest, "files": files}
    write_json_durably(tmp / MANIFEST, manifest)
    manifest_sha256 = sha256_of(tmp / MANIFEST)
    for sub in sorted({p.parent for p in tmp.rglob("*")} | {tmp}, key=lambda p: -len(p.parts)):
        fsync_dir(sub)
    hook("before-rename")
    final = index_dir / name
    os.rename(tmp, final)
    fsync_dir(index_dir)
    hook("before-switch")
    # Compact, so that any changed byte of CURRENT is detected: it breaks the JSON, a key, the
    # generation's name or the manifest's checksum (indented JSON has whitespace to spare).
    write_json_durably(index_dir / CURRENT, {"generation": name, "manifest_sha256": manifest_sha256},
                       compact=True)
    fsync_dir(index_dir)
    hook("after-switch")


def write_json_durably(path: Path, data: dict, compact: bool = False) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        if compact:
            json.dump(data, f, separators=(",", ":"), ensure_ascii=False)
        else:
            json.dump(data, f, indent=2, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def clean_leftovers(index_dir: Path) -> list[str]:
    """Remove unfinished (.tmp) and superseded generations. Only files qa writes are deleted
    and a folder only once it is empty: anything else someone put there stays where it is.
    Open readers keep their files: on POSIX a deleted file lives on while a process has it open."""
    current = current_generation(index_dir)
    removed = []
    for p in sorted(index_dir.iterdir()):
        if p.name == f"{CURRENT}.tmp" and p.is_file() and not p.is_symlink():
            p.unlink(missing_ok=True)  # an interrupted switch of CURRENT
            removed.append(p.name)
        elif _GENERATION_DIR.match(p.name) and p.name != current and p.is_dir() and not p.is_symlink():
            _remove_generation(p)
            removed.append(p.name)
    return removed


def _remove_generation(folder: Path) -> None:
    bm25 = folder / "bm25"
    targets = [folder / name for name in GENERATION_FILES]
    if bm25.is_dir() and not bm25.is_symlink():  # never delete through a link to elsewhere
        targets += [bm25 / name for name in BM25_FILES]
    for path in targets:
        if path.is_file() or path.is_symlink():
            path.unlink(missing_ok=True)
    for sub in (bm25, folder):
        try:
            sub.rmdir()
        except OSError:
            pass  # missing, or holding files qa did not write: left in place


def check_index_folder(index_dir: Path) -> None:
    """Refuse to build into a folder that exists, is not empty and holds no qa index: its
    files are someone else's, and a build must neither mix with nor clean up after them."""
    if not index_dir.exists() and not index_dir.is_symlink():
        return
    if not index_dir.is_dir():
        raise IndexFolderError(f"{index_dir} is a file, not a folder: choose another --index folder")
    if (index_dir / CURRENT).exists():
        return
    foreign = sorted(p.name for p in index_dir.iterdir() if not _ours(p))
    foreign += sorted(f"{p.relative_to(index_dir).as_posix()}" for g in index_dir.iterdir() if _ours(g) and g.is_dir()
                      for p in g.rglob("*") if not _written_by_qa(g, p))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        here = index_dir.resolve()
        raise IndexFolderError(f"{index_dir} is not empty and holds no qa index ({shown}): choose an empty "
                               f"or new folder for --index, e.g. {here.with_name(here.name + '-index')}")


def _written_by_qa(generation: Path, path: Path) -> bool:
    """A file (or the bm25 folder) that a generation folder holds when qa wrote it."""
    rel = path.relative_to(generation).parts
    if rel == ("bm25",):
        return path.is_dir() and not path.is_symlink()
    return (len(rel) == 1 and rel[0] in GENERATION_FILES) or (len(rel) == 2 and rel[0] == "bm25" and rel[1] in BM25_FILES)


# Files that keep an empty folder in version control (the repository's own index/ holds one):
# not someone's data, so a first build may go ahead beside them (and leaves them in place).
PLACEHOLDERS = (".gitkeep", ".keep")


def _ours(path: Path) -> bool:
    if path.name in PLACEHOLDERS:
        return path.is_file() and not path.is_symlink()
    if path.name in (LOCK, f"{CURRENT}.tmp"):
        return path.is_file()
    return bool(_GENERATION_DIR.match(path.name)) and path.is_dir() and not path.is_symlink()


@contextmanager
def build_lock(index_dir: Path):
    """One builder per index. flock is released by the kernel when its holder dies, so a
    killed build never blocks the next one."""
    import fcntl

    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
                raise BuildLockedError(
                    f"a build is already running on {index_dir}" + (f" (pid {holder})" if holder else "")) from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def folder_size(index_dir: Path) -> int:
    name = current_generation(index_dir)
    if not name:
        return 0
    return sum(p.stat().st_size for p in (index_dir / name).rglob("*") if p.is_file())


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
