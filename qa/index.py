"""Index: the reader side. Loads a verified generation and searches it (dense, lexical, hybrid).

An open Index notices when a build has switched CURRENT to a new generation and moves to it
between queries; each query runs on one snapshot, so no answer mixes two generations.
"""
from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import storage, store
from .cleaning import SCRIPT_LANGUAGES, detect_language
from .errors import IndexCorruptError, IndexMismatchError
from .lexical import LexicalIndex, tokenize
from .manifest import check_compatible
from .multilingual import TYPICAL_ANSWER
from .settings import Settings, from_env
from .types import Article, Passage
from .validation import FILTER_KEYS, MODES, check_where, normalize_query, validate_request  # noqa: F401
from .vectors import VectorIndex

RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009), for FUSION = "rrf"
# Hybrid fusion: "convex" = DENSE_WEIGHT * cosine/top cosine + (1 - DENSE_WEIGHT) * BM25/top BM25
# over the union of both candidate lists; "rrf" = reciprocal rank fusion. On the tuning
# questions convex beat RRF by 7 points of R@1 (84.8 vs 77.6): RRF throws away how far ahead
# the top BM25 hit is (bench/tune_fusion.py, docs/BENCHMARKS.md).
FUSION = "convex"
DENSE_WEIGHT = 0.5  # best MRR@10 on the 1,190 SQuAD dev questions XQuAD reuses (0.4-0.6 within 1 point)
# Weight of the dense ranking when the model does not cover the query's language: an
# English-only model ranks Arabic text almost at random (XQuAD ar: R@1 0.8% dense vs 81.6% BM25).
UNCOVERED_DENSE_WEIGHT = 0.0
CANDIDATES = 100  # per retriever, before fusion
CROSS_LANGUAGE_DENSE = 0.85  # a passage in another language than the query's (see _dense)


@dataclass
class _Snapshot:
    name: str
    folder: Path
    manifest: dict
    vectors: VectorIndex
    lexical: LexicalIndex
    conn: object
    chunk_ids: np.ndarray  # row -> chunk id, sorted
    doc_of: list[str]
    starts: np.ndarray
    ends: np.ndarray
    texts: list[str]
    terms_json: list[str]  # BM25 terms per chunk as stored: near-duplicate checks reuse them
    docs: dict[str, tuple]  # doc_id -> (title, lang, date, source, url, author)
    companion: VectorIndex | None = None  # multilingual vectors (manifest "companion")
    row_lang: np.ndarray | None = None  # row -> its article's language


