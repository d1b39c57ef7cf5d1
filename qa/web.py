"""Saving web pages and news feeds into a source folder. Nothing is indexed here: callers
build afterwards (`qa add` and `qa refresh` do), so only the new articles are embedded.

A page is saved as the bytes the server sent, under `web/<host>/<slug>.html`, and recorded
in `<source>/.qa/web.json` (qa.registry) with the URL it came from. The same URL always maps
to the same file; a different URL whose slug is taken gets a short hash of its own; a file
that is not the URL's own is never overwritten. A page whose bytes are already saved (under
this URL or any other) is reported as already there.

    report = save_pages(["https://example.org/news/1"], "articles")
    add_feed("https://example.org/rss.xml", "articles")
    report = poll_feeds("articles")      # new entries only, by link and by content hash
    build_index("articles", "index")
"""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from . import registry
from .errors import FetchError, QAError
from .fetch import FEED_TYPES, HTML_TYPES, check_url, fetch
from .files import write_atomically
from .settings import Settings, from_env

Progress = Callable[[str, int, int], None]

_SLUG_CHARS = 80  # long enough to read, short enough for any file system with the folder
_PAGE_SUFFIX = re.compile(r"(/index|/default)?\.(s?html?|php\d?|aspx?|jsp|cfm)$", re.I)


@dataclass(frozen=True)
class SaveReport:
    """What one `save_pages` or `poll_feeds` did, by URL."""

    saved: list[tuple[str, str]] = field(default_factory=list)      # (url, doc_id)
    unchanged: list[tuple[str, str]] = field(default_factory=list)  # (url, doc_id already holding it)
    failed: list[tuple[str, str]] = field(default_factory=list)     # (url, one-line reason)
    # Feed entries left for the next poll (over Settings.max_feed_entries), per feed URL.
    later: list[tuple[str, int]] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"saved {len(self.saved)}, already there {len(self.unchanged)}, failed {len(self.failed)}"]
        lines += [f"  {n} more entries of {feed} are left for the next refresh" for feed, n in self.later]
        lines += [f"  saved: {url} -> {doc_id}" for url, doc_id in self.saved]
        lines += [f"  already there: {url}" + (f" ({doc_id})" if doc_id else "") for url, doc_id in self.unchanged]
        lines += [f"  failed: {reason}" for _, reason in self.failed]
        return "\n".join(lines)


@dataclass(frozen=True)
class FeedInfo:
    """A recorded feed."""

    url: str
    title: str
    entries: int  # entries the feed lists now
    added: bool   # False when the feed was already recorded

    def __str__(self) -> str:
        state = "recorded" if self.added else "already recorded"
        return f"feed {state}: {self.title} ({self.url}), {self.entries} entries"


def save_pages(urls: Iterable[str], source: str | Path, *, settings: Settings | None = None,
               allow_private: bool = True, progress: Progress | None = None) -> SaveReport:
    """Fetch each URL and save the page under `source`; one failing never stops the others."""
    settings = settings or from_env()
    source = Path(source)
    registry.load(source)  # a damaged record is refused before anything is fetched
    report = progress or (lambda stage, done, total: None)
    urls = list(dict.fromkeys(_clean(u) for u in urls))
    result = SaveReport()
    for n, url in enumerate(urls):
        report("fetching", n, len(urls))
        _save_into(result, url, source, settings, allow_private)
    report("fetching", len(urls), len(urls))
    return result


def add_feed(url: str, source: str | Path, *, settings: Settings | None = None,
             allow_private: bool = True) -> FeedInfo:
    """Fetch and check an RSS or Atom feed and record it in `source`. Its entries are fetched
    by `poll_feeds`."""
    settings = settings or from_env()
    source = Path(source)
    url = _clean(url)
    registry.load(source)
    parsed, _ = _fetch_feed(url, settings, allow_private)
    title = _one_line(parsed.feed.get("title")) or url
    with registry.locked(source):
        data = registry.load(source)
        added = url not in data["feeds"]
        if added:
            data["feeds"][url] = {"title": title, "added_at": _now(), "last_polled": None,
                                  "seen_links": [], "seen_hashes": []}
            registry.save(source, data)
    return FeedInfo(url=url, title=title, entries=len(parsed.entries), added=added)


