"""The checkable facts of a sentence: its numbers, identifiers and names, in English and Arabic.

Two sentences state the same fact only when they agree on these. Word overlap cannot tell
"Project Z017 ... 384 million dollars" from "Project Z018 ... 512 million dollars": the
template is the same, the facts are not. Numbers are compared by value ("384 million",
"$384m", "٣٨٤ مليون" are one number), month names by month (August = أغسطس), identifiers
exactly (Z017, F-16, S-400), names through the consonant skeletons of transliteration.py so
that Havelsan = هافيلسان and Türkiye = Turkey.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .dates import _AR_MONTH_OF, _MONTHS
from .transliteration import arabic_skeleton, latin_skeleton

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫٬", "01234567890123456789.,")
_SCALES = {
    "thousand": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "mn": 1e6, "m": 1e6, "mln": 1e6,
    "billion": 1e9, "billions": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12,
    "ألف": 1e3, "الف": 1e3, "آلاف": 1e3, "الاف": 1e3, "مليون": 1e6, "ملايين": 1e6, "مليار": 1e9,
    "مليارات": 1e9, "بليون": 1e9, "ترليون": 1e12, "تريليون": 1e12,
}
_SCALE_RE = "|".join(sorted(map(re.escape, _SCALES), key=len, reverse=True))
# An identifier mixes letters and digits: Z017, F-16, S-400, T-90A, 3M14. Checked before plain
# numbers so that the 17 of Z017 is not also read as a quantity.
_IDENT = re.compile(r"(?<![\w-])(?:[A-Za-z]+-?\d+[A-Za-z]*|\d+[A-Za-z]*-[A-Za-z]+\d*|\d+[A-Z]+\d+)(?![\w-])")
_NUMBER = re.compile(
    rf"(?<![\w.,])(\d{{1,3}}(?:,\d{{3}})+|\d+)(\.\d+)?(?:\s?({_SCALE_RE})(?![a-zA-Z\u0600-\u06ff]))?"
    r"(?:st|nd|rd|th)?(?![\w])")
_EN_MONTHS = {name.capitalize(): m for m, names in _MONTHS.items() for name in names.split()[:1]}
_EN_MONTH_RE = re.compile(r"\b(" + "|".join(_EN_MONTHS) + r")\b")
_AR_MONTH_RE = re.compile("(" + "|".join(sorted(map(re.escape, _AR_MONTH_OF), key=len, reverse=True)) + ")")
_LATIN_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ][\w’'-]*")
_AR_WORD = re.compile(r"[\u0621-\u064a]{2,}")
_CURRENCY = re.compile(
    r"[$€£¥]|\b(?:dollars?|usd|euros?|eur|pounds?|egp|le|lira|liras|riyals?|dirhams?|rupees?|yuan|roubles?|rubles?)\b|"
    r"دولار|يورو|جنيه|ليرة|ريال|درهم|روبية|روبل", re.I)
_DATE_WORDS = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tomorrow|last (?:week|month|year)|"
    r"this (?:week|month|year)|ago)\b|الاثنين|الثلاثاء|الأربعاء|الخميس|الجمعة|السبت|الأحد|أمس|اليوم|الماضي", re.I)
_PERCENT_WORDS = re.compile(r"%|٪|\bper ?cent\b|بالمئة|بالمائة|في المئة|في المائة", re.I)
# "Cairo, 11 February 2025 — ", "CAIRO (Reuters) - ": where and when a story was filed, not a
# fact it states; a wire copy of the same story carries another dateline or none.
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][\w’'.-]*(?: [A-Z][\w’'.-]*){0,3},\s*(?:\d{1,2}\s+[A-Za-z]+\.?,?\s+\d{4}|[A-Za-z]+\.?\s+\d{1,2}"
    r"(?:,?\s+\d{4})?)|[A-Z]{3,}(?: [A-Z]{3,})*)\s*(?:\([^)]{1,40}\))?\s*[—–-]{1,2}\s+")
# Capitalised words that name no entity: sentence glue, titles and calendar words.
_NOT_NAMES = frozenset("""
a an and the this that these those it its they their there he she his her we our you your i
in on at of for to from by with as or but if when where what which who whom whose why how
is are was were be been has have had do does did will would can could should may might must
mr mrs ms dr gen general lt lieutenant col colonel maj major brig president minister prime
monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow
also however meanwhile according said says while after before during since until
""".split())


@dataclass(frozen=True)
class Facts:
    numbers: frozenset[str]  # canonical values: "384000000", "12", "2025", "month:8"
    identifiers: frozenset[str]  # upper-cased, hyphens dropped: "Z017", "F16"
    names: dict[str, str]  # skeleton key -> the word, for name-like words; keys compare across scripts
    money: bool  # states an amount in a currency
    percent: bool = False  # states a percentage
    dated: bool = False  # names a day or a relative date (Sunday, yesterday, last week)


def normalize_digits(text: str) -> str:
    return text.translate(_DIGITS)


def facts_of(text: str) -> Facts:
    text = normalize_digits(unicodedata.normalize("NFKC", text))
    text = _DATELINE.sub("", text, count=1)
    identifiers = set()
    for m in _IDENT.finditer(text):
        identifiers.add(m.group(0).upper().replace("-", ""))
    rest = _IDENT.sub(" ", text)
    numbers = set()
    for m in _NUMBER.finditer(rest):
        numbers.add(_canonical(m.group(1), m.group(2), m.group(3)))
    for m in _EN_MONTH_RE.finditer(rest):
        numbers.add(f"month:{_EN_MONTHS[m.group(1)]}")
    for m in _AR_MONTH_RE.finditer(rest):
        numbers.add(f"month:{_AR_MONTH_OF[m.group(1)]}")
    return Facts(frozenset(numbers), frozenset(identifiers), name_keys(rest),
                 bool(numbers and _CURRENCY.search(rest)), bool(numbers and _PERCENT_WORDS.search(rest)),
                 bool(_DATE_WORDS.search(rest)))


def _canonical(integer: str, fraction: str | None, scale: str | None) -> str:
    value = float(integer.replace(",", "") + (fraction or ""))
    if scale:
        word = scale.lower() if scale.isascii() else scale
        value *= _SCALES.get(word, 1)
    return f"{value:.6g}" if value != int(value) else str(int(value))


def name_keys(text: str) -> dict[str, str]:
    """Skeletons of the name-like words of `text`: capitalised Latin words that are not the
    first word of a sentence nor glue words, and Arabic words (Arabic has no capitals, so
    every Arabic word is a candidate; cross-script matching keeps only those that match)."""
    keys: dict[str, str] = {}
    for m in _LATIN_WORD.finditer(text):
        word = m.group(0).strip("’'-")
        if not word[:1].isupper() or word.casefold() in _NOT_NAMES or word in _EN_MONTHS:
            continue
        before = text[:m.start()].rstrip()
        if not before or before[-1] in ".!?\n:;\"“":
            continue  # a capital at the start of a sentence says nothing about names
        keys.setdefault(name_key(word), word)
    for word in _AR_WORD.findall(text):
        if word in _SCALES or word in _AR_MONTH_OF:
            continue  # read as numbers already
        sk = arabic_skeleton(word)
        if len(sk) >= 3:
            keys.setdefault(sk, word)
    return keys


def name_key(word: str) -> str:
    """The skeleton of a Latin name (Türkiye and Turkey -> "trk"), or the folded word when
    the skeleton is too short to mean anything."""
    sk = latin_skeleton(word)
    if len(sk) >= 3:
        return sk
    return "".join(ch for ch in unicodedata.normalize("NFKD", word.casefold()) if ch.isalnum())


def agree(main: Facts, other: Facts, weight=lambda word: 1.0, share: float = 0.5) -> bool:
    """Whether `other` states the fact of `main`: every number and identifier of `main` is in
    `other`, and `other` names at least `share` of `main`'s names, weighed by `weight` (rare
    names count more than "Ministry")."""
    if not main.numbers <= other.numbers or not main.identifiers <= other.identifiers:
        return False
    if not main.names:
        return True
    total = sum(weight(w) for w in main.names.values())
    shared = sum(weight(w) for k, w in main.names.items() if k in other.names)
    return total <= 0 or shared / total >= share