class Index:
    def __init__(self, path: str | Path = "index", model: str | None = None, settings: Settings | None = None):
        self.path = Path(path)
        self._explicit_model = model or (settings.model if settings else None)
        self._settings = settings
        self._lock = threading.Lock()
        self._pinned = False
        self._stamp = storage.pointer_stamp(self.path)
        self._snapshot = self._load()

    # -- loading -----------------------------------------------------------------------------
    def _load(self) -> _Snapshot:
        folder, manifest = storage.read_manifest(self.path, verify=True)
        if self._explicit_model:
            settings = self._settings or from_env(model=self._explicit_model)
            check_compatible(manifest, settings, self.path)
        try:
            vectors = VectorIndex.load(folder / "vectors.faiss", manifest.get("vector_index", "flat"))
            companion = VectorIndex.load(folder / "companion.faiss", manifest["companion"].get("vector_index", "flat")) \
                if manifest.get("companion") else None
            lexical = LexicalIndex.load(folder / "bm25")
            conn = store.open_db(folder / "store.sqlite", readonly=True)
            rows = conn.execute(
                "SELECT chunk_id, doc_id, start, end, text, terms FROM chunks ORDER BY chunk_id").fetchall()
            docs = {r[0]: tuple(r[1:]) for r in conn.execute(
                f"SELECT doc_id, title, lang, date, source, {store.optional_columns(conn)} FROM articles")}
        except Exception as exc:  # a file that passed its checksum but is still not ours
            raise IndexCorruptError(f"cannot read the index at {self.path}: {exc}; "
                                    f"rebuild with `qa build --rebuild`") from None
        if vectors.dimension != manifest.get("dimension") or len(vectors) != len(rows):
            raise IndexCorruptError(
                f"the index at {self.path} holds {len(vectors)} vectors of size {vectors.dimension} for "
                f"{len(rows)} chunks of size {manifest.get('dimension')}; rebuild with `qa build --rebuild`")
        chunk_ids = np.array([r[0] for r in rows], dtype="int64")
        if not np.array_equal(np.sort(vectors.ids()), chunk_ids) or not np.array_equal(lexical.ids, chunk_ids):
            raise IndexCorruptError(f"the vectors of the index at {self.path} do not match its chunks; "
                                    f"rebuild with `qa build --rebuild`")
        return _Snapshot(
            name=folder.name, folder=folder, manifest=manifest, vectors=vectors, lexical=lexical, conn=conn,
            chunk_ids=chunk_ids, doc_of=[r[1] for r in rows], starts=np.array([r[2] for r in rows]),
            ends=np.array([r[3] for r in rows]), texts=[r[4] for r in rows], terms_json=[r[5] for r in rows],
            docs=docs, companion=companion, row_lang=np.array([docs[r[1]][1] for r in rows], dtype=object))

    def pinned(self) -> "Index":
        """This index frozen at its current generation: several calls on the result (the
        search and sentence scoring of one answer) can never see two generations."""
        self.refresh()
        view = copy.copy(self)
        view._pinned = True
        return view

    def refresh(self) -> bool:
        """Move to the newest generation if a build finished since; True when it moved."""
        if self._pinned:
            return False
        stamp = storage.pointer_stamp(self.path)
        if stamp == self._stamp:
            return False
        with self._lock:
            if stamp == self._stamp:
                return False
            try:
                fresh = self._load()
            except (IndexCorruptError, IndexMismatchError, OSError):
                return False  # keep answering from the generation we have
            self._snapshot, self._stamp = fresh, stamp
            return True

    # -- facts -------------------------------------------------------------------------------
    @property
    def manifest(self) -> dict:
        return self._snapshot.manifest

    @property
    def generation(self) -> str:
        return self._snapshot.name

    @property
    def model(self) -> str:
        return self.manifest["model"]

    def embedder(self):
        from .embedder import get_embedder

        return get_embedder(self.model)

    def multilingual(self):
        """The multilingual model when this index holds its vectors and it loads here, else None."""
        if self._snapshot.companion is None:
            return None
        from . import multilingual

        return multilingual.load()

    def main_covers(self, lang: str, snap=None) -> bool:
        """Whether the main embedding model understands `lang` (manifest "model_languages")."""
        languages = (snap or self._snapshot).manifest.get("model_languages", ["*"])
        return "*" in languages or lang in languages

    def similarities(self, question: str, question_lang: str, texts: list[str], langs: list[str]) -> np.ndarray | None:
        """Cosine of each text to the question by the multilingual model, calibrated to the main
        model's scale for a same- or cross-language pair; None without that model."""
        model = self.multilingual()
        if model is None or not texts:
            return None
        from .multilingual import calibrated

        cos = model.sentences(texts) @ model.queries([question])[0]
        return calibrated(cos, np.array([lang == question_lang for lang in langs]))

    def __len__(self) -> int:
        return len(self._snapshot.chunk_ids)

    def article(self, doc_id: str) -> Article:
        snap = self._snapshot
        found = store.read_article(snap.conn, doc_id)
        if found is None:
            raise KeyError(f"no article {doc_id!r} in the index")
        return found

    def articles(self) -> list[str]:
        return sorted(self._snapshot.docs)

    def info(self) -> dict:
        m = self.manifest
        return {"path": str(self.path), "generation": self.generation, "articles": m["counts"]["articles"],
                "chunks": m["counts"]["chunks"], "languages": m["counts"].get("languages", {}),
                "model": m["model"], "model_languages": m["model_languages"], "dimension": m["dimension"],
                "vector_index": m["vector_index"], "embedding": m.get("embedding"),
                "multilingual": self._multilingual_info(), "size_bytes": storage.folder_size(self.path),
                "last_build": m["built_at"]}

    def languages(self) -> dict[str, int]:
        """Articles per language in this generation (from the manifest: no file is read)."""
        return dict(self.manifest["counts"].get("languages", {}))

    def _multilingual_info(self) -> str:
        companion = self.manifest.get("companion")
        if not companion:
            languages = self.manifest["counts"].get("languages", {})
            if all(self.main_covers(lang) or lang == "und" for lang in languages):
                return "none (the corpus is in languages the main model covers)"
            from . import multilingual

            why = multilingual.unavailable() or "switched off when it was built (QA_MULTILINGUAL)"
            return f"none: {why}"
        from . import multilingual

        state = "in use" if multilingual.load() is not None else f"not in use here: {multilingual.unavailable()}"
        return f"{companion['model']} ({companion['backend']} {companion['version']}), {companion['vectors']} vectors, {state}"

    # -- search ------------------------------------------------------------------------------
    def search(self, query: str, k: int = 5, mode: str = "hybrid", where: dict | None = None) -> list[Passage]:
        """The k best passages for `query`, best first, near-duplicates folded away."""
        passages, _ = self.search_with_duplicates(query, k=k, mode=mode, where=where, collect_duplicates=False)
        return passages

    def search_with_duplicates(self, query, k=5, mode="hybrid", where=None, query_vector=None,
                               collect_duplicates=True):
        """As search, plus {chunk_id: [passages it duplicates]} for corroboration."""
        query, k, mode, where, _ = validate_request(query, k=k, mode=mode, where=where, settings=self._settings)
        self.refresh()
        snap = self._snapshot
        allowed = self._allowed_rows(snap, where)
        ranked = self._rank(snap, query, mode, allowed, max(CANDIDATES, 4 * k), query_vector)
        return self._fold_duplicates(snap, ranked, k, collect_duplicates)

    def _allowed_rows(self, snap: _Snapshot, where: dict | None) -> np.ndarray | None:
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

    def _rank(self, snap, query, mode, allowed, depth, query_vector):
        """[(row, fused score)] best first."""
        dense: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        lexical_all = None
        query_lang = self.query_language(query, snap)
        covered = self.covers(query_lang, snap)
        if mode == "dense" or (mode == "hybrid" and (covered or UNCOVERED_DENSE_WEIGHT > 0)):
            dense = self._dense(snap, query, query_lang, allowed, depth, query_vector)
        if mode in ("lexical", "hybrid"):
            lexical_all = snap.lexical.scores(tokenize(query))
            if allowed is not None:
                mask = np.full(len(lexical_all), -np.inf, dtype="float32")
                mask[allowed] = lexical_all[allowed]
                lexical_all = mask
            top = np.argpartition(-lexical_all, depth)[:depth] if len(lexical_all) > depth \
                else np.arange(len(lexical_all))
            top = top[np.lexsort((top, -lexical_all[top]))]
            lexical = [(int(r), float(lexical_all[r])) for r in top if lexical_all[r] > 0]
        if mode == "dense":
            return dense
        if mode == "lexical":
            return lexical
        weight = DENSE_WEIGHT if covered else UNCOVERED_DENSE_WEIGHT
        if FUSION == "rrf":
            return fuse_rrf(dense, lexical, 1.0 if covered else UNCOVERED_DENSE_WEIGHT)
        across = {}
        if snap.companion is not None and self.multilingual() is not None:
            rows = [row for row, _ in dense if snap.row_lang[row] != query_lang]
            across = dict(zip(rows, names_a_name(query, [snap.texts[r] for r in rows])))
        return fuse_convex(dense, lexical, lexical_all, weight, across)

    def query_language(self, query: str, snap=None) -> str:
        """The query's language. Stopwords tell Latin-script languages apart on a paragraph, not
        on a question ("What year did Tesla die?" reads as German): a Latin-script guess that no
        article of the index is in becomes the index's most common Latin-script language."""
        lang = detect_language(query)
        languages = (snap or self._snapshot).manifest["counts"].get("languages", {})
        if lang in languages or lang in SCRIPT_LANGUAGES or lang == "und":
            return lang
        latin = [(n, code) for code, n in languages.items() if code not in SCRIPT_LANGUAGES and code != "und"]
        return max(latin)[1] if latin else lang

    def covers(self, lang: str, snap=None) -> bool:
        """Whether a model of this index understands language `lang`: the main one (manifest)
        or the multilingual one, when the index holds its vectors and it loads here."""
        snap = snap or self._snapshot
        return self.main_covers(lang, snap) or (snap.companion is not None and self.multilingual() is not None)

    def _dense(self, snap, query, query_lang, allowed, depth, query_vector) -> list[tuple[int, float]]:
        """[(row, cosine on the main model's scale)] best first.

        With the multilingual vectors in use, the multilingual model scores every row, so
        that all scores of one query come from one model and compare: cosines of two models
        do not (a keyword query sits at 0.4 by MiniLM and at e5's top for the same passage).
        They are calibrated to the main model's scale per same- or cross-language pair and
        searched per group: cross-language cosines sit lower, so one top-k over all rows would
        let the query's own language crowd out every other. On XQuAD e5 also ranks English
        better than MiniLM (dense R@1 93.7 vs 89.0). Without them, the main model alone."""
        model = self.multilingual() if snap.companion is not None else None
        if model is None:
            if query_vector is None:
                query_vector = self.embedder().queries([query])[0]
            ids = snap.chunk_ids[allowed] if allowed is not None else None
            scores, found = snap.vectors.search(query_vector, depth, ids)
            return list(zip(np.searchsorted(snap.chunk_ids, found).tolist(), scores.tolist()))
        from .multilingual import calibrated

        rows = allowed if allowed is not None else np.arange(len(snap.chunk_ids))
        same = snap.row_lang[rows] == query_lang
        vector = model.queries([query])[0]
        best: dict[int, float] = {}
        for group, same_language in ((rows[same], True), (rows[~same], False)):
            if not len(group):
                continue
            ids = snap.chunk_ids[group] if len(group) < len(snap.chunk_ids) else None
            scores, found = snap.companion.search(vector, depth, ids)
            values = calibrated(scores, np.full(len(scores), same_language))
            if not same_language:
                # No word can confirm a match in another language, and in a mixed corpus a
                # passage in the reader's own language leads when it is as close.
                values = values * CROSS_LANGUAGE_DENSE
            best.update(zip(np.searchsorted(snap.chunk_ids, found).tolist(), values.tolist()))
        return sorted(best.items(), key=lambda x: (-x[1], x[0]))[:depth]

    def idf(self, term: str) -> float:
        """Inverse document frequency of a BM25 term in this generation (high = rare)."""
        return self._snapshot.lexical.idf(term)

    def mentions(self, word: str, cross_min: int | None = None) -> bool:
        """Whether any article mentions `word` (or a form of it, or its transliteration: a
        consonant skeleton of at least `cross_min` letters, default 4, in the other script)."""
        from .vocabulary import MIN_CROSS_SKELETON, mentions

        return mentions(self._snapshot, word, cross_min or MIN_CROSS_SKELETON)

    def _fold_duplicates(self, snap, ranked, k, collect_duplicates=True):
        """The first k passages that repeat no earlier one; with `collect_duplicates`, the
        rest of the candidates are scanned for repeats of those k in other articles
        (corroboration for answers). Plain search stops at k."""
        kept: list[int] = []
        dups: dict[int, list[int]] = {}
        terms_of: dict[int, set] = {}

        def terms(row: int) -> set:
            if row not in terms_of:
                terms_of[row] = set(json.loads(snap.terms_json[row]))
            return terms_of[row]

        for row, _ in ranked:
            if len(kept) >= k and not collect_duplicates:
                break
            twin = next((other for other in kept
                         if _overlaps(snap, row, other) or (_jaccard(terms(row), terms(other)) >= 0.7
                                                            and _same_figures(snap, row, other))), None)
            if twin is not None:
                if snap.doc_of[row] != snap.doc_of[twin]:
                    dups.setdefault(twin, []).append(row)
            elif len(kept) < k:
                kept.append(row)
        scores = dict(ranked)
        make = lambda row: self._passage(snap, row, scores[row])
        passages = [make(r) for r in kept]
        return passages, {int(snap.chunk_ids[r]): [make(d) for d in dups.get(r, [])] for r in kept}

    def _passage(self, snap, row: int, score: float) -> Passage:
        doc_id = snap.doc_of[row]
        title, lang, date, source, url, author = snap.docs[doc_id]
        return Passage(doc_id=doc_id, title=title, text=snap.texts[row], start=int(snap.starts[row]),
                       end=int(snap.ends[row]), score=float(score), lang=lang, date=date, source=source,
                       chunk_id=int(snap.chunk_ids[row]), url=url, author=author)


