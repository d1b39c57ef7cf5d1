"""One article file -> an Article: the text every chunk offset points into, and its metadata.

Web pages (.html) go through qa.webpage (trafilatura); plain text, Markdown and PDF through
qa.cleaning's line rules. This is exactly what a build stores."""
from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

from .cleaning import clean, detect_language, drop_furniture
from .dates import find_date
from .readers import Skip, read_file
from .types import Article
from .webpage import extract_page

HTML = (".html", ".htm")
MARKDOWN = (".md", ".markdown")


def load_article(path: Path, doc_id: str, max_bytes: int, url: str | None = None,
                 charset: str | None = None) -> Article:
    """Raises Skip (with the reason shown to the user) when the file holds no article.
    `url`, `charset`: where a fetched page came from and the charset its server declared
    (see qa.registry)."""
    data, raw = read_file(path, max_bytes, charset)
    content_hash = hashlib.sha256(data).hexdigest()
    if path.suffix.lower() in HTML:
        page = extract_page(raw, url=url)
        text, removed = drop_furniture(unicodedata.normalize("NFC", page.text))
        if not text.strip():
            raise Skip("no article text left after removing page furniture")
        lines = text.split("\n")
        title = unicodedata.normalize("NFC", page.title) or _first_line(lines) or Path(doc_id).stem
        return Article(doc_id=doc_id, title=title, text=text, lang=detect_language(text),
                       # A dateline in the text when the page's metadata has no date.
                       date=page.date or find_date(lines), source=page.source,
                       content_hash=content_hash, removed=removed, url=page.url, author=page.author)
    cleaned = clean(raw, fallback_title=Path(doc_id).stem, markdown=path.suffix.lower() in MARKDOWN)
    if not cleaned.text.strip():
        raise Skip("no article text left after removing page boilerplate")
    return Article(doc_id=doc_id, title=cleaned.title, text=cleaned.text, lang=cleaned.lang,
                   date=cleaned.date, source=cleaned.source, content_hash=content_hash,
                   removed=cleaned.removed, url=url)


def _first_line(lines: list[str]) -> str:
    return next((line.strip() for line in lines if line.strip()), "")[:150]
