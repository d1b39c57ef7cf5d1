"""The index folder: crash-safe generations, the manifest with file checksums, the build lock.

    index/
      CURRENT          {"generation": "g000003"}: replaced atomically to switch generations
      .build.lock      held (flock) by the one running build; the kernel frees it if that dies
      g000003/
        manifest.json  format, model, vector size, chunk settings, counts, size + sha256 per file
        vectors.faiss  store.sqlite  bm25/...

A build writes g000004.tmp/, fsyncs every file, renames it to g000004, fsyncs the folder and
only then points CURRENT at it. A crash at any moment leaves CURRENT naming a complete,
verified generation. Paths inside are relative, so the folder can be copied or moved.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import BuildLockedError, IndexCorruptError, IndexNotFoundError

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = ".build.lock"
MANIFEST = "manifest.json"
_GENERATION = re.compile(r"^g(\d{6})$")


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


def current_generation(index_dir: Path) -> str | None:
    """Name of the current generation, or None when the folder holds no index."""
    pointer = index_dir / CURRENT
    try:
        raw = pointer.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexCorruptError(f"cannot read {pointer}: {exc}; rebuild with `qa build --rebuild`") from None
    try:
        name = json.loads(raw)["generation"]
    except (ValueError, KeyError, TypeError):
        raise IndexCorruptError(f"{pointer} is damaged; rebuild with `qa build --rebuild`") from None
    if not isinstance(name, str) or not _GENERATION.match(name):
        raise IndexCorruptError(f"{pointer} names no valid generation; rebuild with `qa build --rebuild`")
    return name


def pointer_stamp(index_dir: Path):
    """Cheap identity of CURRENT, so an open index can notice a finished rebuild."""
    try:
        st = (index_dir / CURRENT).stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_manifest(index_dir: Path, verify: bool = True) -> tuple[Path, dict]:
    """The current generation's folder and manifest; with `verify`, every file's size and
    sha256 are checked before any of them is parsed by FAISS, bm25s or SQLite."""
    if not index_dir.is_dir():
        raise IndexNotFoundError(f"no index at {index_dir}: build one with `qa build SOURCE --index {index_dir}`")
    name = current_generation(index_dir)
    if name is None:
        raise IndexNotFoundError(f"no index at {index_dir}: build one with `qa build SOURCE --index {index_dir}`")
    folder = index_dir / name
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{folder / MANIFEST} is missing; rebuild with `qa build --rebuild`") from None
    except (ValueError, UnicodeDecodeError):
        raise IndexCorruptError(f"{folder / MANIFEST} is damaged; rebuild with `qa build --rebuild`") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(
            f"{folder} has index format {manifest.get('format_version') if isinstance(manifest, dict) else '?'}, "
            f"this qa reads format {FORMAT_VERSION}; rebuild with `qa build --rebuild`")
    if verify:
        verify_files(folder, manifest)
    return folder, manifest


def verify_files(folder: Path, manifest: dict) -> None:
    expected = manifest.get("files")
    if not isinstance(expected, dict) or not expected:
        raise IndexCorruptError(f"{folder / MANIFEST} lists no files; rebuild with `qa build --rebuild`")
    present = {p.relative_to(folder).as_posix() for p in _files_in(folder)}
    for rel, meta in expected.items():
        path = folder / rel
        if rel not in present or not isinstance(meta, dict):
            raise IndexCorruptError(f"index file {rel} is missing; rebuild with `qa build --rebuild`")
        if path.stat().st_size != meta.get("size"):
            raise IndexCorruptError(
                f"index file {rel} has {path.stat().st_size} bytes, the manifest says {meta.get('size')} "
                f"(truncated or replaced); rebuild with `qa build --rebuild`")
        if sha256_of(path) != meta.get("sha256"):
            raise IndexCorruptError(f"index file {rel} fails its checksum (altered or damaged); "
                                    f"rebuild with `qa build --rebuild`")
    extra = present - set(expected)
    if extra:
        raise IndexCorruptError(f"unexpected file(s) in the index: {', '.join(sorted(extra))}; "
                                f"rebuild with `qa build --rebuild`")


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
    for sub in sorted({p.parent for p in tmp.rglob("*")} | {tmp}, key=lambda p: -len(p.parts)):
        fsync_dir(sub)
    hook("before-rename")
    final = index_dir / name
    os.rename(tmp, final)
    fsync_dir(index_dir)
    hook("before-switch")
    write_json_durably(index_dir / CURRENT, {"generation": name})
    fsync_dir(index_dir)
    hook("after-switch")


def write_json_durably(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def clean_leftovers(index_dir: Path) -> list[str]:
    """Remove unfinished (.tmp) and superseded generations. Open readers keep their files:
    on POSIX a deleted file lives on while a process has it open."""
    current = current_generation(index_dir)
    removed = []
    for p in index_dir.iterdir():
        stale_tmp = p.name.endswith(".tmp")
        old = _GENERATION.match(p.name) and p.name != current
        if stale_tmp or old:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


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
