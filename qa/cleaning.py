"""Scraped-page clean-up and metadata: boilerplate lines out, title/date/source/language in.

Rules are line-based so an article sentence is never cut in half: a line is either kept whole
or removed whole, and every removed line is kept (Article.removed) for inspection.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .dates import date_in, find_date, strip_dates

# A line like this, from ~40% of the article onward, starts the page's tail (teasers,
# "more stories", contact blocks): everything after it is not article text.
_TAIL_MARKERS = re.compile(
    r"^(share this (article|story|page)|discover more|read more( articles on)?|related (articles|stories|posts)"
    r"|more (stories|from|news)|you may also like|recommended( for you)?|also read|most read|trending( now)?"
    # The same in Arabic (hamza forms vary: أ/ا, with or without tanwin).
    r"|شارك هذا (المقال|الخبر|الموضوع)|اكتشف المزيد|[اأ]قر[اأ] (ال)?(مزيد|[اأ]يضا|[اأ]يضاً)"
    r"|(مقالات|[اأ]خبار|مواضيع|موضوعات|قصص) (ذات صلة|متعلقة|مشابهة)|المزيد من|قد (يعجبك|يهمك)"
    r"|مقترحات لك|الأكثر (قراءة|مشاهدة|تداولا|تداولاً)|شارك المقال)\b.*$",
    re.I,
)
# Lines that are page furniture wherever they appear; each English rule has its Arabic twin.
_NOISE = [
    re.compile(p, re.I)
    for p in (
        r"^advertisement$", r"^sponsored( content)?$", r"^share this (article|story|page)$",
        r"^read more articles on$", r"^discover more$", r"^(share|tweet|email|print|whatsapp|facebook|twitter|linkedin)"
        r"(\s*[|/·,]?\s*(share|tweet|email|print|whatsapp|facebook|twitter|linkedin|telegram|x))*$",
        r"^.{0,40}\blogo$", r"^\d+\s*min(ute)?s?\s+read$", r"^.{0,30}\d+\s*min(ute)?s?\s+read$",
        r"^(photo|image|picture|credit|photograph)s?( credit)?\s*[:/].{0,80}$",
        r"^(reuters|ap|afp|getty images|epa|anadolu|shutterstock|xinhua)(\s*/\s*[^/]{1,60})+$",
        r"^©.*$", r"^.*all rights reserved\.?$", r"^(subscribe|sign up)( to| for)? (our )?newsletter.*$",
        r"^click here.{0,60}$", r"^(skip to (main )?content|toggle navigation|menu|search)$",
        r"^follow us( on)?\b.{0,60}$",
        r"^[اإ]علان$", r"^(محتوى )?(مدعوم|ممول|برعاية)$", r"^شارك(\s+هذا)?(\s+(المقال|الخبر|الموضوع))?$",
        r"^(شارك|مشاركة|فيسبوك|فيس بوك|تويتر|واتساب|واتس اب|تيليجرام|تلغرام|لينكد[اإ]ن|طباعة|[اإ]كس)"
        r"(\s*[|/·،,]?\s*(شارك|مشاركة|فيسبوك|فيس بوك|تويتر|واتساب|واتس اب|تيليجرام|تلغرام|لينكد[اإ]ن|طباعة|[اإ]كس))*$",
        r"^شعار\b.{0,40}$", r"^.{0,30}\d+\s*(دقائق|دقيقة|دقيقتان|د)\s+(للقراءة|قراءة)$", r"^(مدة|وقت) القراءة.{0,20}$",
        r"^(صورة|الصورة|صور|الصور|تصوير|مصدر الصورة|حقوق الصورة)\s*[:/].{0,80}$",
        r"^(رويترز|[اأ] ف ب|[اأ]\.ف\.ب|فرانس برس|[اأ]سوشيتد برس|الأناضول|غيتي|جيتي|شينخوا)(\s*/\s*[^/]{1,60})+$",
        r"^.{0,60}جميع الحقوق محفوظة.{0,40}$", r"^.*حقوق (النشر|الطبع) محفوظة.*$",
        r"^(اشترك|سجل|اشتركوا)\s.{0,20}(النشرة|نشرتنا).*$", r"^(اضغط|انقر) هنا.{0,60}$",
        r"^((تخطى|تخطي|انتقل) [اإ]لى المحتوى( الرئيسي)?|القائمة( الرئيسية)?|بحث|ابحث)$",
        r"^تابع(نا|ونا) (على|عبر)\b.{0,60}$",
    )
]
_BREADCRUMB_START = re.compile(r"^\d+\.\s*(home|الرئيسية)$|^(home|الرئيسية)\s*[>»/›|<«‹]", re.I)
_NUMBERED = re.compile(r"^\d+\.\s+\S")
_SENTENCE_END = re.compile(r"[.!?؟:;»”\"')\]。！？]$")
_LATIN = re.compile(r"[A-Za-zÀ-ɏ]")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")

_STANDALONE_DATE = re.compile(r"^[^\w]*(\w+\s+)?[\d\s./:,-]*$")
_SOURCE_LINE = re.compile(r"^(?:original\s+)?(?:source|المصدر)\s*[:：]\s*(.{2,80}?)\s*$", re.I | re.M)
_TOLD = re.compile(r"\btold ((?:The |Al-|al-)?[A-Z][\w'’-]+(?: [A-Z][\w'’-]+){0,3})")
_COPYRIGHT = re.compile(r"^©\s*(?:\d{4}\s*)?(.{2,60}?)\.?(?:\s+all rights reserved\.?)?$", re.I)
_TRADEMARK = re.compile(r"^(.{2,60}?)\s*[™®]$")

_STOPWORDS = {
    "en": "the of and to in is that for on with as was by it are this from be at an have has",
    "fr": "le la les des et est une du dans pour que qui sur au avec pas plus par",
    "de": "der die das und ist nicht mit ein eine den von zu sich auf für dem im",
    "es": "el la los las de y que en un una por con para es del se al",
    "nl": "de het een en van is dat op te zijn met voor niet aan er ook",
    "tr": "ve bir bu da de ile için olarak çok daha gibi olan",
}
_STOPWORDS = {lang: set(words.split()) for lang, words in _STOPWORDS.items()}


@dataclass(frozen=True)
class Cleaned:
    text: str
    removed: tuple[str, ...]
    title: str
    date: str | None
    source: str | None
    lang: str


def clean(raw: str, fallback_title: str = "", *, markdown: bool = False) -> Cleaned:
    """`markdown`: the text is Markdown, whose markup (heading marks, image and link syntax,
    emphasis) is not article text."""
    lines = [line.strip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    heading = None
    if markdown:
        first = next((line for line in lines if line), "")
        if re.match(r"^#\s+\S", first):
            heading = _markdown_line(first)  # "# Title": the article says what its title is
        lines = [_markdown_line(line) for line in lines]
    date = find_date(lines)
    keep, removed = _filter_lines(lines)
    text = _join(keep)
    if not text and raw.strip():
        # The rules misfired on an unusual page: keeping noise beats losing the article.
        keep, removed, text = lines, [], _join(lines)
    source = _find_source(raw, text, removed)
    return Cleaned(
        text=text,
        removed=tuple(removed),
        title=heading or _title(keep, fallback_title),
        date=date,
        source=source,
        lang=detect_language(text),
    )


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()\s]|\([^)]*\))+(?:\s+\"[^\"]*\")?\)")
_MD_REFERENCE = re.compile(r"^\[[^\]]+\]:\s*\S+.*$")  # [1]: https://... link definitions
_MD_RULE = re.compile(r"^([-*_]\s*){3,}$")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")


def drop_furniture(text: str) -> tuple[str, tuple[str, ...]]:
    """Text already taken out of a page by an extractor: only lines that are page furniture
    by name ("Advertisement", share rows, photo credits, "All rights reserved") leave. The
    structural guesses `clean` makes for raw scrapes would cost real sentences here."""
    keep, removed = [], []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and (any(p.match(stripped) for p in _NOISE) or _SOURCE_LINE.match(stripped)):
            removed.append(stripped)
        else:
            keep.append(line)
    return _join(keep), tuple(removed)


def _markdown_line(line: str) -> str:
    """One Markdown line as plain text. An image, a rule or a link definition leaves nothing;
    a line left empty counts as a paragraph break."""
    if _MD_RULE.match(line) or _MD_REFERENCE.match(line):
        return ""
    line = _MD_IMAGE.sub("", line)
    line = _MD_LINK.sub(r"\1", line)
    line = re.sub(r"^#{1,6}\s+", "", line)
    line = re.sub(r"\s+#+$", "", line)  # closing heading marks: "## Title ##"
    line = re.sub(r"^>\s?", "", line)
    line = _MD_EMPHASIS.sub(r"\2", line)
    return line.strip()


def _filter_lines(lines: list[str]) -> tuple[list[str], list[str]]:
    total = sum(len(line) + 1 for line in lines) or 1
    keep: list[str] = []
    removed: list[str] = []
    seen_short: set[str] = set()
    in_header = True
    in_breadcrumb = False
    position = 0
    for i, line in enumerate(lines):
        position += len(line) + 1
        if not line:
            keep.append("")
            continue
        if position / total > 0.4 and _TAIL_MARKERS.match(line):
            removed.extend(x for x in lines[i:] if x)
            break
        if _BREADCRUMB_START.match(line):
            in_breadcrumb = True
            removed.append(line)
            continue
        if in_breadcrumb and _NUMBERED.match(line):
            removed.append(line)
            continue
        in_breadcrumb = False
        if _is_noise(line) or (in_header and _is_header_furniture(line)):
            removed.append(line)
            continue
        words = line.split()
        key = line.casefold()
        if len(words) <= 20 and key in seen_short:
            removed.append(line)  # a repeated heading or title
            continue
        if len(words) <= 20:
            seen_short.add(key)
        if len(words) >= 4:
            in_header = False
        keep.append(line)
    return keep, removed


def _is_noise(line: str) -> bool:
    if any(p.match(line) for p in _NOISE) or _SOURCE_LINE.match(line):
        return True
    words = line.split()
    if _LATIN.search(line) and not _ARABIC.search(line):
        bare = not re.search(r"[^\w\s'’-]", line) and not re.search(r"\d", line)
        # Image alt text left by scrapers: a lowercase run of words with no punctuation.
        if bare and line == line.lower() and len(words) <= 12:
            return True
        # One- or two-word labels ("ASA Logo", "Stamp") carry no article sentence.
        if bare and len(words) <= 2:
            return True
    return False


def _is_header_furniture(line: str) -> bool:
    words = line.split()
    if date_in(line) and len(_STANDALONE_DATE.sub("", strip_dates(line))) < 8:
        return True  # a dateline such as "29 okt. 2025 09:31"
    if len(words) <= 3 and len(line) <= 40 and not _SENTENCE_END.search(line):
        return True  # labels such as "When", "Location", "Egypt"
    parts = [p.strip() for p in line.split(",")]
    if len(parts) >= 3 and all(0 < len(p.split()) <= 3 for p in parts) and not _SENTENCE_END.search(line):
        return True  # a tag list such as "Governance, Economic Development, Civil Security"
    return False


def _join(lines: list[str]) -> str:
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _title(lines: list[str], fallback: str) -> str:
    for line in lines:
        if not line:
            continue
        if len(line) <= 150 and not line.endswith("."):
            return line
        return _shorten(line.split(". ")[0], 100)
    return fallback


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;: ")
    return cut + "…"


def _find_source(raw: str, text: str, removed: list[str]) -> str | None:
    m = _SOURCE_LINE.search(raw)
    if m:
        return m.group(1).strip().rstrip(".")
    for line in removed:
        for pattern in (_COPYRIGHT, _TRADEMARK):
            m = pattern.match(line)
            if m:
                return m.group(1).strip()
    opening = "\n".join(text.split("\n")[:3])
    m = _TOLD.search(opening)
    if m:
        return m.group(1)
    return None


# Languages detect_language tells apart by their script (certain); the Latin-script ones are a
# stopword guess, fair on a paragraph and weak on a short question.
SCRIPT_LANGUAGES = frozenset({"ar", "ru", "zh", "he", "el"})


def detect_language(text: str) -> str:
    sample = text[:5000]
    arabic = len(_ARABIC.findall(sample))
    latin = len(_LATIN.findall(sample))
    others = {
        "ru": len(re.findall(r"[\u0400-\u04ff]", sample)),
        "zh": len(re.findall(r"[\u4e00-\u9fff]", sample)),
        "he": len(re.findall(r"[\u0590-\u05ff]", sample)),
        "el": len(re.findall(r"[\u0370-\u03ff]", sample)),
    }
    best_other = max(others, key=others.get)
    if arabic >= max(latin, others[best_other]) and arabic > 0:
        return "ar"
    if others[best_other] > latin:
        return best_other
    if latin == 0:
        return "und"
    words = re.findall(r"[a-zà-ɏ]+", sample.lower())
    # Distinct stopwords, not occurrences: names repeat ("Los Angeles Rams, Los Angeles
    # Lakers" made an English paragraph Spanish, and a Spanish article costs a corpus its
    # multilingual vectors), while a language's running text uses many different ones.
    present = set(words)
    counts = {lang: (len(stop & present), sum(w in stop for w in words)) for lang, stop in _STOPWORDS.items()}
    best = max(counts, key=counts.get)
    return best if counts[best][0] > 0 else "en"
