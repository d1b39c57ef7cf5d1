"""Search filters (lang, doc_id, source, author, date range): which rows of a generation
a search may return."""
from __future__ import annotations

import re

import numpy as np

from .validation import check_where


def allowed_rows(snap, where: dict | None) -> np.ndarray | None:
    """Rows of the articles that pass `where`. Every value is checked up front (check_where),
    whatever the articles hold, so a bad date is refused even when no article is dated.
    Language, doc id and dates are one SQL query over the articles table, and the rows of the
    articles found one numpy pass: no Python loop over every article or chunk. Source and
    author (case-folded, one of several authors, a surname) are matched in Python, on the
    articles the other conditions leave."""
    where = check_where(where)
    if not where:
        return None
    clauses, params = [], []
    for key in ("lang", "doc_id"):
        if where.get(key) is not None:
            options = [where[key]] if isinstance(where[key], str) else list(where[key])
            clauses.append(f"{key} IN ({', '.join('?' * len(options))})")
            params += options
    if where.get("date_from"):
        clauses.append("date IS NOT NULL AND date >= ?")
        params.append(where["date_from"])
    if where.get("date_to"):
        clauses.append("date IS NOT NULL AND date <= ?")
        params.append(where["date_to"])
    for key in ("source", "author"):
        if where.get(key):
            clauses.append(f"{key} IS NOT NULL")
    ok_docs = snap.docs.select(" AND ".join(clauses) or "1", params)
    if where.get("source") or where.get("author"):
        ok_docs = [d for d in ok_docs if _by_source_and_author(where, snap.docs[d])]
    return snap.doc_of.rows_of(ok_docs)


def _by_source_and_author(where: dict, meta: tuple) -> bool:
    title, lang, date, source, url, author = meta
    if where.get("source") and not _matches(where["source"], source, fold=True):
        return False
    return not where.get("author") or _names_author(where["author"], author)


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
