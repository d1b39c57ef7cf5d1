"""Dates written in article text (English, several European languages, Turkish, Arabic) as ISO
YYYY-MM-DD, and the publication date a plain-text article states in its opening lines."""
from __future__ import annotations

import re

_MONTHS = {
    # English, Dutch, German, French, Spanish, Turkish month names and abbreviations.
    1: "january jan januari januar janvier janv enero ene ocak",
    2: "february feb februari februar février févr fevrier febrero şubat subat",
    3: "march mar maart mrt märz maerz mars marzo mart",
    4: "april apr avril avr abril nisan",
    5: "may mei mai mayo mayıs mayis",
    6: "june jun juni juin junio haziran",
    7: "july jul juli juillet juil julio temmuz",
    8: "august aug augustus août aout agosto ağustos agustos",
    9: "september sep sept septembre septiembre eylül eylul",
    10: "october oct okt oktober octobre octubre ekim",
    11: "november nov novembre noviembre kasım kasim",
    12: "december dec dez dezember décembre decembre déc diciembre dic aralık aralik",
}
_AR_MONTHS = {
    1: ["يناير", "كانون الثاني"], 2: ["فبراير", "شباط"], 3: ["مارس", "آذار", "اذار"],
    4: ["أبريل", "إبريل", "ابريل", "نيسان"], 5: ["مايو", "أيار", "ايار"], 6: ["يونيو", "يونيه", "حزيران"],
    7: ["يوليو", "يوليه", "تموز"], 8: ["أغسطس", "اغسطس", "آب"], 9: ["سبتمبر", "أيلول", "ايلول"],
    10: ["أكتوبر", "اكتوبر", "تشرين الأول"], 11: ["نوفمبر", "تشرين الثاني"], 12: ["ديسمبر", "كانون الأول"],
}
_MONTH_OF = {w: m for m, names in _MONTHS.items() for w in names.split()}
_AR_MONTH_OF = {name: m for m, names in _AR_MONTHS.items() for name in names}
_MONTH_RE = "|".join(sorted(map(re.escape, _MONTH_OF), key=len, reverse=True))
_AR_MONTH_RE = "|".join(sorted(map(re.escape, _AR_MONTH_OF), key=len, reverse=True))
_DATE_PATTERNS = [
    # 29 okt. 2025 / 24 October 2025
    (re.compile(rf"\b(\d{{1,2}})\s+({_MONTH_RE})\.?,?\s+(\d{{4}})\b", re.I), "dmy"),
    # October 24, 2025
    (re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I), "mdy"),
    # 2025-10-24
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), "ymd"),
    # ٢٤ أكتوبر ٢٠٢٥ / 24 أكتوبر 2025 / 28 آب/اغسطس 2013 (Levantine and Egyptian names together)
    (re.compile(rf"(\d{{1,2}})\s+({_AR_MONTH_RE})(?:\s*/\s*(?:{_AR_MONTH_RE}))?\s+(\d{{4}})"), "dmy-ar"),
]
def date_in(text: str) -> str | None:
    for pattern, order in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            iso = _iso(m.groups(), order)
            if iso:
                return iso
    return None


def strip_dates(text: str) -> str:
    for pattern, _ in _DATE_PATTERNS:
        text = pattern.sub("", text)
    return text


def _iso(groups: tuple[str, ...], order: str) -> str | None:
    if order == "dmy":
        day, month, year = int(groups[0]), _MONTH_OF.get(groups[1].lower().rstrip(".")), int(groups[2])
    elif order == "mdy":
        month, day, year = _MONTH_OF.get(groups[0].lower().rstrip(".")), int(groups[1]), int(groups[2])
    elif order == "ymd":
        year, month, day = (int(g) for g in groups)
    else:
        day, month, year = int(groups[0]), _AR_MONTH_OF.get(groups[1]), int(groups[2])
    if not month or not 1 <= month <= 12 or not 1 <= day <= 31 or not 1900 <= year <= 2100:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def find_date(lines: list[str]) -> str | None:
    """The publication date when the page states one: a dateline in the header, a
    'Published ...' line, or an opening 'On <date>, ...' sentence."""
    for line in lines[:15]:
        if line and len(line) <= 60:
            found = date_in(line)
            if found and len(strip_dates(line).split()) <= 3:
                return found
    for line in lines[:40]:
        if re.match(r"^(published|posted|updated|date|نشر|تاريخ النشر)\b", line, re.I):
            found = date_in(line)
            if found:
                return found
    for line in lines[:40]:
        if re.match(r"^(on|في)\s", line, re.I):
            found = date_in(line[:40])
            if found:
                return found
    return None
