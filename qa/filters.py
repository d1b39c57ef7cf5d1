"""Search filters (lang, doc_id, source, author, date range): which rows of a generation
a search may return."""
from __future__ import annotations

import re

import numpy as np

from .validation import check_where


def allowed_rows(snap, where: dict | None) -> np.ndarray | None:
    """Rows of the articles that pass `where`. Every value is checked up front (check_where),
    whatever the articles hold, so a bad date is refused even when no article is dated.
    Language, doc id and dates are numpy comparisons over per-article arrays, and the rows of
    the articles kept one numpy gather: no Python loop over articles or chunks. Source and
    author (case-folded, one of several authors, a surname) are matched in Python, on the
    articles the other conditions leave."""
    where = check_where(where)
    if not where:
        return None
    doc = snap.doc_of
    keep = np.ones(len(doc.names), dtype=bool)
    if where.get("lang") is not None:
        keep &= np.isin(doc.lang, [where["lang"]] if isinstance(where["lang"], str) else list(where["lang"]))
    if where.get("doc_id") is not None:
        named = np.zeros(len(doc.names), dtype=bool)
        options = [where["doc_id"]] if isinstance(where["doc_id"], str) else list(where["doc_id"])
        named[[doc.code_of[d] for d in options if d in doc.code_of]] = True
        keep &= named
    if where.get("date_from"):
        keep &= (doc.date != "") & (doc.date >= where["date_from"])
    if where.get("date_to"):
        keep &= (doc.date != "") & (doc.date <= where["date_to"])
    if where.get("source") or where.get("author"):
        for code in np.nonzero(keep)[0].tolist():
            keep[code] = _by_source_and_author(where, snap.docs[doc.names[code]])
    return doc.rows_where(keep)


def _by_source_and_author(where: dict, meta: tuple) -> bool:
    title, lang, date, source, url, author = meta
    if where.get("source") and not (source and _matches(where["source"], source, fold=True)):
        return False
    return not where.get("author") or bool(author and _names_author(where["author"], author))


def _matches(wanted, value, fold: bool = False) -> bool:
    if wanted is None:
        return True
    options = [wanted] if isinstance(wanted, str) else list(wanted)
    if fold:
        return any(str(o).casefold() == str(value).casefold() for o in options)
    return value in options


def _names_author(wanted: str | list[str], author: str) -> bool:
    """An article with several authors ("A; B") matches any of them, case-folded; a
    surname alone matches its author."""
    names = [n.strip().casefold() for n in author.split(";") if n.strip()]
    wanted = [wanted] if isinstance(wanted, str) else wanted
    for want in (w.strip().casefold() for w in wanted):
        if any(re.search(rf"(?<!\w){re.escape(want)}(?!\w)", n) for n in names):
            return True
    return False
