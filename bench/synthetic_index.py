"""A complete qa generation of N synthetic chunks, streamed so its size is not bounded by memory
(storage-scale benchmark data for bench/reader_memory.py: vectors are bench/scale.py's
"clustered" unit vectors, text random words from the seeds' vocabulary; this measures storage
and search, not quality).

Everything is drawn again from its seed when it is needed a second time, so memory holds one
batch (10,000 chunks) besides what the finished index itself holds:
- SQLite rows through qa.store, as a build writes them;
- vectors through qa.vectors.VectorIndex (an IVF index trained on a sample, then filled and
  tuned batch by batch, as VectorIndex.compressed does with everything in memory);
- BM25 in bm25s's own saved format, scored as bm25s scores (method "lucene") but written term
  column by term column into memory-mapped arrays, two passes (document frequencies and lengths,
  then scores). bm25s's own index() needs every chunk's terms at once (about 4 KB a chunk as
  Python lists): ~20 GB at 5M chunks. tests/test_bench_synthetic_index.py checks the scores
  equal those of LexicalIndex.build over the same terms.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DIMENSION = 384  # all-MiniLM-L6-v2
WORDS_PER_CHUNK = 170  # ~1,000 characters, as the seeds' 200-token chunks
CHUNKS_PER_ARTICLE = 5
BATCH = 10_000
KINDS = ("flat", "auto", "ivf-sq8")


def make_index(target: Path, chunks: int, kind: str = "flat", seed: int = 0) -> None:
    """Write the generation at `target` (skipped if one is there). kind "flat" keeps exact
    vectors whatever the size; "auto" stores them as a build of that size would
    (qa.build._fit_kind: HNSW above 100,000, IVF over 8-bit codes above 500,000); "ivf-sq8"
    compresses at any size."""
    sys.path.insert(0, str(ROOT))
    from qa import storage, store
    from qa.settings import Settings

    if target.is_dir() and storage.current_generation(target):
        return
    target.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    words = Vocabulary.of_folder(ROOT / "seeds")
    name, tmp = storage.new_generation_dir(target)
    conn = store.open_db(tmp / "store.sqlite")
    conn.execute("BEGIN")
    lexical = StreamingBM25(words.terms, chunks, scratch=tmp / "bm25-scratch")
    for start, word_ids in _word_batches(chunks, len(words.words), seed):
        ids = np.arange(start, start + len(word_ids), dtype="int64")
        texts, term_lists = words.texts(word_ids), words.terms_json(word_ids)
        if start == 0:
            words.check(texts[:50], term_lists[:50])
        conn.executemany("INSERT INTO articles(doc_id, title, lang, date, source, content_hash, text, removed)"
                         " VALUES (?,?,?,?,?,?,?,?)", [_article_row(cid) for cid in ids[ids % CHUNKS_PER_ARTICLE == 0]])
        store.insert_chunks(conn, [(cid, _doc_id(cid), cid % CHUNKS_PER_ARTICLE, 0, len(text), WORDS_PER_CHUNK,
                                    text, terms) for cid, text, terms in zip(ids.tolist(), texts, term_lists)])
        lexical.count(words.term_ids(word_ids))
        _progress(target, "rows", start + len(word_ids), chunks)
    conn.execute("COMMIT")
    conn.close()
    vectors = _vectors(target, chunks, kind, settings)
    vectors.save(tmp / "vectors.faiss")
    vector_record = {"vector_index": vectors.kind, **({"vector_search": vectors.tuning} if vectors.tuning else {})}
    del vectors  # the IVF codes: gone before the BM25 columns fill the page cache
    for start, word_ids in _word_batches(chunks, len(words.words), seed):
        lexical.write(start, words.term_ids(word_ids))
        _progress(target, "BM25 scores", start + len(word_ids), chunks)
    lexical.save(tmp / "bm25")
    manifest = {"format_version": storage.FORMAT_VERSION, "model": settings.model, "model_languages": ["en"],
                "dimension": DIMENSION, "normalized": True, "metric": "inner_product",
                **vector_record,
                "max_tokens": 256, "embedding": {"backend": "synthetic", "precision": "fp32"},
                "chunk_tokens": settings.chunk_tokens, "chunk_overlap": settings.chunk_overlap,
                "title_tokens": settings.title_tokens,
                "counts": {"articles": -(-chunks // CHUNKS_PER_ARTICLE), "chunks": chunks, "languages": {"en": 1}},
                "built_at": storage.now_iso()}
    storage.commit_generation(target, name, tmp, manifest)


class Vocabulary:
    """The words synthetic text is drawn from, and each word's BM25 term (qa.lexical.tokenize
    of the word alone; None for a stop word): random words separated by spaces tokenize word by
    word, which `check` confirms on the first texts of every run."""

    def __init__(self, words: list[str]):
        from qa.lexical import tokenize

        self.words = words
        word_terms = [tokenize(w) for w in words]
        self.terms = sorted({t[0] for t in word_terms if t})
        position = {t: i for i, t in enumerate(self.terms)}
        self.term_of_word = np.array([position[t[0]] if t else -1 for t in word_terms], dtype="int32")
        self._json_of_word = [json.dumps(t[0]) if t else None for t in word_terms]

    @classmethod
    def of_folder(cls, folder: Path) -> "Vocabulary":
        found = set()
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".txt", ".md", ".html"):
                found.update(re.findall(r"[A-Za-z][a-z]{2,}", path.read_text(encoding="utf-8", errors="replace")))
        return cls(sorted(found))

    def texts(self, word_ids: np.ndarray) -> list[str]:
        words = self.words
        return [" ".join([words[i] for i in row]) for row in word_ids.tolist()]

    def terms_json(self, word_ids: np.ndarray) -> list[str]:
        """Each row's terms as qa.store keeps them (json.dumps of the list)."""
        fragments = self._json_of_word
        return ["[" + ", ".join([f for f in (fragments[i] for i in row) if f]) + "]" for row in word_ids.tolist()]

    def term_ids(self, word_ids: np.ndarray) -> np.ndarray:
        return self.term_of_word[word_ids]  # -1 where the word is a stop word

    def check(self, texts: list[str], terms_json: list[str]) -> None:
        from qa.lexical import tokenize

        for text, terms in zip(texts, terms_json):
            if tokenize(text) != json.loads(terms):
                raise AssertionError(f"word-by-word terms differ from qa.lexical.tokenize on {text[:80]!r}")


