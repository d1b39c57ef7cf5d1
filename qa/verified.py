"""Remembering which index files were already hashed, so opening a large index does not read
every byte of it each time (SHA-256 of 1M chunks' files took most of a 17 s open).

A generation's files never change once written. A file whose SHA-256 matched its manifest is
recorded with its stat identity (size, mtime, ctime, inode, device); a later open that finds
the same identity trusts the earlier check. Any write through the filesystem changes ctime,
which no program can set back, so an altered or replaced file is hashed again and refused as
before. As git does for racily clean files, a file changed in the last RACY_SECONDS is never
recorded: a timestamp's granularity (a few ms) could otherwise hide a write that follows the
check at once. Damage below the filesystem (bit rot) after the first check is not seen.

Stored in QA_VERIFIED_CACHE (default ~/.cache/qa/verified.json), JSON, at most MAX_ENTRIES; a
cache that cannot be read or written only means files are hashed again.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

RACY_SECONDS = 2.0
MAX_ENTRIES = 5000
_lock = threading.Lock()
_memory: dict[str, list] = {}


def _cache_file() -> Path:
    return Path(os.environ.get("QA_VERIFIED_CACHE") or Path.home() / ".cache" / "qa" / "verified.json")


def _identity(path: Path, sha256: str) -> list:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev, sha256]


def _load() -> dict[str, list]:
    try:
        data = json.loads(_cache_file().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def already_verified(path: Path, sha256: str) -> bool:
    """Whether `path` was hashed to `sha256` before and has not changed since."""
    key = str(path.resolve())
    with _lock:
        known = _memory.get(key)
        if known is None:
            known = _load().get(key)
    try:
        return known is not None and known == _identity(path, sha256)
    except OSError:
        return False


def record(checked: dict[Path, str]) -> None:
    """Remember files just hashed to the sha256 given (those not changed too recently)."""
    now = time.time()
    fresh = {}
    for path, sha256 in checked.items():
        try:
            identity = _identity(path, sha256)
        except OSError:
            continue
        if now - max(identity[1], identity[2]) / 1e9 >= RACY_SECONDS:
            fresh[str(path.resolve())] = identity
    if not fresh:
        return
    with _lock:
        _memory.update(fresh)
        entries = {**_load(), **fresh}
        if len(entries) > MAX_ENTRIES:
            entries = dict(list(entries.items())[-MAX_ENTRIES:])
        target = _cache_file()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(entries), encoding="utf-8")
            os.replace(tmp, target)
        except OSError:
            pass  # an unwritable cache only costs hashing again
