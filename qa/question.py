"""What a question is about and what kind of answer it wants, without a language model.

The subject: the names and identifiers it asks about (capitalised words and ids in English;
content words in Arabic, which has no capitals). A name that no article mentions means the
articles cannot answer ("What did Egypt and Brazil sign?" over articles that never name
Brazil), however well a sentence about Türkiye scores on the other words.

The kind: "How much ..." wants an amount, "How many ..." a count, "When ..." a date. A
sentence of the wanted kind is preferred, so a question on a plant's cost is answered by the
sentence with the cost, not the one with its capacity.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .facts import Facts, _IDENT, _LATIN_WORD, _NOT_NAMES
from .lexical import AR_STOPWORDS, normalize_arabic, normalize_letters

# First words of questions and requests: capitalised, but not names.
_OPENERS = frozenset("""
what which who whom whose when where why how did does do is are was were has have had can could
will would should shall may might must tell list name give describe explain summarize summarise
show find according in on at for from by with and or but so then also please
""".split())
_AR_QUESTION_WORDS = frozenset(normalize_arabic(w) for w in """
ما ماذا متى كيف لماذا لما أين اين كم هل من الذي التي اي أي ماهو ماهي هو هي وماذا وما وكيف ومتى وأين
وكم وهل ومن عن حول بشأن وبماذا بماذا ايضا أيضا كذلك اذن إذن ذلك
""".split())
# Words after which Arabic puts a name: with, about, and "company / city / state ... X".
_AR_NAME_CUES = frozenset("""مع عن ومع وعن شركة شركه مدينة مدينه دولة دوله منظمة منظمه مؤسسة جامعة صحيفة وكالة
جزيرة ولاية مقاطعة إقليم اقليم""".split())
_AR_VERB_SHAPE = re.compile(r"^و?س[يتنأ]|(?:ها|هم|هما|كم|نا)$")
_AR_CONTENT = re.compile(r"[\u0621-\u064a]{2,}")
_AR_DEFINITE = re.compile(r"^(?:[وفبلك])?(?:ال|لل)([\u0621-\u064a]+)$")

MONEY, COUNT, PERCENT, DATE = "money", "count", "percent", "date"
_KINDS = [  # tried in order: the question's opener before the words that follow it
    (PERCENT, re.compile(r"\bwhat (?:percentage|percent|share|proportion)\b|ما نسبة|بنسبة كم", re.I)),
    (COUNT, re.compile(r"\bhow many\b|\bwhat number of\b|كم عدد", re.I)),
    (MONEY, re.compile(r"\bhow much\b|بكم", re.I)),
    (DATE, re.compile(r"^(?:and |so )?when\b|\bwhat (?:year|date|month|day)\b|\bin which (?:year|month)\b|"
                      r"\bsince when\b|متى|في [أا]ي (?:عام|سنة|شهر|يوم)|[أا]ي تاريخ|ما تاريخ", re.I)),
    (MONEY, re.compile(r"\b(?:cost|price|worth|budget|value|invest(?:ment|ed)?|spend|spent|paid)\b|"
                       r"تكلفة|تكلفه|كلفة|قيمة|سعر|استثمار|ميزانية|مبلغ", re.I)),
    (COUNT, re.compile(r"\bكم\b")),
]
def subject_words(question: str, history: list[tuple[str, str]] | None = None) -> list[str]:
    """The names and identifiers `question` asks about; a follow-up that names none ("When was
    it signed?") is about the previous question's subject."""
    words = _own_subject(question)
    if not words and history:
        words = _own_subject(history[-1][0])
    return words


def _own_subject(question: str) -> list[str]:
    found: list[str] = []
    for m in _IDENT.finditer(question):
        found.append(m.group(0))
    for m in _LATIN_WORD.finditer(question):
        if not question[:m.start()].strip():
            continue  # the first word is capitalised whatever it is ("Besides ...", "Thomas ...")
        for word in re.sub(r"[’']s$", "", m.group(0).strip("’'-")).split("-"):  # Egypt-Türkiye: two names
            if not word[:1].isupper() or word.casefold() in _NOT_NAMES or word.casefold() in _OPENERS:
                continue
            if any(word in ident for ident in found):
                continue
            found.append(re.sub(r"(?<=[A-Z])s$", "", word))  # MVPs, TDs: plurals of acronyms
    found += _arabic_names(question)
    return list(dict.fromkeys(found))


def _arabic_names(question: str) -> list[str]:
    """Arabic has no capitals. Names in questions come as definite nouns (البرازيل, اليابانية)
    or right after "with" / "about" (مع كينيا, وماذا عن تشيلي); verbs (اتفقت, التقى) and most
    common words do not, so an unknown verb form never reads as an absent name."""
    words = _AR_CONTENT.findall(question)
    found = []
    for i, word in enumerate(words):
        if normalize_letters(word) in AR_STOPWORDS or normalize_arabic(word) in _AR_QUESTION_WORDS:
            continue
        m = _AR_DEFINITE.match(word)
        after_cue = i > 0 and words[i - 1] in _AR_NAME_CUES
        if (m and len(m.group(1)) >= 4) or (after_cue and len(word) >= 3) or _transliterated(word):
            found.append(word)
    return found


@dataclass(frozen=True)
class Kind:
    """The kind of answer a question wants, and the terms of what it counts or prices
    ("jobs" in "How many jobs ...")."""

    name: str
    about: frozenset = frozenset()


def _transliterated(word: str) -> bool:
    """Foreign names written in Arabic spell their vowels out (هاكان, روكيتسان, كينيا), where
    Arabic words mostly do not: two long-vowel letters inside a word of five letters or more."""
    inner = word[1:-1]
    if _AR_VERB_SHAPE.search(word):
        return False  # سيقام, سيوفرها: a future-tense verb or a pronoun ending, not a name
    return len(word) >= 5 and sum(inner.count(ch) for ch in "اوي") >= 2 and not _AR_DEFINITE.match(word)


def answer_kind(question: str, tokenize) -> Kind | None:
    for name, pattern in _KINDS:
        m = pattern.search(question)
        if m:
            after = question[m.end():].split()[:2]
            return Kind(name, frozenset(tokenize(" ".join(after))) if name in (COUNT, MONEY, PERCENT) else frozenset())
    return None


def kind_fit(kind: Kind | None, facts: Facts, terms: frozenset) -> float:
    """1.0 when a sentence has what the question's kind wants ("How many jobs": a count and
    the word jobs), less when it has only part of it, less still when it has none."""
    if kind is None:
        return 1.0
    quantities = {n for n in facts.numbers if not n.startswith("month:") and not _is_year(n)}
    about = not kind.about or bool(kind.about & terms)
    # Gentle factors: at twice these, SQuAD and XQuAD en answers moved to the wrong sentence
    # more often than they found the right one.
    if kind.name == MONEY:
        return 1.0 if facts.money and about else 0.95 if quantities else 0.875
    if kind.name == COUNT:
        return 1.0 if quantities and about else 0.925 if quantities else 0.875
    if kind.name == PERCENT:
        return 1.0 if facts.percent and about else 0.95 if quantities else 0.9
    dated = any(n.startswith("month:") or _is_year(n) for n in facts.numbers) or facts.dated
    return 1.0 if dated else 0.9


def _is_year(number: str) -> bool:
    return number.isdigit() and len(number) == 4 and 1900 <= int(number) <= 2100
