"""One loaded generation, as compact as search allows: chunk ids, offsets, the article of
each row (codes into one list of doc ids) and its language in numpy arrays; passage text,
BM25 terms and article metadata stay in SQLite and are read for the rows a search returns or
inspects (recently read ones kept). So an open index no longer holds every chunk's text as
Python objects (about 2 KB a chunk), and opening one reads no text at all."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import store
from .lexical import LexicalIndex
from .vectors import VectorIndex

ROWS_CACHED = 8192  # chunk texts / terms kept per column: a few answers' candidates
ARTICLES_CACHED = 4096
_PAGE = 50_000  # rows per fetch while opening: bounds the temporary Python objects


class StoredColumn:
    """A column of the chunks table by row (`column[row]`), read from SQLite when asked.
    Iterating streams every row in order (for the rare scans over the whole corpus)."""

    def __init__(self, conn, lock: threading.Lock, chunk_ids: np.ndarray, column: str):
        self.conn, self.lock, self.chunk_ids, self.column = conn, lock, chunk_ids, column
        self._get = lru_cache(maxsize=ROWS_CACHED)(self._fetch)

    def _fetch(self, chunk_id: int) -> str:
        with self.lock:
            found = self.conn.execute(f"SELECT {self.column} FROM chunks WHERE chunk_id = ?", (chunk_id,)).fetchone()
        if found is None:
            raise KeyError(chunk_id)
        return found[0]

    def __getitem__(self, row) -> str:
        return self._get(int(self.chunk_ids[row]))

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def __iter__(self):
        with self.lock:
            cursor = self.conn.execute(f"SELECT {self.column} FROM chunks ORDER BY chunk_id")
        while True:
            with self.lock:
                page = cursor.fetchmany(1000)
            if not page:
                return
            yield from (value for (value,) in page)


class DocColumn:
    """The article of each row: `codes[row]` indexes `names` (doc ids); `column[row]` is the id.
    `lang` and `date` ("" when undated) are per article, aligned with `names`, for filters."""

    def __init__(self, codes: np.ndarray, names: list[str], lang: np.ndarray, date: np.ndarray):
        self.codes, self.names, self.lang, self.date = codes, names, lang, date
        self.code_of = {name: code for code, name in enumerate(names)}

    def __getitem__(self, row) -> str:
        return self.names[self.codes[row]]

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self):
        return (self.names[c] for c in self.codes)

    def rows_where(self, articles: np.ndarray) -> np.ndarray:
        """Rows of the articles marked True (a mask over `names`), in row order."""
        return np.nonzero(articles[self.codes])[0].astype("int64")


class RowLanguages:
    """The language of each row (`column[row]`, or `column[rows]` as an array), looked up
    through its article's code: a per-row string array would cost 32 bytes a chunk."""

    def __init__(self, codes: np.ndarray, doc_lang: np.ndarray):
        self.codes, self.doc_lang = codes, doc_lang

    def __getitem__(self, rows):
        return self.doc_lang[self.codes[rows]]

    def __len__(self) -> int:
        return len(self.codes)


class Articles:
    """doc_id -> (title, lang, date, source, url, author), read from SQLite when asked;
    iterating yields every doc id."""

    def __init__(self, conn, lock: threading.Lock):
        self.conn, self.lock = conn, lock
        self._columns = f"title, lang, date, source, {store.optional_columns(conn)}"
        self._get = lru_cache(maxsize=ARTICLES_CACHED)(self._fetch)

    def _fetch(self, doc_id: str) -> tuple:
        with self.lock:
            found = self.conn.execute(f"SELECT {self._columns} FROM articles WHERE doc_id = ?", (doc_id,)).fetchone()
        if found is None:
            raise KeyError(doc_id)
        return tuple(found)

    def __getitem__(self, doc_id: str) -> tuple:
        return self._get(doc_id)

    def __iter__(self):
        with self.lock:
            ids = [d for (d,) in self.conn.execute("SELECT doc_id FROM articles")]
        return iter(ids)

    def __len__(self) -> int:
        with self.lock:
            return self.conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

@dataclass
class Snapshot:
    name: str
    folder: Path
    manifest: dict
    vectors: VectorIndex
    lexical: LexicalIndex
    conn: object
    chunk_ids: np.ndarray  # row -> chunk id, sorted
    doc_of: DocColumn
    starts: np.ndarray
    ends: np.ndarray
    texts: StoredColumn
    terms_json: StoredColumn  # BM25 terms per chunk as stored: near-duplicate checks reuse them
    docs: Articles
    companion: VectorIndex | None = None  # multilingual vectors (manifest "companion")
    row_lang: RowLanguages | None = None  # row -> its article's language


def read_rows(conn) -> tuple[np.ndarray, DocColumn, np.ndarray, np.ndarray, RowLanguages]:
    """chunk ids, doc column, starts, ends and row languages, page by page into numpy. The
    scan reads the chunks_span index (store.SCHEMA), not the table's text, then sorts by id."""
    ids, codes, starts, ends = [], [], [], []
    code_of: dict[str, int] = {}
    cursor = conn.execute("SELECT chunk_id, doc_id, start, end FROM chunks")
    while page := cursor.fetchmany(_PAGE):
        ids.append(np.fromiter((r[0] for r in page), dtype="int64", count=len(page)))
        codes.append(np.fromiter((code_of.setdefault(r[1], len(code_of)) for r in page), dtype="int32",
                                 count=len(page)))
        starts.append(np.fromiter((r[2] for r in page), dtype="int64", count=len(page)))
        ends.append(np.fromiter((r[3] for r in page), dtype="int64", count=len(page)))
    names = list(code_of)
    join = lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
    chunk_ids, codes_, starts_, ends_ = join(ids, "int64"), join(codes, "int32"), join(starts, "int64"), join(ends, "int64")
    order = np.argsort(chunk_ids, kind="stable")
    facts = {d: (lang, date) for d, lang, date in conn.execute("SELECT doc_id, lang, COALESCE(date, '') FROM articles")}
    doc_lang = np.array([facts[name][0] for name in names], dtype="U8")
    doc_date = np.array([facts[name][1] for name in names], dtype="U10")
    codes_ = codes_[order]
    return chunk_ids[order], DocColumn(codes_, names, doc_lang, doc_date), starts_[order], ends_[order], \
        RowLanguages(codes_, doc_lang)


def open_snapshot(folder: Path, manifest: dict) -> Snapshot:
    vectors = VectorIndex.load(folder / "vectors.faiss", manifest.get("vector_index", "flat"),
                               manifest.get("vector_search"), mapped=True)  # a generation never changes
    companion = VectorIndex.load(folder / "companion.faiss", manifest["companion"].get("vector_index", "flat")) \
        if manifest.get("companion") else None
    lexical = LexicalIndex.load(folder / "bm25")
    conn = store.open_db(folder / "store.sqlite", readonly=True)
    lock = threading.Lock()  # one connection, shared by the threads that search it
    chunk_ids, doc_of, starts, ends, row_lang = read_rows(conn)
    return Snapshot(name=folder.name, folder=folder, manifest=manifest, vectors=vectors, lexical=lexical,
                    conn=conn, chunk_ids=chunk_ids, doc_of=doc_of, starts=starts, ends=ends,
                    texts=StoredColumn(conn, lock, chunk_ids, "text"),
                    terms_json=StoredColumn(conn, lock, chunk_ids, "terms"),
                    docs=Articles(conn, lock), companion=companion, row_lang=row_lang)
