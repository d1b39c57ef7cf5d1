"""Articles added from the browser: checked, saved under <source>/uploads/, indexed incrementally.

An upload never overwrites a different file, never writes outside the source folder, and
leaves nothing behind when it is refused: a file the build skips (empty, binary, unreadable)
or that repeats an indexed article is deleted again, with the reason shown.
"""
from __future__ import annotations

import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import qa
from qa.settings import from_env

ALLOWED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
UPLOAD_FOLDER = "uploads"
MAX_NAME_CHARS = 100
# One build at a time in this process (uploads and pages added by link); a build from
# elsewhere holds the index lock and is reported as busy instead. Reentrant: an upload holds it
# from saving its files to removing the ones the build refused, with `rebuild` in between.
_build_lock = threading.RLock()
# Gradio's concurrency group of every event that builds: they queue instead of meeting the lock.
BUILD_QUEUE = "qa-build"


@dataclass(frozen=True)
class UploadOutcome:
    name: str  # the file name as uploaded
    ok: bool
    message: str
    doc_id: str | None = None  # the article id, when it is in the index


class UploadError(qa.QAError):
    """An upload that cannot be saved; the message says why."""


def max_upload_bytes() -> int:
    """The same limit the index builder applies (QA_MAX_FILE_BYTES, default 10 MB)."""
    return from_env().max_file_bytes


def safe_name(name: str) -> str:
    """A plain file name: no folders, no leading dot, only letters, digits, '.', '-', '_'."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:MAX_NAME_CHARS] or "article"
    suffix = re.sub(r"[^\w]+", "", suffix).lower()
    return f"{stem}.{suffix}" if suffix else stem


def check_upload(path: Path, name: str, max_bytes: int) -> None:
    """Raise UploadError for a file type or size the app does not take."""
    suffix = Path(safe_name(name)).suffix
    if suffix not in ALLOWED_SUFFIXES:
        raise UploadError(f"{name}: not added, {suffix or 'no'} files are not articles; "
                          f"allowed: {', '.join(ALLOWED_SUFFIXES)}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UploadError(f"{name}: not added, the upload cannot be read ({exc.strerror or exc})") from None
    if size > max_bytes:
        raise UploadError(f"{name}: not added, it has {size:,} bytes and the limit is {max_bytes:,}")


def save_upload(path: Path, name: str, source: Path) -> tuple[Path, bool]:
    """Copy an uploaded file into <source>/uploads/ under a safe, unused name.

    Returns (saved path, True) or, when the same bytes are already there under that name,
    (that path, False). A different file of the same name is kept; the upload gets "-2", "-3"...
    """
    root = source.resolve()
    folder = source / UPLOAD_FOLDER
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise UploadError(f"{folder} is not a plain folder; uploads are not saved through links")
    folder.mkdir(parents=True, exist_ok=True)
    if folder.resolve().parent != root:
        raise UploadError(f"{folder} is outside the source folder {source}")
    data = path.read_bytes()
    clean = Path(safe_name(name))
    for n in range(1, 1000):
        target = folder / (clean.name if n == 1 else f"{clean.stem}-{n}{clean.suffix}")
        try:
            # O_EXCL: never overwrites, and refuses a name that is a (dangling) symbolic link.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if not target.is_symlink() and target.is_file() and target.read_bytes() == data:
                return target, False
            continue
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return target, True
    raise UploadError(f"{name}: not added, too many files named {clean.name} already")


def check_source_matches(index: qa.Index, source: Path) -> None:
    """Refuse to build when the index holds articles the source folder does not: an
    incremental build would remove them (the index was built from another folder)."""
    missing = [d for d in index.articles() if not (source / d).is_file()]
    if missing:
        raise UploadError(
            f"the index at {index.path} holds {len(missing)} article(s) that are not in {source} "
            f"(e.g. {missing[0]}); start the app with --source set to the folder the index was built from")


def add_uploads(files: list[tuple[Path, str]], source: Path, index: qa.Index, max_bytes: int | None = None,
                progress: Callable[[str, int, int], None] | None = None) -> list[UploadOutcome]:
    """Save and index uploaded files, given as (temporary path, name as uploaded). The open
    `index` moves to the new generation, so the articles can be asked about at once."""
    source = Path(source)
    max_bytes = max_upload_bytes() if max_bytes is None else max_bytes
    outcomes: list[UploadOutcome] = []
    with _build_lock:
        saved: dict[str, tuple[str, Path, bool]] = {}  # doc_id -> (name, path, newly written)
        for path, name in files:
            try:
                check_upload(Path(path), name, max_bytes)
                check_source_matches(index, source)
                target, new = save_upload(Path(path), name, source)
            except (UploadError, OSError) as exc:
                outcomes.append(UploadOutcome(name, False, str(exc) if isinstance(exc, UploadError)
                                              else f"{name}: not added, {exc.strerror or exc}"))
                continue
            saved[target.relative_to(source).as_posix()] = (name, target, new)
        if not saved:
            return outcomes
        try:
            report = rebuild(source, index, progress)
        except qa.QAError as exc:
            for name, target, new in saved.values():
                if new:
                    target.unlink(missing_ok=True)
                outcomes.append(UploadOutcome(name, False, f"{name}: not added, {exc}"))
            return outcomes
        outcomes += [_outcome(doc_id, *entry, report) for doc_id, entry in saved.items()]
    return outcomes


def rebuild(source: Path, index: qa.Index, progress: Callable[[str, int, int], None] | None = None) -> qa.BuildReport:
    """Index what changed in `source` into the open `index`, which then moves to the new
    generation: what was added can be asked about at once."""
    with _build_lock:
        report = qa.build_index(source, index.path, model=index.model, progress=progress)
        index.refresh()
    return report


def _outcome(doc_id: str, name: str, target: Path, new: bool, report: qa.BuildReport) -> UploadOutcome:
    skipped = dict(report.skipped)
    duplicates = dict(report.duplicates)
    if doc_id in skipped:
        target.unlink(missing_ok=True)
        return UploadOutcome(name, False, f"{name}: not added, {skipped[doc_id]}")
    if doc_id in duplicates:
        if new:
            target.unlink(missing_ok=True)
        return UploadOutcome(name, False, f"{name}: not added, it has the same text as {duplicates[doc_id]}, "
                                          f"which is already in the index", duplicates[doc_id])
    if doc_id in report.added or doc_id in report.updated:
        return UploadOutcome(name, True, f"{name}: added as {doc_id}; you can ask about it now", doc_id)
    if doc_id in report.unchanged:
        return UploadOutcome(name, True, f"{name}: already in the index as {doc_id}", doc_id)
    return UploadOutcome(name, False, f"{name}: not added (the build did not take it)")