def feeds(source: str | Path) -> dict[str, str]:
    """Recorded feeds: url -> title. Raises RegistryError on a damaged record."""
    return {url: feed.get("title") or url for url, feed in registry.load(Path(source))["feeds"].items()}


def poll_feeds(source: str | Path, *, settings: Settings | None = None, allow_private: bool = True,
               progress: Progress | None = None, only: Iterable[str] | None = None) -> SaveReport:
    """For every recorded feed (or those in `only`), save the entries not seen before. An
    entry is seen when its link was fetched before (by a feed or by `save_pages`) or its page's
    bytes were; an entry that fails is tried again at the next poll."""
    settings = settings or from_env()
    source = Path(source)
    recorded = list(registry.load(source)["feeds"])
    if only is not None:
        wanted = {_clean(u) for u in only}
        recorded = [u for u in recorded if u in wanted]
    report = progress or (lambda stage, done, total: None)
    result = SaveReport()
    for n, feed_url in enumerate(recorded):
        report("feeds", n, len(recorded))
        try:
            parsed, got = _fetch_feed(feed_url, settings, allow_private)
        except FetchError as exc:
            result.failed.append((feed_url, str(exc)))
            continue
        data = registry.load(source)
        record = data["feeds"].get(feed_url)
        if record is None:  # removed meanwhile
            continue
        # Seen by any feed (two feeds of one site often list the same story) or added as a page.
        known = {link for f in data["feeds"].values() for link in f.get("seen_links", [])}
        known |= {p["url"] for p in data["pages"].values()} | {url for url, _ in result.failed}
        links = [link for link in dict.fromkeys(_entry_links(parsed, got.url)) if link not in known]
        if len(links) > settings.max_feed_entries:
            # A feed's first poll can list hundreds of entries: fetch the first ones (feeds list
            # the newest first) and leave the rest, unseen, for the next poll.
            result.later.append((feed_url, len(links) - settings.max_feed_entries))
            links = links[:settings.max_feed_entries]
        for i, link in enumerate(links):
            report("fetching", i, len(links))
            _save_into(result, link, source, settings, allow_private, feed=feed_url)
        report("fetching", len(links), len(links))
        with registry.locked(source):
            data = registry.load(source)
            if feed_url in data["feeds"]:
                data["feeds"][feed_url]["last_polled"] = _now()
                data["feeds"][feed_url]["title"] = _one_line(parsed.feed.get("title")) or \
                    data["feeds"][feed_url].get("title") or feed_url
                registry.save(source, data)
    report("feeds", len(recorded), len(recorded))
    return result


def _save_into(result: SaveReport, url: str, source: Path, settings: Settings, allow_private: bool,
               feed: str | None = None) -> None:
    try:
        saved, doc_id = _save_page(url, source, settings, allow_private, feed)
    except QAError as exc:
        result.failed.append((url, " ".join(str(exc).split())))
    except OSError as exc:  # the source folder cannot be written: a full disk, permissions
        result.failed.append((url, f"{url}: cannot save: {exc.strerror or exc}"))
    else:
        (result.saved if saved else result.unchanged).append((url, doc_id))


def _save_page(url: str, source: Path, settings: Settings, allow_private: bool,
               feed: str | None) -> tuple[bool, str]:
    """(True, doc_id) when the page was written, (False, doc_id holding it) when already there."""
    page = fetch(url, settings, allow_private=allow_private, types=HTML_TYPES, what="a web page")
    if not page.body.strip():
        raise FetchError(f"{url}: the page is empty")
    digest = hashlib.sha256(page.body).hexdigest()
    with registry.locked(source):
        data = registry.load(source)
        pages = data["pages"]
        record = data["feeds"].get(feed) if feed else None
        seen_before = record is not None and digest in record.get("seen_hashes", [])
        if record is not None:
            record["seen_links"] = _added(record.get("seen_links", []), url)
            record["seen_hashes"] = _added(record.get("seen_hashes", []), digest)
        own = next((d for d, p in pages.items() if p["url"] == url), None)
        holder = next((d for d, p in pages.items() if p.get("sha256") == digest and (source / d).is_file()), None)
        if holder is None and seen_before:
            holder = ""  # the same article under another link of this feed, its file since removed
        if holder is not None:
            if record is not None:
                registry.save(source, data)
            return False, holder
        doc_id = own or _free_name(url, source, pages, page.body)
        write_atomically(source / doc_id, page.body)
        pages[doc_id] = {"url": url, "final_url": page.url, "fetched_at": _now(), "sha256": digest,
                         "feed": feed, "content_type": page.content_type, "charset": page.charset}
        registry.save(source, data)
    return True, doc_id


