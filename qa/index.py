"""Index: the reader side. Loads a verified generation and searches it (dense, lexical, hybrid).

An open Index notices when a build has switched CURRENT to a new generation and moves to it
between queries; each query runs on one snapshot, so no answer mixes two generations.
"""
from __future__ import annotations

import copy
import threading
from pathlib import Path

import numpy as np

from . import storage, store
from .cleaning import SCRIPT_LANGUAGES, detect_language
from .errors import IndexCorruptError, IndexMismatchError
from .lexical import tokenize
from .manifest import check_compatible
from .filters import allowed_rows
from .ranking import (CANDIDATES, COMPANION_DENSE_WEIGHT, CROSS_LANGUAGE_DENSE, DENSE_WEIGHT, FUSION, UNCOVERED_DENSE_WEIGHT,  # noqa: F401
                      dense_floor, fold_duplicates, fuse_convex, fuse_rrf, names_a_name)
from .settings import Settings, from_env
from .snapshot import Snapshot, open_snapshot
from .types import Article, Passage
from .validation import FILTER_KEYS, MODES, check_where, normalize_query, validate_request  # noqa: F401

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
    def _load(self) -> Snapshot:
        folder, manifest = storage.read_manifest(self.path, verify=True)
        if self._explicit_model:
            settings = self._settings or from_env(model=self._explicit_model)
            check_compatible(manifest, settings, self.path)
        try:
            snap = open_snapshot(folder, manifest)
        except Exception as exc:  # a file that passed its checksum but is still not ours
            raise IndexCorruptError(f"cannot read the index at {self.path}: {exc}; "
                                    f"rebuild with `qa build --rebuild`") from None
        if snap.companion is not None:
            from . import multilingual

            multilingual.warm()
        vectors, chunk_ids = snap.vectors, snap.chunk_ids
        if vectors.dimension != manifest.get("dimension") or len(vectors) != len(chunk_ids):
            raise IndexCorruptError(
                f"the index at {self.path} holds {len(vectors)} vectors of size {vectors.dimension} for "
                f"{len(chunk_ids)} chunks of size {manifest.get('dimension')}; rebuild with `qa build --rebuild`")
        if not np.array_equal(np.sort(vectors.ids()), chunk_ids) or not np.array_equal(snap.lexical.ids, chunk_ids):
            raise IndexCorruptError(f"the vectors of the index at {self.path} do not match its chunks; "
                                    f"rebuild with `qa build --rebuild`")
        return snap

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
        """The index's model for queries and answer sentences: the torch-free export when a
        build made one (qa/reader_model.py: a fresh process answers without importing torch),
        else the model itself."""
        from . import reader_model

        fast = reader_model.load(self.model)
        if fast is not None:
            return fast
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
        allowed = allowed_rows(snap, where)
        ranked = self._rank(snap, query, mode, allowed, max(CANDIDATES, 4 * k), query_vector)
        return self._fold_duplicates(snap, ranked, k, collect_duplicates)

    def _rank(self, snap, query, mode, allowed, depth, query_vector):
        """[(row, fused score)] best first."""
        dense: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        lexical_all = None
        query_terms = tokenize(query)
        query_lang = self.query_language(query, snap)
        covered = self.covers(query_lang, snap)
        if mode == "dense" or (mode == "hybrid" and (covered or UNCOVERED_DENSE_WEIGHT > 0)):
            dense = self._dense(snap, query, query_lang, allowed, depth, query_vector)
        if mode in ("lexical", "hybrid"):
            lexical_all = snap.lexical.scores(query_terms)
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
        weight = DENSE_WEIGHT if self.main_covers(query_lang, snap) else \
            COMPANION_DENSE_WEIGHT if covered else UNCOVERED_DENSE_WEIGHT
        if FUSION == "rrf":
            return fuse_rrf(dense, lexical, 1.0 if covered else UNCOVERED_DENSE_WEIGHT)
        across = {}
        if snap.companion is not None and self.multilingual() is not None:
            rows = [row for row, _ in dense if snap.row_lang[row] != query_lang]
            across = dict(zip(rows, names_a_name(query, [snap.texts[r] for r in rows])))
        return fuse_convex(dense, lexical, lexical_all, weight, across,
                           dense_floor(len(set(query_terms))))

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

    def passages_with_terms(self, terms: list[str], k: int = 10, where: dict | None = None) -> list[Passage]:
        """The k passages with the highest BM25 score for these index terms (already
        tokenised: no stemming or stop words applied), best first, among those `where` admits."""
        snap = self._snapshot
        scores = snap.lexical.scores(terms)
        allowed = allowed_rows(snap, where)
        if allowed is not None:
            kept = np.full(len(scores), -np.inf, dtype="float32")
            kept[allowed] = scores[allowed]
            scores = kept
        rows = [int(r) for r in np.argsort(-scores, kind="stable")[:k] if scores[r] > 0]
        return [self._passage(snap, row, float(scores[row])) for row in rows]

    def name_skeletons(self) -> dict[str, dict[str, set[str]]]:
        """Per script ("ar", "latin"), consonant skeleton -> the index terms of words with it,
        over every chunk of this generation (qa/transliteration.py; cached per generation)."""
        from .transliteration import vocab_by_skeleton

        return vocab_by_skeleton(self._snapshot)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a BM25 term over this generation's articles (high =
        rare): how many articles state it, whatever the number of chunks they were cut into."""
        snap = self._snapshot
        return snap.lexical.idf(term, snap.doc_of.codes, len(snap.doc_of.names))

    def mentions(self, word: str, cross_min: int | None = None) -> bool:
        """Whether any article mentions `word` (or a form of it, or its transliteration: a
        consonant skeleton of at least `cross_min` letters, default 4, in the other script)."""
        from .vocabulary import MIN_CROSS_SKELETON, mentions

        return mentions(self._snapshot, word, cross_min or MIN_CROSS_SKELETON)

    def _fold_duplicates(self, snap, ranked, k, collect_duplicates=True):
        kept, dups = fold_duplicates(snap, ranked, k, collect_duplicates)
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


def load_index(path: str | Path = "index", model: str | None = None) -> Index:
    """Open the index at `path`. With `model`, refuse an index built with another model."""
    return Index(path, model=model)
