"""SQLite: articles (metadata + stored text) and chunks (offsets into that text)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .types import Article

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    lang TEXT NOT NULL,
    date TEXT,
    source TEXT,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    removed TEXT NOT NULL,  -- JSON list of boilerplate lines taken out
    url TEXT,
    author TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES articles(doc_id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    text TEXT NOT NULL,
    terms TEXT NOT NULL  -- JSON list of BM25 terms, so rebuilding BM25 never re-tokenises
);
-- Covers what an open index reads of every chunk (qa/snapshot.py) without the text pages,
-- and the chunks of an article (it leads with doc_id).
CREATE INDEX IF NOT EXISTS chunks_span ON chunks(doc_id, start, end);
CREATE TABLE IF NOT EXISTS duplicates (
    doc_id TEXT PRIMARY KEY,   -- a file whose content equals an indexed article
    same_as TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
"""


def open_db(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        # immutable: a generation never changes once written, so no locks and no journal.
        uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None)
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.executescript(SCHEMA)
        _add_missing_columns(conn)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


# Columns added after the first format: an index built before them is brought up to date
# when a build copies its store, and read without them (as None) until then.
LATER_COLUMNS = {"url": "TEXT", "author": "TEXT"}


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    have = article_columns(conn)
    for name, kind in LATER_COLUMNS.items():
        if name not in have:
            conn.execute(f"ALTER TABLE articles ADD COLUMN {name} {kind}")


def article_columns(conn: sqlite3.Connection) -> set[str]:
    return {row[1] for row in conn.execute("PRAGMA table_info(articles)")}


def optional_columns(conn: sqlite3.Connection) -> str:
    """SQL select list for the later columns: the column, or NULL in an older store."""
    have = article_columns(conn)
    return ", ".join(name if name in have else f"NULL AS {name}" for name in LATER_COLUMNS)


def article_hashes(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT doc_id, content_hash FROM articles"))


def articles_in(conn: sqlite3.Connection, languages) -> set[str]:
    """Doc ids of the stored articles in any of `languages`."""
    wanted = sorted(languages)
    if not wanted:
        return set()
    marks = ",".join("?" * len(wanted))
    return {d for (d,) in conn.execute(f"SELECT doc_id FROM articles WHERE lang IN ({marks})", wanted)}


def duplicate_hashes(conn: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    return {d: (same, h) for d, same, h in conn.execute("SELECT doc_id, same_as, content_hash FROM duplicates")}


def chunk_ids_of(conn: sqlite3.Connection, doc_ids: list[str]) -> list[int]:
    ids: list[int] = []
    for doc_id in doc_ids:
        ids += [r[0] for r in conn.execute("SELECT chunk_id FROM chunks WHERE doc_id=?", (doc_id,))]
    return ids


def delete_articles(conn: sqlite3.Connection, doc_ids: list[str]) -> None:
    for doc_id in doc_ids:
        conn.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        conn.execute("DELETE FROM articles WHERE doc_id=?", (doc_id,))


def insert_article(conn: sqlite3.Connection, a: Article) -> None:
    conn.execute(
        "INSERT INTO articles(doc_id, title, lang, date, source, content_hash, text, removed, url, author)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        (a.doc_id, a.title, a.lang, a.date, a.source, a.content_hash, a.text,
         json.dumps(list(a.removed), ensure_ascii=False), a.url, a.author))


def insert_chunks(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    conn.executemany(
        "INSERT INTO chunks(chunk_id, doc_id, ord, start, end, tokens, text, terms) VALUES (?,?,?,?,?,?,?,?)", rows)


def next_chunk_id(conn: sqlite3.Connection) -> int:
    (top,) = conn.execute("SELECT COALESCE(MAX(chunk_id), -1) FROM chunks").fetchone()
    return int(top) + 1


def read_article(conn: sqlite3.Connection, doc_id: str) -> Article | None:
    row = conn.execute(
        "SELECT doc_id, title, text, lang, date, source, content_hash, removed, "
        f"{optional_columns(conn)} FROM articles WHERE doc_id=?", (doc_id,)).fetchone()
    if row is None:
        return None
    return Article(doc_id=row[0], title=row[1], text=row[2], lang=row[3], date=row[4], source=row[5],
                   content_hash=row[6], removed=tuple(json.loads(row[7])), url=row[8], author=row[9])
