"""Article text and metadata out of a saved web page, by trafilatura (main-text extraction,
with htmldate for the publication date): text, title without the site's suffix, date, outlet,
author, canonical URL. Never raises on a bad page: `extract_page` returns a Page or raises
Skip with the reason."""
from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .dates import date_in
from .readers import Skip

# Less text than this besides the title is not an article: a page stored as just its
# headline (an empty shell, a consent wall, a video page) is reported, not indexed. About 15
# English words; two lines of Chinese.
MIN_ARTICLE_CHARS = 60
log = logging.getLogger("qa.webpage")
_SEPARATORS = re.compile(r"\s+[|\-–—:·•»]\s+|\s+::\s+")


@dataclass(frozen=True)
class Page:
    text: str
    title: str
    date: str | None  # YYYY-MM-DD
    source: str | None  # the outlet (og:site_name, else the host)
    author: str | None
    url: str | None  # canonical URL when the page states one, else the address it came from
    fallback: bool = False  # the text came from the recall-first second pass


def extract_page(markup: str, url: str | None = None) -> Page:
    """The article of one HTML page. `url` is where the page was fetched from, when known."""
    import trafilatura

    options = {"url": url, "include_comments": False, "include_tables": True, "with_metadata": True}
    doc = _extract(trafilatura, _without_teaser_articles(markup), options)
    fallback = False
    if doc is None or _too_short(doc.text, doc.title):
        # trafilatura's precise pass found too little: try its recall-first pass before giving up.
        second = _extract(trafilatura, markup, {**options, "favor_recall": True})
        if second is not None and not _too_short(second.text, second.title):
            doc, fallback = second, True
            log.warning("%s: little text in the precise pass; kept the recall-first pass (%d words)",
                        url or "page", len(second.text.split()))
    if doc is None or not (doc.text or "").strip():
        raise Skip("no article text found on the page")
    if _too_short(doc.text, doc.title):
        raise Skip(f"no article text found on the page, only {len((doc.text or '').split())} words "
                   f"besides its title")
    page_url = _web_url(doc.url) or _web_url(url)
    source = _clean(doc.sitename) or _host(page_url)
    return Page(text=doc.text.strip(), title=strip_site_name(_clean(doc.title) or "", source, page_url),
                date=_trusted(_iso(doc.date)) or _visible_date(markup, doc.title),
                source=source, author=_authors(doc.author, source), url=page_url,
                fallback=fallback)


def _without_teaser_articles(markup: str):
    """The page as trafilatura parses it, without the <article> elements that are teaser
    cards around the story: trafilatura reads every <article> of a page, and news pages carry
    8-13 of them ("more stories", "most read"). Cards are the <article>s much smaller than the
    largest one, or all of them when the story itself is not in an <article>."""
    from trafilatura.utils import load_html

    tree = load_html(markup)
    if tree is None:
        return markup  # let trafilatura report it
    articles = [a for a in tree.iter("article") if not any(p.tag == "article" for p in a.iterancestors())]
    if len(articles) < 2:
        return tree
    size = lambda el: sum(len(" ".join(p.text_content().split())) for p in el.iter("p"))
    sizes = [size(a) for a in articles]
    biggest = max(range(len(articles)), key=sizes.__getitem__)
    page = size(tree)
    if sizes[biggest] >= 0.5 * page:
        cards = [a for i, a in enumerate(articles) if i != biggest and sizes[i] * 3 <= sizes[biggest]]
    elif sizes[biggest] * 4 <= page:
        cards = articles  # the story is elsewhere; every <article> is a card
    else:
        cards = []
    for card in cards:
        card.getparent().remove(card)
    return tree


def _extract(trafilatura, markup: str, options: dict):
    try:
        return trafilatura.bare_extraction(markup, **options)
    except (ValueError, TypeError, AttributeError, RecursionError, LookupError):
        # Malformed markup that lxml or a heuristic chokes on: the page is skipped, not the build.
        return None


_INVISIBLE = re.compile(r"<(script|style|noscript|template|svg)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")


def _visible_date(markup: str, title: str | None) -> str | None:
    """A dateline shown near the headline ("28 آب/اغسطس 2013", "Published 3 May 2024"), in
    the languages qa.dates reads, for pages whose metadata states no date."""
    text = html.unescape(_TAG.sub("\n", _INVISIBLE.sub(" ", markup)))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    start = 0
    if title:
        start = next((i for i, line in enumerate(lines) if title.strip() in line), 0)
    for line in lines[start:start + 40]:
        if len(line) <= 100:
            found = date_in(line)
            if found:
                return found
    return None


def _trusted(date: str | None) -> str | None:
    """htmldate's date, unless it is its bare-year guess: a page that states no day gets
    YYYY-01-01 from a year found anywhere (a copyright line). A wrong day is worse than none
    for date filters; the dateline under the headline is tried instead."""
    return None if date and date.endswith("-01-01") else date


def _too_short(text: str | None, title: str | None) -> bool:
    text = text or ""
    if title and text.startswith(title):
        text = text[len(title):]
    # Characters, not words: Chinese, Japanese and Thai write no spaces between words.
    return len("".join(text.split())) < MIN_ARTICLE_CHARS


def strip_site_name(title: str, source: str | None, url: str | None) -> str:
    """'Egypt signs deal - CNNPolitics' -> 'Egypt signs deal': a leading or trailing part that
    names the outlet (its site name or its host) is not part of the headline."""
    names = {_key(source)} if source else set()
    host = _host(url)
    if host:
        names.add(_key(host.split(".")[-2] if host.count(".") >= 1 else host))
        names.add(_key(host))
    names.discard("")
    if not names:
        return title
    spans = [m.span() for m in _SEPARATORS.finditer(title)]
    if not spans:
        return title
    last, first = title[spans[-1][1]:], title[:spans[0][0]]
    if _names_outlet(last, names, leading=False):
        return title[:spans[-1][0]].strip()
    if _names_outlet(first, names, leading=True):
        return title[spans[0][1]:].strip()
    return title


def _names_outlet(part: str, names: set[str], leading: bool) -> bool:
    key = _key(part)
    if len(key) < 2 or len(part.split()) > 6:
        return False
    for name in names:
        if key == name:
            return True
        # "CNNPolitics" for CNN, "Al-Ahram Weekly" for ahram.org.eg; never a headline's
        # first word that merely begins the site's name ("Egypt: ..." on egypttoday.com).
        if not leading and len(name) >= 3 and (key.startswith(name) or (name.startswith(key) and
                                                                         len(key) >= 0.6 * len(name))):
            return True
    return False


def _authors(value: str | None, source: str | None) -> str | None:
    """trafilatura's "A; B; CNN" without the outlet itself (a byline naming the agency or the
    site is not a person) and without repeats."""
    names = []
    for name in (_clean(part) for part in (value or "").split(";")):
        if name and _key(name) != _key(source) and name not in names:
            names.append(name)
    return "; ".join(names) or None


def _key(text: str | None) -> str:
    return re.sub(r"[\W_]+", "", (text or "").casefold())


def _clean(value: str | None) -> str | None:
    value = " ".join((value or "").split())
    return value or None


def _web_url(value: str | None) -> str | None:
    value = (value or "").strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host or None


def _iso(value: str | None) -> str | None:
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", value or "")
    return "-".join(m.groups()) if m else None
