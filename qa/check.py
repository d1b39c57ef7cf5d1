"""The check a written answer passes before a reader sees it: every sentence must cite passages
that were handed to the model, state no number, date, identifier or name its cited passages do
not state, and be supported by one sentence of a cited passage. What fails is removed and
listed, never shown as a cited claim.

- Markers: "[2]", "[1, 3]", "[1][3]"; a marker pointing at a passage not handed out is removed.
- Facts: the normalisation of the corroboration check (qa/facts.py): numbers by value in either
  script, months by month, identifiers exactly, names by transliteration skeleton (Türkiye =
  Turkey = تركيا); a name counts as stated when its skeleton or the word itself occurs in a
  cited passage. Arabic has no capitals, so an Arabic word is held to this only when no article
  at all mentions it (an invented name); otherwise the support score judges it.
- Support: the best sentence of the cited passages by the answer's own sentence scorer (model
  cosine + IDF-weighted share of the written sentence's terms; across languages, the
  multilingual model's calibrated similarity alone), at least SUPPORT_MIN.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .chunking import sentences
from .cleaning import detect_language
from .across import _skeletons_match, _words
from .facts import facts_of, name_keys, normalize_digits
from .lexical import tokenize
from .types import Passage

# Measured with bench/written.py support (XQuAD, docs/BENCHMARKS.md §6): a sentence checked
# against its own paragraph with it taken out (a claim on the same topic the passage does not
# make) scores at least 0.6 in 6% of cases, English and Arabic alike. Across languages the
# calibrated similarity runs higher: a translation scores median 1.3, the next paragraph's
# claims 0.5-0.6, and 0.85 keeps 97-99% of translations and 2-7% of those.
SUPPORT_MIN = 0.6
SUPPORT_MIN_ACROSS = 0.85
DENSE_SHARE = 0.6  # as qa.answer scores sentences against a question
_MARKER = re.compile(r"\s*\[(\d{1,3}(?:\s*[,،;]\s*\d{1,3})*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d{1,3}(?:\s*[,،;]\s*\d{1,3})*\])+")
_AR_LETTER = re.compile(r"[\u0600-\u06ff]")
_POSSESSIVE = re.compile(r"[’']s$")


@dataclass(frozen=True)
class Checked:
    sentences: list[tuple[str, list[int]]]  # kept sentences (markers taken out) and the numbers they cite
    dropped: list[str]  # "sentence — why", in answer order


def split_written(text: str) -> list[tuple[str, list[int]]]:
    """The sentences of a written answer with the passage numbers each cites, in order; markers
    written after a full stop ("... drones. [2]") belong to the sentence before."""
    text = text.strip()
    parts: list[tuple[str, list[int]]] = []
    for s, e in sentences(text):
        piece = text[s:e]
        lead = _LEADING_MARKERS.match(piece)
        if lead and parts:
            parts[-1] = (parts[-1][0], parts[-1][1] + _numbers(lead.group(0)))
            piece = piece[lead.end():]
        numbers = _numbers(piece)
        bare = _MARKER.sub("", piece).strip()
        if re.search(r"\w", bare):  # not the stray "." of "... academies. [1]."
            parts.append((bare, numbers))
        elif numbers and parts:
            parts[-1] = (parts[-1][0], parts[-1][1] + numbers)
    return [(sentence, list(dict.fromkeys(numbers))) for sentence, numbers in parts]


def _numbers(text: str) -> list[int]:
    return [int(n) for m in _MARKER.finditer(text) for n in re.split(r"\s*[,،;]\s*", m.group(1))]


def check(text: str, passages: list[Passage], index) -> Checked:
    """`text` as the model wrote it against the `passages` it was given ([1] is passages[0])."""
    kept: list[tuple[str, list[int]]] = []
    dropped: list[str] = []
    for sentence, numbers in split_written(text):
        cited = [n for n in numbers if 1 <= n <= len(passages)]
        if not cited:
            why = "cites no passage" if not numbers else \
                f"cites {', '.join(f'[{n}]' for n in numbers)}, which no passage handed out is"
            dropped.append(f"{sentence} — {why}")
            continue
        sources = [passages[n - 1] for n in cited]
        why = _unstated_facts(sentence, sources, index)
        if why is None:
            score = support(sentence, sources, index)
            if score < SUPPORT_MIN:
                why = f"no sentence of {_listing(cited)} states it (support {score:.2f})"
        if why is not None:
            dropped.append(f"{sentence} — {why}")
            continue
        kept.append((sentence, cited))
    return Checked(kept, dropped)


def _listing(numbers: list[int]) -> str:
    return " ".join(f"[{n}]" for n in numbers)


def _unstated_facts(sentence: str, sources: list[Passage], index) -> str | None:
    """What `sentence` states that its sources do not, or None."""
    stated = facts_of(sentence)
    source_text = "\n".join(f"{p.title}\n{p.text}" for p in sources)
    known = facts_of(source_text)
    # The same figure written otherwise in the other language ("2.8" / "2,8"): its digits.
    digit_forms = {re.sub(r"\D", "", m) for m in re.findall(r"\d[\d.,]*", normalize_digits(source_text))}
    missing_numbers = {n for n in stated.numbers - known.numbers
                       if n.startswith("month:") or re.sub(r"\D", "", n) not in digit_forms}
    if missing_numbers:
        return f"states {_show(missing_numbers)}, which its sources do not"
    # "F-16" is F-16 in any script; "2-point" or "mid-1930s" are words Arabic writes otherwise.
    missing_ids = {i for i in stated.identifiers - known.identifiers
                   if not _AR_LETTER.search(source_text) or re.sub(r"\D", "", i) not in digit_forms}
    if missing_ids:
        return f"names {', '.join(sorted(missing_ids))}, which its sources do not"
    source_words = set(re.findall(r"\w+", source_text.casefold()))
    latin, unmatched = 0, []
    for key, word in name_keys(sentence).items():
        if _AR_LETTER.search(word):
            # Every Arabic word is a name candidate: only one no article mentions is held here.
            if key not in known.names and index is not None and not index.mentions(word):
                return f"names {word}, which no article does"
            continue
        latin += 1
        if key in known.names or _POSSESSIVE.sub("", word).casefold() in source_words:
            continue
        if any(_skeletons_match(key, k) for k in known.names) or _translated(index, word, source_text):
            continue  # Warsaw = وارسو by transliteration, Normans = النورمان by translation
        unmatched.append(word)
    # Cited only in Arabic, an English sentence's names are matched as the corroboration check
    # matches them (qa.facts.agree): half must be found, since transliteration and word
    # translation miss many (Super Bowl, Elway, United States); the support score still holds.
    across = not re.search(r"[A-Za-z]", source_text)
    if unmatched and (not across or len(unmatched) > latin / 2):
        return f"names {', '.join(unmatched)}, which its sources do not"
    return None


def _translated(index, word: str, source_text: str) -> bool:
    model = index.multilingual() if index is not None else None
    if model is None or not _AR_LETTER.search(source_text):
        return False
    return bool(model.translates([word], _words(source_text)).any())


def _show(numbers) -> str:
    months = "January February March April May June July August September October November December".split()
    shown = [months[int(n[6:]) - 1] if n.startswith("month:") else n for n in sorted(numbers)]
    return ", ".join(shown)


def support(sentence: str, sources: list[Passage], index) -> float:
    """How well the best sentence of `sources` states `sentence`, on the answer scorer's scale
    (a sentence in another language scaled so that SUPPORT_MIN_ACROSS lands on SUPPORT_MIN)."""
    candidates: list[tuple[str, str]] = []  # (sentence text, its language)
    for p in sources:
        for s, e in sentences(p.text):
            candidates.append((p.text[s:e], p.lang))
    if not candidates:
        return 0.0
    terms = set(tokenize(sentence))
    idf = {t: max(index.idf(t), 0.1) for t in terms} if index is not None else {t: 1.0 for t in terms}
    total = sum(idf.values()) or 1.0
    overlap = np.array([sum(idf[t] for t in terms & set(tokenize(text))) / total for text, _ in candidates])
    if index is None:
        return float(overlap.max())
    lang = "ar" if detect_language(sentence) == "ar" else "en"  # as qa.answer reads a question
    scores = np.full(len(candidates), -1.0)
    by_main = [i for i, (_, l) in enumerate(candidates) if index.main_covers(lang) and index.main_covers(l)]
    if by_main:
        emb = index.embedder()
        q = emb.documents([sentence])[0]
        vectors = emb.documents([candidates[i][0] for i in by_main])
        scores[by_main] = DENSE_SHARE * (vectors @ q) + (1 - DENSE_SHARE) * overlap[by_main]
    rest = [i for i in range(len(candidates)) if i not in set(by_main)]
    similar = index.similarities(sentence, lang, [candidates[i][0] for i in rest],
                                 [candidates[i][1] for i in rest]) if rest else None
    for n, i in enumerate(rest):
        sim = similar[n] if similar is not None else float("nan")
        cross = candidates[i][1] != lang
        if np.isnan(sim):
            scores[i] = -1.0 if cross else overlap[i]  # no model reads this pair: words alone
        elif cross:
            scores[i] = sim * SUPPORT_MIN / SUPPORT_MIN_ACROSS  # onto the same-language scale
        else:
            scores[i] = DENSE_SHARE * sim + (1 - DENSE_SHARE) * overlap[i]
    return float(scores.max())
