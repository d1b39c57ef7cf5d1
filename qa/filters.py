"""Search filters (lang, doc_id, source, author, date range): which rows of a generation
a search may return."""
from __future__ import annotations

import re

import numpy as np

from .validation import check_where


def allowed_rows(snap, where: dict | None) -> np.ndarray | None:
    """Rows of the articles that pass `where`. Every value is checked up front (check_where),
    whatever the articles hold, so a bad date is refused even when no article is dated."""
    where = check_where(where)
    if not where:
        return None
    ok_docs = set()
    for doc_id, (title, lang, date, source, url, author) in snap.docs.items():
        if not _matches(where.get("lang"), lang) or not _matches(where.get("doc_id"), doc_id):
            continue
        if where.get("source") and not (source and _matches(where["source"], source, fold=True)):
            continue
        if where.get("author") and not (author and _names_author(where["author"], author)):
            continue
        if where.get("date_from") and not (date and date >= where["date_from"]):
            continue
        if where.get("date_to") and not (date and date <= where["date_to"]):
            continue
        ok_docs.add(doc_id)
    return np.array([i for i, d in enumerate(snap.doc_of) if d in ok_docs], dtype="int64")


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
