"""Ranking: fusing the dense and BM25 candidate lists of a search into one, and folding
passages that repeat one another. Pure functions over a generation's rows (qa.index owns
loading, the models and the filters)."""
from __future__ import annotations

import json
import re

from .multilingual import TYPICAL_ANSWER

RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009), for FUSION = "rrf"
# Hybrid fusion: "convex" = DENSE_WEIGHT * cosine/top cosine + (1 - DENSE_WEIGHT) * BM25/top BM25
# over the union of both candidate lists; "rrf" = reciprocal rank fusion. On the tuning
# questions convex beat RRF by 7 points of R@1 (84.8 vs 77.6): RRF throws away how far ahead
# the top BM25 hit is (bench/tune_fusion.py, docs/BENCHMARKS.md).
FUSION = "convex"
DENSE_WEIGHT = 0.5  # best MRR@10 on the 1,190 SQuAD dev questions XQuAD reuses (0.4-0.6 within 1 point)
# The same for a query in a language only the multilingual companion reads (Arabic beside
# MiniLM): its scores are not MiniLM's, so its weight is its own. Set on held-out ARCD train
# (693 questions, hybrid R@1) with Arabic chunks counted by the companion's tokenizer
# (qa/reading.py): 0.5 -> 72.7, 0.525 -> 73.7, 0.55 -> 74.0, 0.575 -> 73.2, 0.6 -> 73.0, 0.7 -> 72.7.
COMPANION_DENSE_WEIGHT = 0.55
# Weight of the dense ranking when the model does not cover the query's language: an
# English-only model ranks Arabic text almost at random (XQuAD ar: R@1 0.8% dense vs 81.6% BM25).
UNCOVERED_DENSE_WEIGHT = 0.0
CANDIDATES = 100  # per retriever, before fusion
CROSS_LANGUAGE_DENSE = 0.85  # a passage in another language than the query's (see _dense)

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
# Dense scores are taken relative to the best one; for a query of at most SHORT_QUERY_TERMS
# BM25 terms, relative to at least a typical answer's score (WEAK_DENSE). One or two words give
# a dense model little to place the query by: a one-name query ("هافيلسان") sits near
# "unrelated" for every passage, and scaling the best of that noise up to 1 let the English
# passage the companion happened to rank first beat the Arabic one BM25 finds by the name. A
# question of three or more terms keeps the plain ratio the weights were tuned with (the floor
# on every query cost ARCD train 0.8 points and XQuAD en→en one question).
SHORT_QUERY_TERMS = 2
WEAK_DENSE = TYPICAL_ANSWER


def dense_floor(query_terms: int) -> float:
    """The least top dense score fusion divides by, for a query of `query_terms` BM25 terms."""
    return WEAK_DENSE if query_terms <= SHORT_QUERY_TERMS else 0.0


def names_a_name(query: str, texts: list[str]) -> list[bool]:
    """For each text in another script than `query`, whether it states one of the query's
    Latin-script names by transliteration (Pakistan ~ باكستان, a consonant skeleton of at
    least three letters); True for all when the query names none a skeleton can check
    (Russia ~ روسيا is too short to tell from other words)."""
    from .across import _skeletons_match
    from .facts import name_key, name_keys
    from .question import subject_words

    names = [k for k in (name_key(w) for w in subject_words(query) if _LATIN_NAME.fullmatch(w))
             if len(k) >= 3 and k.isascii()]
    if not names:
        return [True] * len(texts)
    return [any(_skeletons_match(n, key) for n in names for key in name_keys(text)) for text in texts]


_LATIN_NAME = re.compile(r"[A-Za-zÀ-ÿ’'-]+")


def fuse_convex(dense, lexical, lexical_all, weight: float, across: dict | None = None,
                top_at_least: float = 0.0) -> list[tuple[int, float]]:
    """weight * cosine / top cosine + (1 - weight) * BM25 / top BM25, for every row in either
    list, the top cosine taken as at least `top_at_least` (see dense_floor). A
    lexical-only row has its exact BM25 already; a dense-only row takes its BM25 from
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
    top_dense = max(dense[0][1], top_at_least, 1e-6)
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


def fold_duplicates(snap, ranked, k: int, collect_duplicates: bool = True) -> tuple[list[int], dict[int, list[int]]]:
    """The first k rows of `ranked` that repeat no earlier one, and {kept row: rows of other
    articles repeating it}; with `collect_duplicates` the rest of the candidates are scanned
    for repeats of those k (corroboration for answers). Plain search stops at k."""
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
    return kept, dups


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
