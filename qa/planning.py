"""What a build must do: the source folder's files against the previous generation's
articles (new, changed, unchanged, removed, duplicate, skipped)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from . import store
from .readers import Skip, walk


@dataclass
class Plan:
    source: Path
    new: dict[str, Path]  # doc_id -> path, to read and embed
    changed: set[str]
    unchanged: list[str]
    removed: list[str]
    skipped: list[tuple[str, str]]
    duplicates: dict[str, tuple[str, str]]  # doc_id -> (same_as, hash)
    hashes: dict[str, str]
    old_duplicates: dict[str, tuple[str, str]]  # as recorded by the previous generation


def plan_build(source: Path, max_file_bytes: int, old_conn, recut_languages=()) -> Plan:
    """New and changed files are read; so are the stored articles in `recut_languages`, which
    an older rule chunked (qa.companion.stale_chunking): they count as changed."""
    files, skipped = walk(source)
    old = store.article_hashes(old_conn) if old_conn else {}
    recut = store.articles_in(old_conn, recut_languages) if old_conn else set()
    hashes: dict[str, str] = {}
    paths: dict[str, Path] = {}
    for path in files:
        doc_id = path.relative_to(source).as_posix()
        try:
            hashes[doc_id] = _hash(path, max_file_bytes)
            paths[doc_id] = path
        except Skip as why:
            skipped.append((doc_id, str(why)))
        except OSError as exc:
            skipped.append((doc_id, f"unreadable: {exc.strerror or exc}"))
    # The same content under two names is indexed once: the copy already indexed, else the
    # first by name, is kept; the others are reported as duplicates of it.
    canonical: dict[str, str] = {}
    for doc_id in sorted(hashes, key=lambda d: (old.get(d) != hashes[d], d)):
        canonical.setdefault(hashes[doc_id], doc_id)
    duplicates = {d: (canonical[h], h) for d, h in hashes.items() if canonical[h] != d}
    kept = {d: h for d, h in hashes.items() if d not in duplicates}
    unchanged = [d for d, h in kept.items() if old.get(d) == h and d not in recut]
    changed = {d for d, h in kept.items() if d in old and (old[d] != h or d in recut)}
    new = {d: paths[d] for d, h in kept.items() if old.get(d) != h or d in recut}
    removed = sorted(d for d in old if d not in kept)
    old_duplicates = store.duplicate_hashes(old_conn) if old_conn else {}
    return Plan(source, new, changed, unchanged, removed, skipped, duplicates, hashes, old_duplicates)


def _hash(path: Path, limit: int) -> str:
    if path.stat().st_size > limit:
        raise Skip(f"file is {path.stat().st_size:,} bytes, over the limit of {limit:,}")
    return hashlib.sha256(path.read_bytes()).hexdigest()