def _names_author(wanted: str | list[str], author: str) -> bool:
    """An article with several authors ("A; B") matches any of them, case-folded; a
    surname alone matches its author."""
    names = [n.strip().casefold() for n in author.split(";") if n.strip()]
    wanted = [wanted] if isinstance(wanted, str) else wanted
    for want in (w.strip().casefold() for w in wanted):
        if any(re.search(rf"(?<!\w){re.escape(want)}(?!\w)", n) for n in names):
            return True
    return False


# The dense score of a typical answer in another language: calibration puts it at
# TYPICAL_ANSWER, and _dense discounts it. Against TYPICAL_ANSWER alone (a double discount)
# the mixed XQuAD corpus's ar→en hybrid R@1 fell from 79.0 to 71.8, below its dense 78.3.
TYPICAL_ACROSS = TYPICAL_ANSWER * CROSS_LANGUAGE_DENSE
# How much of that share a row in another language loses when it states none of the query's
# names ("And with Pakistan? co-produced" against an Arabic passage on co-production with
# Türkiye, which e5 ranked first). Compared on XQuAD hybrid R@1 over the same dense and BM25
# lists (DENSE_WEIGHT 0.5): 0.3 keeps the mixed corpus's en→ar at 81.4 and lifts en→ar from
# 82.4 to 82.8; 0.5 cost the mixed corpus 2.4 points and 0.7 8.3 (XQuAD's Arabic often renders
# a name in a way no skeleton matches); scaling by the share of names stated cost 2.9 at 0.5.
# bench/retrieval.py gives the figures of record (docs/BENCHMARKS.md §1a).
UNNAMED_ACROSS = 0.3