class StreamingBM25:
    """bm25s's score matrix (CSC: one column of (chunk row, score) per term) built from term
    ids streamed twice: `count` every batch (document frequency, lengths), then `write` every
    batch again in the same order. Parameters are bm25s.BM25()'s defaults, as qa.lexical uses."""

    def __init__(self, terms: list[str], rows: int, scratch: Path):
        import bm25s

        self.terms, self.rows, self.scratch = terms, rows, scratch
        self.bm25 = bm25s.BM25()  # its parameters here; its score matrix once written
        if self.bm25.method != "lucene" or self.bm25.idf_method not in (None, "lucene"):
            raise RuntimeError(f"bm25s defaults changed ({self.bm25.method}): update bench/synthetic_index.py")
        self.doc_freq = np.zeros(len(terms), dtype="int64")
        self.lengths = np.zeros(rows, dtype="int32")
        self.counted = 0
        self.data = self.indices = self.cursor = None

    def count(self, term_ids: np.ndarray) -> None:
        _, term, _ = self._pairs(term_ids)  # one pair per (row, term): counts rows
        self.doc_freq += np.bincount(term, minlength=len(self.terms))
        self.lengths[self.counted:self.counted + len(term_ids)] = (term_ids >= 0).sum(axis=1)
        self.counted += len(term_ids)

    def write(self, start: int, term_ids: np.ndarray) -> None:
        if self.data is None:
            self._allocate()
        row, term, tf = self._pairs(term_ids)  # sorted by term, then row
        k1, b = self.bm25.k1, self.bm25.b
        length = self.lengths[start + row].astype("float64")
        tfc = tf / (k1 * ((1 - b) + b * length / self.average_length) + tf)
        first = np.searchsorted(term, term, side="left")
        slots = self.cursor[term] + (np.arange(len(term)) - first)
        self.data[slots] = (self.idf[term] * tfc).astype("float32")
        self.indices[slots] = (start + row).astype("int32")
        self.cursor += np.bincount(term, minlength=len(self.terms))

    def save(self, folder: Path) -> None:
        """Through qa.lexical.LexicalIndex.save (bm25s's own save), so the files are the ones a
        build writes; the memory-mapped columns are copied from the scratch folder, then removed."""
        from qa.lexical import LexicalIndex

        if self.data is None:
            self._allocate()
        if not np.array_equal(self.cursor, self.indptr[1:]):
            raise AssertionError("write() did not see the batches count() saw")
        self.data.flush()
        self.indices.flush()
        retriever = self.bm25
        retriever.scores = {"data": self.data, "indices": self.indices, "indptr": self.indptr,
                            "num_docs": self.rows}
        retriever.vocab_dict = {t: i for i, t in enumerate(self.terms)}
        retriever.vocab_dict[""] = len(self.terms)  # as bm25s's index(create_empty_token=True)
        retriever.nonoccurrence_array = None
        folder.mkdir(parents=True, exist_ok=True)
        LexicalIndex(retriever, np.arange(self.rows, dtype="int64")).save(folder)
        self.data = self.indices = retriever.scores = None
        shutil.rmtree(self.scratch)

    def _allocate(self) -> None:
        from bm25s.scoring import _score_idf_lucene

        self.average_length = float(self.lengths.mean())
        self.idf = np.array([_score_idf_lucene(int(df), N=self.rows) if df else 0.0 for df in self.doc_freq],
                            dtype="float32")
        self.indptr = np.zeros(len(self.terms) + 1, dtype="int64")
        np.cumsum(self.doc_freq, out=self.indptr[1:])
        self.cursor = self.indptr[:-1].copy()
        nonzero = int(self.indptr[-1])
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.data = np.lib.format.open_memmap(self.scratch / "data.npy", "w+", "float32", (nonzero,))
        self.indices = np.lib.format.open_memmap(self.scratch / "indices.npy", "w+", "int32", (nonzero,))

    @staticmethod
    def _pairs(term_ids: np.ndarray):
        """(row, term, count) of every term in every row, sorted by term, then row."""
        rows = term_ids.shape[0]
        keep = term_ids >= 0
        key = term_ids.astype("int64")[keep] * rows + np.nonzero(keep)[0]
        pairs, tf = np.unique(key, return_counts=True)
        return pairs % rows, pairs // rows, tf.astype("float64")


