"""Input checks shared by every entry point: the Python API (`Index.search`, `ask`), the CLI and
the web app. Each check returns its value in normal form or raises a named `InputError` whose
message is one line naming the bad value and what is accepted, before any work is done.

    question, k, mode, where, history = validate_request(question, k=k, mode=mode, where=where,
                                                         history=history)
"""
from __future__ import annotations

import calendar
import datetime as dt
import numbers
import re
import unicodedata
from collections.abc import Mapping
from typing import NamedTuple

from .errors import EmptyQueryError, FilterError, HistoryError, InvalidQueryError, QueryTooLongError
from .settings import Settings, from_env

MODES = ("hybrid", "dense", "lexical")
FILTER_KEYS = ("lang", "source", "author", "doc_id", "date_from", "date_to")
TEXT_FILTERS = ("lang", "source", "author", "doc_id")
DATE_FORMS = "YYYY, YYYY-MM or YYYY-MM-DD"
# Follow-ups read only the last turns; 50 is far beyond a real conversation and bounds the
# work a single request can ask for.
MAX_HISTORY_TURNS = 50
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class Request(NamedTuple):
    """A checked request; unpacks as (question, k, mode, where, history)."""

    question: str
    k: int
    mode: str
    where: dict | None
    history: list[tuple[str, str]]


def validate_request(question, *, k=5, mode="hybrid", where=None, history=None,
                     settings: Settings | None = None) -> Request:
    """Check everything a search or a question takes and return it in normal form.

    validate_request(question, *, k=5, mode="hybrid", where=None, history=None, settings=None)
        -> Request(question: str, k: int, mode: str, where: dict | None, history: list[tuple[str, str]])

    - question: text within settings.max_query_chars, NFC, control characters as spaces, white
      space collapsed (EmptyQueryError, QueryTooLongError, InvalidQueryError).
    - k: a whole number (int or numpy integer; not bool, str, float or None) in 1..settings.max_k.
    - mode: one of MODES.
    - where: None or a dict with keys from FILTER_KEYS; see check_where (FilterError).
    - history: None or a list of (question, answer) pairs of text, lists of two accepted, at most
      MAX_HISTORY_TURNS; returned as a list of tuples (HistoryError).
    `settings` defaults to `from_env()`, so QA_MAX_K and QA_MAX_QUERY_CHARS apply.
    """
    settings = settings or from_env()
    return Request(normalize_query(question, settings.max_query_chars), check_k(k, settings.max_k),
                   check_mode(mode), check_where(where), check_history(history, settings.max_query_chars))


def normalize_query(query, limit: int) -> str:
    """The query as searched: NFC, control and format characters as spaces, white space collapsed."""
    if not isinstance(query, str):
        raise InvalidQueryError(f"the query must be text, got {type(query).__name__} {_show(query)}")
    if len(query) > limit:
        raise QueryTooLongError(f"the query has {len(query):,} characters; the limit is {limit:,}")
    _check_text(query, "the query", InvalidQueryError)
    query = unicodedata.normalize("NFC", query)
    # Control and format characters (incl. right-to-left overrides) carry no meaning for search.
    query = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in query)
    query = " ".join(query.split())
    if not query:
        raise EmptyQueryError("the query is empty: type a question or some words to search for")
    return query