def names_a_name(query: str, texts: list[str]) -> list[bool]:
    """For each text in another script than `query`, whether it states one of the query's
    Latin-script names by transliteration (Pakistan ~ باكستان, a consonant skeleton of at
    least three letters); True for all when the query names none a skeleton can check
    (Russia ~ روسيا is too short to tell from other words)."""
    from .facts import name_key, name_keys
    from .question import subject_words

    names = [k for k in (name_key(w) for w in subject_words(query) if _LATIN_NAME.fullmatch(w))
             if len(k) >= 3 and k.isascii()]
    if not names:
        return [True] * len(texts)
    return [any(_skeletons_prefix(n, key) for n in names for key in name_keys(text)) for text in texts]


_LATIN_NAME = re.compile(r"[A-Za-zÀ-ÿ’'-]+")


def _skeletons_prefix(a: str, b: str) -> bool:
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 3 and long_.startswith(short)


def fuse_convex(dense, lexical, lexical_all, weight: float, across: dict | None = None) -> list[tuple[int, float]]:
    """weight * cosine / top cosine + (1 - weight) * BM25 / top BM25, for every row in either
    list. A lexical-only row has its exact BM25 already; a dense-only row takes its BM25 from
    `lexical_all`; a lexical-only row missing from the dense list gets the lowest cosine the
    dense list holds (an upper bound on its own, so it is never underrated).

    Rows in `across` are in another language than the query: BM25 cannot judge them (another
    script shares no words), so their lexical share is what their dense cosine says, unless
    BM25 gives more (a shared name or number): full at the score of a typical answer in another
    language (TYPICAL_ACROSS), less below it, discounted as the dense score is
    (CROSS_LANGUAGE_DENSE: no word confirms it), and by UNNAMED_ACROSS where `across[row]` is
    False: the row states none of the names the query asks about (names_a_name), for which
    BM25 would not credit a passage in the query's language either.
    Scored 0, an English question's Arabic answer lost to every English passage sharing a word
    with it. Taken relative to the top cosine, it turned noise into credit: for a one-name
    query every cosine is near "unrelated", and the English passage naming هافيلسان beat the
    Arabic one that BM25 found."""
    if weight <= 0 or not dense:
        return list(lexical)
    top_dense = max(dense[0][1], 1e-6)
    floor = dense[-1][1]
    top_lex = lexical[0][1] if lexical else 0.0
    cosine = dict(dense)
    across = across or {}
    fused = {}
    for row in cosine.keys() | {r for r, _ in lexical}:
        bm25 = max(float(lexical_all[row]), 0.0) / top_lex if top_lex > 0 else 0.0
        if row in across:
            proxy = CROSS_LANGUAGE_DENSE * min(max(cosine[row], 0.0) / TYPICAL_ACROSS, 1.0)
            bm25 = max(bm25, proxy if across[row] else proxy * (1 - UNNAMED_ACROSS))
        fused[row] = weight * cosine.get(row, floor) / top_dense + (1 - weight) * bm25
    return sorted(fused.items(), key=lambda x: (-x[1], x[0]))