def _free_name(url: str, source: Path, pages: dict, body: bytes) -> str:
    """The file a new URL is saved as: its slug, else its slug with a short hash of the URL.
    Never a file that holds something else."""
    folder, slug = _host_folder(url), _slug(url)
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
    for name in (slug, f"{slug}-{digest[:8]}", f"{slug}-{digest[:20]}"):
        doc_id = f"web/{folder}/{name}.html"
        if doc_id in pages:
            continue
        path = source / doc_id
        if path.is_symlink() or path.exists():
            # The same bytes: left by a save interrupted before it was recorded. Take it back.
            if path.is_file() and not path.is_symlink() and path.read_bytes() == body:
                return doc_id
            continue
        return doc_id
    raise FetchError(f"{url}: no free file name under web/{folder}/")


def _host_folder(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "host").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    folder = re.sub(r"[^a-z0-9.-]+", "-", host.lower()).strip(".-") or "host"
    default = 443 if parts.scheme.lower() == "https" else 80
    if parts.port and parts.port != default:
        folder += f"_{parts.port}"
    return folder


def _slug(url: str) -> str:
    """Readable, safe (a-z, 0-9, -), bounded and the same for the same URL."""
    parts = urlsplit(url)
    text = _PAGE_SUFFIX.sub("", unquote(parts.path))
    if parts.query:
        text += "-" + unquote(parts.query)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    if len(slug) > _SLUG_CHARS:
        slug = slug[:_SLUG_CHARS].rstrip("-") + "-" + digest
    elif any(ch.isalpha() and not ch.isascii() for ch in text):
        # An Arabic (or other script) path leaves little after the ASCII pass: keep it distinct.
        slug = f"{slug}-{digest}" if slug else digest
    return slug or "index"


def _fetch_feed(url: str, settings: Settings, allow_private: bool):
    import feedparser

    got = fetch(url, settings, allow_private=allow_private, types=FEED_TYPES, what="a feed")
    headers = {"content-type": got.content_type + (f"; charset={got.charset}" if got.charset else ""),
               "content-location": got.url}
    # A stream, never bytes or str: feedparser opens a str that looks like a URL, and bytes
    # that name a file (b"/etc/passwd"), itself.
    parsed = feedparser.parse(io.BytesIO(got.body), response_headers=headers)
    if not parsed.get("version"):
        if "html" in got.content_type or got.body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
            alt = _feed_link(got.body, got.url)
            hint = f"; its feed is {alt}" if alt else ""
            raise FetchError(f"{url}: not an RSS or Atom feed (it is a web page{hint})")
        raise FetchError(f"{url}: not an RSS or Atom feed")
    return parsed, got


def _feed_link(body: bytes, base: str) -> str | None:
    """The feed a page announces (<link rel="alternate" type="application/rss+xml" href=...>)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = {k: (v or "") for k, v in attrs}
            if tag == "link" and "alternate" in a.get("rel", "").lower().split() and \
                    a.get("type", "").lower() in ("application/rss+xml", "application/atom+xml") and a.get("href"):
                found.append(urljoin(base, a["href"].strip()))

    try:
        Links().feed(body[:200_000].decode("utf-8", "replace"))
    except Exception:  # a page too broken to scan: no hint, the refusal stands
        return None
    return found[0] if found else None


def _entry_links(parsed, base: str) -> list[str]:
    links = []
    for entry in parsed.entries:
        link = entry.get("link") or next((l.get("href") for l in entry.get("links", []) if l.get("href")), None)
        if link:
            links.append(_clean(urljoin(base, link.strip())))
    return links


def _clean(url: str) -> str:
    """The URL as recorded: trimmed, without its #fragment (a place in the page, not a page)."""
    url = str(url).strip()
    try:
        check_url(url)
    except FetchError:
        return url  # reported as a failure with its reason when fetched
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path or "/", parts.query, ""))


def _added(items: list, item) -> list:
    return items if item in items else [*items, item]


def _one_line(text) -> str:
    return " ".join(str(text or "").split())


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