def check_k(k, max_k: int) -> int:
    """k as an int in 1..max_k. bool is refused although Python counts it as an int."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= max_k:
        raise FilterError(f"k must be a whole number from 1 to {max_k} (setting max_k), got {_show(k)}")
    return int(k)


def check_mode(mode) -> str:
    if not isinstance(mode, str) or mode not in MODES:
        raise FilterError(f"unknown search mode {_show(mode)}; valid: {', '.join(MODES)}")
    return mode


def check_where(where) -> dict | None:
    """Filters in normal form, or None when none is set.

    lang, source, author, doc_id: a text or a non-empty list/tuple of texts (returned as a tuple);
    date_from, date_to: a date as YYYY, YYYY-MM or YYYY-MM-DD that exists on the calendar (or a
    datetime.date), date_from not after date_to; a partial date_to stands for the end of its
    year or month ("2025-02" -> "2025-02-28"). A value of None or blank text is no filter.
    """
    if where is None:
        return None
    if not isinstance(where, Mapping):
        raise FilterError(f"filters must be a dict such as {{'lang': 'ar'}}, got {type(where).__name__} "
                          f"{_show(where)}")
    unknown = sorted(repr(key) if not isinstance(key, str) else key for key in where if key not in FILTER_KEYS)
    if unknown:
        raise FilterError(f"unknown filter(s) {', '.join(unknown)}; valid: {', '.join(FILTER_KEYS)}")
    clean = {}
    for key in FILTER_KEYS:
        value = where.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        clean[key] = _text_filter(key, value) if key in TEXT_FILTERS else _date_filter(key, value)
    if "date_from" in clean and "date_to" in clean and clean["date_from"] > clean["date_to"]:
        raise FilterError(f"filter date_from {clean['date_from']} is after date_to {clean['date_to']}")
    return clean or None


def check_history(history, limit: int) -> list[tuple[str, str]]:
    """Earlier turns as a list of (question, answer) tuples; questions within the query limit."""
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise HistoryError(f"history must be a list of [question, answer] pairs, got {type(history).__name__} "
                           f"{_show(history)}")
    if len(history) > MAX_HISTORY_TURNS:
        raise HistoryError(f"history has {len(history)} turns; at most {MAX_HISTORY_TURNS} are accepted")
    turns = []
    for n, turn in enumerate(history, 1):
        if not (isinstance(turn, (list, tuple)) and len(turn) == 2 and all(isinstance(t, str) for t in turn)):
            raise HistoryError(f"history turn {n} must be a [question, answer] pair of texts, got {_show(turn)}")
        question, answer = turn
        if len(question) > limit:
            raise HistoryError(f"history turn {n} has a question of {len(question):,} characters; "
                               f"the limit is {limit:,}")
        _check_text(question, f"history turn {n}", HistoryError)
        _check_text(answer, f"history turn {n}", HistoryError)
        turns.append((question, answer))
    return turns


def _text_filter(key: str, value) -> str | tuple[str, ...]:
    if isinstance(value, str):
        _check_text(value, f"filter {key}", FilterError)
        return value.strip()
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        for v in value:
            _check_text(v, f"filter {key}", FilterError)
        return tuple(v.strip() for v in value)
    raise FilterError(f"filter {key} takes a text or a non-empty list of texts (e.g. {{'{key}': 'x'}} or "
                      f"{{'{key}': ['x', 'y']}}), got {_show(value)}")


def _date_filter(key: str, value) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()[:10]  # a datetime counts by its day
    if not isinstance(value, str):
        raise FilterError(f"filter {key} takes a date as {DATE_FORMS}, got {_show(value)}")
    text = value.strip()
    m = _DATE.match(text)
    if not m:
        raise FilterError(f"filter {key} takes a date as {DATE_FORMS}, got {_show(value)}")
    year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
    try:
        dt.date(year, month, day)
    except ValueError as exc:
        raise FilterError(f"filter {key} {_show(value)} is not a calendar date ({exc}); use {DATE_FORMS}") from None
    if key == "date_to" and not m.group(3):
        # Article dates are full days: "until 2025-02" must include 2025-02-28.
        month = int(m.group(2) or 12)
        return f"{year:04d}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"
    return text


def _check_text(text: str, what: str, error: type) -> None:
    """Refuse lone surrogates: Python's stand-ins for undecodable bytes (sys.argv, file
    names), which no encoder accepts and which would fail later, far from their cause."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        found = (f"the undecodable byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF
                 else f"a lone surrogate U+{code:04X}")
        raise error(f"{what} holds {found} at character {exc.start + 1}, which is not text; "
                    f"give it as UTF-8") from None


def _show(value, limit: int = 60) -> str:
    """repr, shortened: a message stays one short line whatever the input (repr escapes
    newlines and surrogates, so the message can always be printed)."""
    try:
        text = repr(value)
    except Exception:  # a foreign object whose repr fails still gets a message
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"
