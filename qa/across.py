"""Answers across languages: when a sentence in another language than the question's may be
quoted, and what it must state to be.

No word of an English question can confirm an Arabic sentence by matching, so a sentence in
another language is scored by the multilingual model alone (qa/multilingual.py), must score
clearly, and must state what was asked: a name by its transliteration (Pakistan ~ باكستان) or
its translation (Sea ~ بحر, Russia ~ روسيا), a word no Arabic article states (an Arabic
question about something only English text may hold) by its translation in the passage.
"""
from __future__ import annotations

import re

from .cleaning import detect_language
from .corroboration import Candidate
from .facts import _IDENT, name_key, name_keys

CROSS_LANGUAGE = 0.85  # a sentence in another language than the question's (see qa.answer._score_sentences)
CROSS_NO_NAME = 0.5  # ... that states none of the names asked about (see concern_across)
CROSS_MARGIN = 0.1  # ... must beat the best own-language sentence by this much (prefer_own_language)
CONCERN_ELSEWHERE = 0.9  # ... that states only some of them (as qa.answer's own-language factor)
# Calibrated multilingual similarity a sentence in another language needs at all, and the most
# it counts for (before the factors above). Set on the trust benchmark's templated items
# (bench/trust.py): wrong-fact sentences of the right topic reach 0.6-0.65 (and, sharing an
# id, 1.0: hence the cap), answers on the seeds 0.62-0.76.
CROSS_MIN = 0.6
CROSS_CAP = 0.65
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[^\W\d_]{2,}")
LANGUAGE_NAMES = {"en": {"ar": "in Arabic", "en": "in English"}, "ar": {"en": "بالإنجليزية", "ar": "بالعربية"}}


def same_language(passage_lang: str, lang: str) -> bool:
    return passage_lang == lang or (lang != "ar" and passage_lang not in ("ar", "und"))


def prefer_own_language(scored: list[Candidate], lang: str, threshold: float) -> list[Candidate]:
    """When a sentence in the question's own language answers (scores over the threshold), a
    sentence in another language is quoted only if it scores clearly higher: a reader checks a
    citation in their own language first, and the same fact in the other language is still
    cited beside it (corroboration). Facts only the other language states still come through."""
    own_best = max((c.score for c in scored if same_language(c.passage.lang, lang)), default=0.0)
    if own_best < threshold:
        return scored
    return [c for c in scored if same_language(c.passage.lang, lang) or c.score >= own_best + CROSS_MARGIN]


def another_script_may_state(index, word: str) -> bool:
    """An Arabic word is looked up among Arabic words and by transliteration; where the
    multilingual model reads English articles, one may still state it translated (روسيا is
    Russia, الأسلحة weapons). No article in Arabic states it, so only a sentence of another
    language can answer, and its passage must state the word's translation (concern_across);
    it is no reason to say that no article mentions it."""
    return (not _LATIN.search(word) and index.multilingual() is not None
            and any(lang not in ("ar", "und") for lang in index.languages()))


def concern_across(index, c: Candidate, subject: list[str], required: list[str]) -> float:
    """How far a sentence in another script concerns what was asked (qa.answer._concern for
    one in the question's own). `required`: words no article of the question's script states
    (another_script_may_state): without their translation in the passage, 0. A Latin name
    asked about counts as stated when a word of the sentence has a matching transliteration
    skeleton or is its translation; a sentence that states none of them is not the answer to
    a question about them (CROSS_NO_NAME), one that states some of them weighs less."""
    model = index.multilingual()
    if required:
        context = _words(f"{c.passage.title}\n{c.passage.text}")
        if model is None or not model.translates(required, context).any(axis=1).all():
            return 0.0
    names = [w for w in subject if _LATIN.search(w) and not _IDENT.fullmatch(w)]
    if not names:
        return 1.0
    keys = set(name_keys(c.text))
    unmatched = [w for w in names if not any(_skeletons_match(name_key(w), k) for k in keys)]
    if unmatched and model is not None:
        found = model.translates(unmatched, _words(c.text)).any(axis=1)
        unmatched = [w for w, yes in zip(unmatched, found) if not yes]
    if len(unmatched) == len(names):
        return CROSS_NO_NAME
    return CONCERN_ELSEWHERE if unmatched else 1.0


def language_note(question: str, passage_lang: str) -> str | None:
    """'in Arabic' after a sentence quoted in another language than the question's."""
    lang = "ar" if detect_language(question) == "ar" else "en"
    if passage_lang == lang:
        return None
    return LANGUAGE_NAMES[lang].get(passage_lang, f"({passage_lang})" if lang == "en" else None)


def _skeletons_match(a: str, b: str) -> bool:
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 3 and long_.startswith(short)


def _words(text: str) -> list[str]:
    return list(dict.fromkeys(_WORD.findall(text)))