def fuse_rrf(dense, lexical, weight: float) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion: weight / (RRF_K + dense rank) + 1 / (RRF_K + BM25 rank)."""
    fused: dict[int, float] = {}
    for rank, (row, _) in enumerate(dense):
        fused[row] = fused.get(row, 0.0) + weight / (RRF_K + rank + 1)
    for rank, (row, _) in enumerate(lexical):
        fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(fused.items(), key=lambda x: (-x[1], x[0]))


def _matches(wanted, value, fold: bool = False) -> bool:
    if wanted is None:
        return True
    options = [wanted] if isinstance(wanted, str) else list(wanted)
    if fold:
        return any(str(o).casefold() == str(value).casefold() for o in options)
    return value in options


def _overlaps(snap, a: int, b: int) -> bool:
    if snap.doc_of[a] != snap.doc_of[b]:
        return False
    inter = min(snap.ends[a], snap.ends[b]) - max(snap.starts[a], snap.starts[b])
    shorter = min(snap.ends[a] - snap.starts[a], snap.ends[b] - snap.starts[b])
    return inter > 0.5 * shorter


def _same_figures(snap, a: int, b: int) -> bool:
    """Templated news (wire copy, market reports) shares most words between items that state
    different facts: passages fold together only when their numbers and identifiers agree."""
    from .facts import facts_of

    fa, fb = facts_of(snap.texts[a]), facts_of(snap.texts[b])
    return fa.numbers == fb.numbers and fa.identifiers == fb.identifiers


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def load_index(path: str | Path = "index", model: str | None = None) -> Index:
    """Open the index at `path`. With `model`, refuse an index built with another model."""
    return Index(path, model=model)
