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

from .cleaning import SCRIPT_LANGUAGES, detect_language
from .corroboration import Candidate
from .facts import _IDENT, name_key, name_keys
from .multilingual import TRANSLATION_OF_ABSENT
from .transliteration import _AR_WORD, _squeeze, arabic_skeleton, latin_skeleton

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
MIN_PAIR_SKELETON = 4  # letters of a name written as two Arabic words (see _pair_keys)
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
    """A word no article states in its own script, where the multilingual model reads articles
    written in another: an Arabic one may be stated in English (روسيا is Russia, الأسلحة
    weapons), a Latin one in Arabic (Kenya is كينيا, Tesla تسلا, Kadıoğlu قاضى أوغلو). Only a
    sentence of that other script can answer, and its passage must state the word, translated
    or transliterated (concern_across); it is no reason to say that no article mentions it."""
    return index.multilingual() is not None and any(other_script(word, lang) for lang in index.languages())


def other_script(word: str, passage_lang: str) -> bool:
    """Whether a passage in `passage_lang` is written in another script than `word`."""
    if passage_lang == "und":
        return False
    return passage_lang in SCRIPT_LANGUAGES if _LATIN.search(word) else passage_lang != "ar"


def concern_across(index, c: Candidate, subject: list[str], required: list[str]) -> float:
    """How far a sentence in another script concerns what was asked (qa.answer._concern for
    one in the question's own). `required`: words no article of their own script states
    (another_script_may_state): unless its passage states them, 0. A Latin name asked about
    counts as stated when the sentence transliterates it or states its translation; a sentence
    that states none of the names is not the answer to a question about them (CROSS_NO_NAME),
    one that states some of them weighs less."""
    model = index.multilingual()
    if required and (model is None or not all(states(model, required, f"{c.passage.title}\n{c.passage.text}",
                                                      TRANSLATION_OF_ABSENT))):
        return 0.0
    names = [w for w in subject if _LATIN.search(w) and not _IDENT.fullmatch(w)]
    if not names:
        return 1.0
    found = states(model, names, c.text)
    if not any(found):
        return CROSS_NO_NAME
    return 1.0 if all(found) else CONCERN_ELSEWHERE


def states(model, words: list[str], text: str, translation_min: float | None = None) -> list[bool]:
    """For each word, whether `text` states it in another script: by a transliteration (its
    skeleton, qa/transliteration.py, matches that of a name in `text`: Manning ~ مانينغ; a Latin
    one also that of two neighbouring Arabic words: Kadıoğlu ~ قاضى أوغلو), or by a translation
    (`model`, the multilingual one: Russia ~ روسيا, Sea ~ بحر; `translation_min`: see
    qa.multilingual.translates)."""
    keys, pairs = set(name_keys(text)), _pair_keys(text)
    found = [any(_skeletons_match(name_key(w), k) for k in keys) or latin_skeleton(w) in pairs
             if _LATIN.search(w) else any(_skeletons_match(arabic_skeleton(w), k) for k in keys) for w in words]
    todo = [i for i, yes in enumerate(found) if not yes]
    if todo and model is not None:
        translated = model.translates([words[i] for i in todo], _words(text), translation_min).any(axis=1)
        for i, yes in zip(todo, translated):
            found[i] = bool(yes)
    return found


def unstated(index, words: list[str], passages) -> list[str]:
    """The words (another_script_may_state) that no passage written in another script than
    theirs states: those the answer may say no article mentions."""
    model, left = index.multilingual(), list(words)
    for p in passages:
        todo = [w for w in left if other_script(w, p.lang)]
        if todo:
            stated = states(model, todo, f"{p.title}\n{p.text}", TRANSLATION_OF_ABSENT)
            found = {w for w, yes in zip(todo, stated) if yes}
            left = [w for w in left if w not in found]
    return left


def _pair_keys(text: str) -> set[str]:
    """Skeletons of two neighbouring Arabic words together, of MIN_PAIR_SKELETON letters at
    least (a name written as two words); matched whole, never by a prefix."""
    words = _AR_WORD.findall(text)
    keys = (_squeeze(arabic_skeleton(a) + arabic_skeleton(b)) for a, b in zip(words, words[1:]))
    return {k for k in keys if len(k) >= MIN_PAIR_SKELETON}


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
