"""What was fetched into a source folder: `<source>/.qa/web.json`.

The record lives inside the source folder, so it moves with the articles it describes; the
dot folder keeps it out of the build (`qa.readers.walk` passes over dot folders). It is JSON
only and written atomically (temporary file, fsync, `os.replace`): a crash leaves the old
record or the new one, never half of one.

    {"format": 1,
     "pages": {"web/example.org/story.html": {"url": ..., "final_url": ..., "fetched_at": ...,
                                              "sha256": ..., "feed": null}},
     "feeds": {"https://example.org/rss": {"title": ..., "added_at": ..., "last_polled": ...,
                                           "seen_links": [...], "seen_hashes": [...]}}}

Readers forgive (a damaged record must never stop a build: `page_urls` returns {}); writers
do not (they refuse to overwrite a record they cannot read, naming its path, so nothing the
user had is lost).
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

from .errors import QAError
from .files import write_atomically

FORMAT = 1
FOLDER = ".qa"
NAME = "web.json"


class RegistryError(QAError):
    """The record of fetched pages and feeds cannot be read or written."""


def path_of(source: Path) -> Path:
    return Path(source) / FOLDER / NAME


def page_charsets(source: Path) -> dict[str, str]:
    """doc_id -> the charset the server declared for the page (its HTTP Content-Type), for pages
    whose markup does not say; {} when there is no readable record."""
    try:
        data = _read(Path(source))
    except (RegistryError, OSError):
        return {}
    return {doc_id: page["charset"] for doc_id, page in data["pages"].items()
            if isinstance(page.get("charset"), str) and page["charset"]}


def page_urls(source: Path) -> dict[str, str]:
    """doc_id -> the URL each saved page was fetched from; {} when there is no readable record."""
    try:
        data = _read(Path(source))
    except (RegistryError, OSError):
        return {}
    return {doc_id: page["url"] for doc_id, page in data["pages"].items()}


def load(source: Path) -> dict:
    """The whole record (an empty one when there is none yet). Raises RegistryError when the
    file exists but is not a record this code wrote."""
    try:
        return _read(Path(source))
    except OSError as exc:
        raise RegistryError(f"cannot read {path_of(source)}: {exc.strerror or exc}") from None


def save(source: Path, data: dict) -> None:
    """Write the record atomically. Call `load` first: it refuses a damaged record."""
    payload = json.dumps({**data, "format": FORMAT}, ensure_ascii=False, indent=1, sort_keys=True)
    write_atomically(path_of(source), payload.encode("utf-8"))


@contextmanager
def locked(source: Path):
    """One writer of the record (and of the pages it names) at a time; a second waits. Held
    only while files are written, never while fetching, so waits are short. flock is released
    by the kernel if its holder dies."""
    import fcntl

    folder = Path(source) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read(source: Path) -> dict:
    path = path_of(source)
    if not path.exists():
        return {"format": FORMAT, "pages": {}, "feeds": {}}
    damaged = (f"the record of fetched pages {path} is damaged; move it aside to start a new one "
               f"(the saved pages stay)")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RegistryError(damaged) from None
    if not _valid(data):
        raise RegistryError(damaged)
    return data


def _valid(data) -> bool:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return False
    pages, feeds = data.get("pages"), data.get("feeds")
    if not isinstance(pages, dict) or not isinstance(feeds, dict):
        return False
    for doc_id, page in pages.items():
        if not isinstance(page, dict) or not isinstance(page.get("url"), str):
            return False
    for url, feed in feeds.items():
        if not isinstance(feed, dict):
            return False
        if not isinstance(feed.get("seen_links", []), list) or not isinstance(feed.get("seen_hashes", []), list):
            return False
    return True