def _word_batches(chunks: int, vocabulary: int, seed: int):
    for start in range(0, chunks, BATCH):
        rng = np.random.default_rng([seed, start // BATCH])
        yield start, rng.integers(0, vocabulary, (min(BATCH, chunks - start), WORDS_PER_CHUNK), dtype="int32")


def _vectors(target: Path, chunks: int, kind: str, settings):
    """The vector index of the stream bench/scale.py draws (twice for IVF: once to fill it,
    once for the exact top 10 its nprobe is tuned against)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from qa.vectors import FLAT, HNSW, IVF_SQ8, TUNING_QUERIES, VectorIndex, ivf_sample_size
    from scale import iter_dataset

    if kind == "auto":
        kind = FLAT if chunks <= settings.approximate_above else HNSW if chunks <= settings.compress_above \
            else IVF_SQ8

    def blocks():
        """Every (ids, vectors) of the stream, in its blocks; the same rows at every call."""
        stream = iter_dataset("clustered", chunks, TUNING_QUERIES)
        next(stream)  # the queries come first
        start = 0
        for block in stream:
            yield np.arange(start, start + len(block), dtype="int64"), block
            start += len(block)

    if kind == IVF_SQ8:
        # The stream's rows are independent draws: its head is a uniform sample.
        wanted, head = ivf_sample_size(chunks), []
        for _, block in blocks():
            head.append(block[:wanted - sum(map(len, head))])
            if sum(map(len, head)) >= wanted:
                break
        vectors = VectorIndex.trained_ivf(np.vstack(head), chunks)
        del head
    else:
        vectors = VectorIndex.empty(DIMENSION, kind)
    for ids, block in blocks():
        vectors.add(ids, block)
        _progress(target, "vectors", int(ids[-1]) + 1, chunks)
    if kind == IVF_SQ8:
        vectors.tune(next(iter_dataset("clustered", chunks, TUNING_QUERIES)), blocks())
    return vectors


def _doc_id(cid: int) -> str:
    return f"a{cid // CHUNKS_PER_ARTICLE:07d}.txt"


def _article_row(cid: int) -> tuple:
    return (_doc_id(cid), f"Article {_doc_id(cid)}", "en", f"20{10 + cid % 15:02d}-0{1 + cid % 9}-1{cid % 10}",
            "Synthetic News", f"{cid:064x}", "", "[]")


def _progress(target: Path, what: str, done: int, total: int) -> None:
    if done == total or done % 500_000 < BATCH:
        print(f"  {target.name}: {what} {done:,} / {total:,}", flush=True)
