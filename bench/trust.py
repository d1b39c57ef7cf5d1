"""Trust: do citations state the cited fact, are re-worded copies cited together, does qa.ask
abstain when the question names something no article mentions?

The corpus is written by this script (deterministic for a --seed): --items templated news items
from one template that differ only in project id, goods, city, amount, jobs, capacity, share of
local parts and dates; a quarter of them also as a re-worded wire copy (three English wordings
with other number formats, and a few in Arabic with Arabic-Indic digits); plus the seed
articles. In the originals the jobs sentence names no project ("The plant is expected to create
1,250 jobs ..."), as news copy does: only the passage around it says which plant it is about.
Every generated article knows its item, so a citation is judged against ground truth, not by
qa's own logic:

* a citation of a templated item is correct iff the cited article is about the same item as the
  article the quoted sentence comes from (its wire copy counts);
* a citation for a seed sentence is correct iff every number of the sentence and every
  capitalised name occurs in the cited passage (across English/Arabic through NAME_PAIRS);
* a passage that contains the quoted sentence verbatim is its source and always correct.

Reported, all through qa.build_index / qa.load_index / qa.ask:
  citation precision (seed and templated sentences, all citations and the corroborating ones),
  corroboration recall (answers quoting an item with a copy that cite the copy with the quoted
  sentence; also: anywhere in the answer),
  abstention on absent-entity questions (tests/data/questions_absent.jsonl on the seed index,
  generated ones about ids, cities and goods on the full corpus; the issue's own reproductions
  on a row of their own), false abstentions (held-out seed questions, templated questions) and
  answer accuracy on the templated questions (the answer holds the asked amount / city / jobs),
  so that abstaining on everything cannot look good.
Only the quoted sentences that carry markers in the answer text are judged, each with every
citation it carries; the corroborating sentences Answer.sentences adds for highlighting are not.
An absent-entity question lists the names it asks about under "absent"; the run stops if any
article mentions one. Every failing case is listed in the JSON with the question, the answer
and what was wrong; the corpus and its ground truth stay in --work (trust-corpus-truth.json).

Run:  python bench/trust.py [--items 60] [--seed 0] [--work DIR] [--out bench/results/trust.json]
An earlier commit's qa/, without touching the checkout (the report's qa_commit names it):
      git archive COMMIT qa | tar -x -C /tmp/qa-old
      PYTHONPATH=/tmp/qa-old python bench/trust.py --out bench/results/trust_before.json
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DATA = common.ROOT / "tests" / "data"
SEEDS = common.ROOT / "seeds"
GOALS = {"citation_precision": ">= 1.00", "corroboration_recall": ">= 0.90", "abstention_absent": ">= 0.95",
         "false_abstentions_heldout": "<= 1"}

# ---------------------------------------------------------------------------------------------
# The generated corpus

CITIES = [  # (English, Arabic)
    ("Zagazig", "الزقازيق"), ("Tanta", "طنطا"), ("Mansoura", "المنصورة"), ("Assiut", "أسيوط"),
    ("Sohag", "سوهاج"), ("Minya", "المنيا"), ("Beni Suef", "بني سويف"), ("Fayoum", "الفيوم"),
    ("Ismailia", "الإسماعيلية"), ("Suez", "السويس"), ("Port Said", "بورسعيد"), ("Damietta", "دمياط"),
    ("Qena", "قنا"), ("Luxor", "الأقصر"), ("Aswan", "أسوان"), ("Kafr el-Sheikh", "كفر الشيخ"),
    ("Banha", "بنها"), ("Damanhour", "دمنهور"), ("Sadat City", "مدينة السادات"), ("Borg el-Arab", "برج العرب"),
    ("Obour", "العبور"), ("Arish", "العريش"), ("Mahalla", "المحلة"), ("Quesna", "قويسنا"), ("Belbeis", "بلبيس"),
]
GOODS = [  # (English, Arabic, unit of capacity)
    ("rail cars", "عربات السكك الحديدية", "rail cars"), ("solar panels", "الألواح الشمسية", "panels"),
    ("fertiliser", "الأسمدة", "tonnes"), ("cotton yarn", "غزل القطن", "tonnes"),
    ("electric buses", "الحافلات الكهربائية", "buses"), ("car tyres", "إطارات السيارات", "tyres"),
    ("generic medicines", "الأدوية", "packs"), ("flat glass", "الزجاج المسطح", "tonnes"),
    ("steel pipes", "الأنابيب الصلب", "tonnes"), ("battery cells", "خلايا البطاريات", "cells"),
    ("power cables", "كابلات الكهرباء", "kilometres"), ("paper", "الورق", "tonnes"),
    ("ceramic tiles", "بلاط السيراميك", "square metres"), ("water meters", "عدادات المياه", "meters"),
    ("refrigerators", "الثلاجات", "refrigerators"), ("tractors", "الجرارات الزراعية", "tractors"),
]
# Named in absent-entity questions: in no article, generated or seed.
ABSENT_CITIES = [("Hurghada", "الغردقة"), ("Siwa", "سيوة"), ("Safaga", "سفاجا"), ("Marsa Matrouh", "مرسى مطروح")]
ABSENT_GOODS = [("wind turbines", "توربينات الرياح"), ("semiconductors", "أشباه الموصلات"),
                ("aircraft engines", "محركات الطائرات")]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_ARABIC = re.compile(r"[\u0600-\u06ff]")


def _lang(text: str) -> str:
    return "ar" if _ARABIC.search(text) else "en"


@dataclass(frozen=True)
class Item:
    """One templated news item: every fact an article about it states."""
    pid: str
    goods: str
    goods_ar: str
    unit: str
    city: str
    city_ar: str
    amount: int  # million dollars
    jobs: int
    capacity: int
    percent: int
    year: int  # production starts
    date: dt.date


@dataclass
class Doc:
    doc_id: str
    text: str
    item: str | None  # project id; None for a seed article
    version: str  # "original", "copy" or "seed"
    lang: str = "en"
    wording: str = ""


def make_items(n: int, rng: random.Random) -> list[Item]:
    ids = rng.sample([i for i in range(10, 990) if i != 999], n)
    pairs = rng.sample([(g, c) for g in range(len(GOODS)) for c in range(len(CITIES))], n)
    amounts = rng.sample(range(120, 990), n)
    jobs = rng.sample(range(1010, 6000, 10), n)
    capacities = rng.sample(range(6000, 90000, 50), n)
    items = []
    for i in range(n):
        goods, goods_ar, unit = GOODS[pairs[i][0]]
        city, city_ar = CITIES[pairs[i][1]]
        date = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(300))
        items.append(Item(f"Z{ids[i]:03d}", goods, goods_ar, unit, city, city_ar, amounts[i], jobs[i],
                          capacities[i], rng.randrange(30, 86), rng.choice([2026, 2027, 2028]), date))
    return items


def original(it: Item) -> str:
    d = it.date
    start = d + dt.timedelta(days=60)
    return (f"Project {it.pid}: {it.amount} million dollars for {it.goods} plant in {it.city}\n\n"
            f"Cairo, {d.day} {MONTHS[d.month - 1]} {d.year} — Project {it.pid}, a {it.goods} plant in {it.city}, "
            f"will receive an investment of {it.amount} million dollars, the Ministry of Trade and Industry said "
            f"on {d.strftime('%A')}. The plant is expected to create {it.jobs:,} jobs and to start production in "
            f"{it.year}.\n\nIt will have an annual capacity of {it.capacity:,} {it.unit}, and locally made "
            f"components will account for {it.percent} percent of its output. Construction of the {it.city} "
            f"plant is due to begin in {MONTHS[start.month - 1]} {start.year}.\n")


def wire_copy(it: Item, wording: str) -> str:
    """The same facts re-worded, in another order and number format, as another outlet ran them."""
    d = it.date
    if wording == "nile":
        return (f"{it.city} to get ${it.amount}m {it.goods} factory\n\n"
                f"CAIRO, {MONTHS[d.month - 1]} {d.day} (Nile Business Wire) - A {it.goods} factory to be built in "
                f"{it.city} under project {it.pid} will employ {it.jobs} people, officials said on "
                f"{d.strftime('%A')}. The government has earmarked ${it.amount}m for the scheme, according to "
                f"the trade and industry ministry.\n\nProduction is due to begin in {it.year}, with {it.percent}% "
                f"of the output using locally made parts. The factory is designed to turn out "
                f"{it.capacity:,} {it.unit} a year.\n")
    if wording == "mena":
        return (f"US${it.amount} million approved for {it.goods} project {it.pid}\n\n"
                f"MENA Markets Report, {d.day} {MONTHS[d.month - 1]} {d.year}\n\n"
                f"The trade ministry has approved investment of US${it.amount} million in project {it.pid}, which "
                f"will manufacture {it.goods} in {it.city}. Some {it.jobs:,} jobs will be created, and "
                f"{it.percent} per cent of components will be sourced locally.\n\nOfficials expect the {it.city} "
                f"site to produce {it.capacity:,} {it.unit} annually from {it.year}.\n")
    if wording == "delta":
        return (f"{it.goods.capitalize()} plant in {it.city} secures {it.amount} million US dollars\n\n"
                f"Project {it.pid} in {it.city} is expected to bring {it.jobs:,} new jobs, the Ministry of Trade "
                f"and Industry said in a statement dated {d.day}/{d.month}/{d.year}. The {it.goods} plant will "
                f"be financed with {it.amount} million US dollars, and output is planned at {it.capacity:,} "
                f"{it.unit} a year from {it.year}.\n\nLocal inputs will make up {it.percent} percent of "
                f"production.\n")
    if wording == "arabic":
        ar = lambda n: str(n).translate(ARABIC_DIGITS)  # noqa: E731
        return (f"{ar(it.amount)} مليون دولار لمصنع {it.goods_ar} في {it.city_ar}\n\n"
                f"القاهرة - أعلنت وزارة التجارة والصناعة أن المشروع {it.pid} لإنتاج {it.goods_ar} في {it.city_ar} "
                f"سيحصل على استثمارات بقيمة {ar(it.amount)} مليون دولار. ومن المتوقع أن يوفر المصنع "
                f"{ar(it.jobs)} فرصة عمل، على أن يبدأ الإنتاج في عام {ar(it.year)}.\n\n"
                f"وتبلغ الطاقة الإنتاجية للمصنع {ar(it.capacity)} وحدة سنوياً، وتشكل المكونات المحلية "
                f"{ar(it.percent)}٪ من إنتاجه.\n")
    raise ValueError(f"unknown wording {wording!r}")


def copy_plan(n_items: int) -> list[str]:
    """Wordings of the copies: a quarter of the items get one; about one in seven copies is Arabic."""
    copies = max(1, round(n_items / 4))
    n_ar = max(1, round(copies * 2 / 15))
    english = ["nile", "mena", "delta"]
    return [english[i % 3] for i in range(copies - n_ar)] + ["arabic"] * n_ar


def write_corpus(folder: Path, items: list[Item], rng: random.Random) -> dict[str, Doc]:
    """Seeds at the top (same ids as in the seed index), generated articles under wire/."""
    folder.mkdir(parents=True, exist_ok=True)
    docs: dict[str, Doc] = {}
    for path in sorted(SEEDS.iterdir()):
        shutil.copyfile(path, folder / path.name)
        docs[path.name] = Doc(path.name, path.read_text(encoding="utf-8"), None, "seed")
    texts = [(original(it), it.pid, "original", "en", "original") for it in items]
    copied = rng.sample(items, len(copy_plan(len(items))))
    for it, wording in zip(copied, copy_plan(len(items))):
        texts.append((wire_copy(it, wording), it.pid, "copy", "ar" if wording == "arabic" else "en", wording))
    wire = folder / "wire"
    wire.mkdir(exist_ok=True)
    for text, pid, version, lang, wording in texts:
        doc_id = "wire/" + hashlib.sha1(text.encode()).hexdigest()[:12] + ".txt"
        docs[doc_id] = Doc(doc_id, text, pid, version, lang, wording)
        path = folder / doc_id
        if not path.exists():
            path.write_text(text, encoding="utf-8")
    for stale in wire.iterdir():  # left by a run with other --items / --seed
        if f"wire/{stale.name}" not in docs:
            stale.unlink()
    return docs


# ---------------------------------------------------------------------------------------------
# Questions

@dataclass
class Case:
    group: str  # which row it counts in
    question: str
    lang: str = "en"
    history: list = field(default_factory=list)  # [(question, answer text)]; a str first turn is asked live
    item: Item | None = None  # the item asked about (answerable templated questions)
    kind: str = ""  # amount, cost, city, jobs
    answerable: bool = True
    absent: list[str] = field(default_factory=list)  # the names no article mentions


EN_ASK = {
    "amount": ["How much investment will project {pid} receive?", "How much money is going into project {pid}?",
               "What is the size of the investment in project {pid}?",
               "How much is being invested in the {pid} {goods} plant?"],
    "cost": ["How much will the {goods} plant in {city} cost?"],
    "city": ["Where will project {pid} be built?", "In which city is project {pid} located?",
             "Which city will host project {pid}?", "Where is the {pid} {goods} factory going to be?"],
    "jobs": ["How many jobs will the {pid} plant create?", "How many people will project {pid} employ?",
             "How many jobs is project {pid} expected to bring?",
             "How many jobs will the {goods} plant in {city} create?"],
}
AR_ASK = {"amount": "كم يبلغ حجم الاستثمار في المشروع {pid}؟", "city": "أين سيقام المشروع {pid}؟",
          "jobs": "كم فرصة عمل سيوفرها المشروع {pid}؟"}


def templated_questions(items: list[Item], docs: dict[str, Doc], rng: random.Random) -> list[Case]:
    cases = []
    for it in items:
        for kind in ("amount", "city", "jobs"):
            pool = EN_ASK[kind] + (EN_ASK["cost"] if kind == "amount" else [])
            form = rng.choice(pool)
            kind_asked = "cost" if form in EN_ASK["cost"] else kind
            cases.append(Case("templated", form.format(pid=it.pid, goods=it.goods, city=it.city), item=it,
                              kind=kind_asked))
    arabic = {d.item for d in docs.values() if d.lang == "ar" and d.item}
    for it in items:
        if it.pid in arabic:
            cases += [Case("templated", AR_ASK[k].format(pid=it.pid), "ar", item=it, kind=k) for k in AR_ASK]
    return cases


def templated_absent(items: list[Item], docs: dict[str, Doc], rng: random.Random) -> list[Case]:
    """Questions naming a project id, city or product that no article mentions."""
    used = {int(it.pid[1:]) for it in items}
    # An existing id with its digits reversed, as a reader mistypes it; then ids never used.
    near = next((r for r in (int(it.pid[:0:-1]) for it in items) if 10 <= r < 999 and r not in used), None)
    free = [f"Z{n:03d}" for n in rng.sample([n for n in range(10, 999) if n not in used and n != near], 6)]
    swapped = f"Z{near:03d}" if near is not None else free[5]
    letter = "Y" + items[0].pid[1:]  # an existing number under another letter
    a, b, c, d = ABSENT_CITIES
    (g1, g1_ar), (g2, _), (g3, _) = ABSENT_GOODS
    it1, it2, it3 = items[0], items[1], items[2]
    arabic = {x.item for x in docs.values() if x.lang == "ar" and x.item}
    it_ar = next((it for it in items if it.pid in arabic), it1)
    en = [
        (f"How much investment will project {free[0]} receive?", [free[0]], []),
        (f"Where will project {free[1]} be built?", [free[1]], []),
        (f"How many jobs will project {swapped} create?", [swapped], []),
        (f"What will project {letter} produce?", [letter], []),
        (f"How much is being invested in the new factory in {a[0]}?", [a[0]], []),
        (f"How many jobs will the {it2.goods} plant in {b[0]} create?", [b[0]], []),
        (f"How much investment will the {g1} plant receive?", [g1], []),
        (f"Where will Egypt build its {g2} factory?", [g2], []),
        (f"When will the {g3} plant in {it3.city} start production?", [g3], []),
        (f"And project {free[2]}?", [free[2]], [f"How much investment will project {it1.pid} receive?"]),
        (f"What about {free[3]}?", [free[3]], [f"Where will project {it2.pid} be built?"]),
        (f"And the one in {c[0]}?", [c[0]], [f"How many jobs will the {it3.goods} plant in {it3.city} create?"]),
    ]
    ar = [
        (f"كم يبلغ حجم الاستثمار في المشروع {free[4]}؟", [free[4]], []),
        (f"أين سيقام مصنع {g1_ar}؟", [g1_ar], []),
        (f"كم فرصة عمل سيوفرها مصنع {it2.goods_ar} في {d[1]}؟", [d[1]], []),
        (f"وماذا عن المشروع {free[5]}؟", [free[5]], [AR_ASK["amount"].format(pid=it_ar.pid)]),
    ]
    return ([Case("absent_templated", q, "en", h, answerable=False, absent=x) for q, x, h in en]
            + [Case("absent_templated", q, "ar", h, answerable=False, absent=x) for q, x, h in ar])


# The issue's own reproductions, on a row of their own: the general figure is not tuned on them.
ISSUE_REPRODUCTIONS = [
    ("What did Egypt and Brazil sign?", ["Brazil"], []),
    ("Which Brazilian company opened an office in Egypt?", ["Brazilian"], []),
    ("When did Egypt's army chief meet Japan's defence minister?", ["Japan"], []),
    ("What did Egypt and Morocco agree on drones?", ["Morocco"], []),
    ("وماذا عن البرازيل؟", ["البرازيل"], ["ما الذي اتفقت عليه مصر وتركيا؟"]),
    ("And with Brazil?", ["Brazil"], ["What did Egypt and Türkiye agree?"]),
]


def read_jsonl(path: Path, group: str) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            history = [tuple(t) for t in row.get("history", [])]
            cases.append(Case(group, row["question"], _lang(row["question"]), history,
                              answerable=row.get("answerable", bool(row.get("gold"))), absent=row.get("absent", [])))
    return cases


def check_absent(cases: list[Case], docs: dict[str, Doc]) -> None:
    """The premise of an absent-entity question: no article names the entity."""
    corpus = "\n".join(d.text for d in docs.values())
    for case in cases:
        for name in case.absent:
            pattern = re.escape(name) if _ARABIC.search(name) else rf"\b{re.escape(name)}\b"
            if re.search(pattern, corpus, re.I):
                raise SystemExit(f"absent-entity question names {name!r}, which the corpus mentions: {case.question}")


# ---------------------------------------------------------------------------------------------
# Judging an answer

NAME_PAIRS = {  # English name -> its Arabic forms, for seed sentences cited across scripts
    "Egypt": ["مصر", "المصري", "المصرية", "القاهرة"], "Egyptian": ["مصر", "المصري", "المصرية"],
    "Türkiye": ["تركيا", "التركي", "التركية", "أنقرة"], "Turkey": ["تركيا", "التركي", "التركية", "أنقرة"],
    "Turkish": ["تركيا", "التركي", "التركية"], "Cairo": ["القاهرة"], "Ankara": ["أنقرة"],
    "Havelsan": ["هافيلسان"], "Kader": ["قادر"], "Factory": ["مصنع"], "August": ["أغسطس"],
    "September": ["سبتمبر"], "Sisi": ["السيسي"], "Erdogan": ["إردوغان", "أردوغان"],
    "Sea": ["بحر"], "Friendship": ["الصداقة"], "Saqr": ["صقر"],
}
_SENTENCE_STARTERS = set("""a an the in on at by for from of to it its he she they this that these those there
but and or so as while when after before over under with without both either neither however meanwhile
what which who where how why some all each every many most such one two three""".split())
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALISED = re.compile(r"[A-ZÀ-Ý][\w’'-]*")


def numbers(text: str) -> set[str]:
    """Numbers as digit strings: Arabic-Indic digits read, thousands separators dropped."""
    text = text.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))
    return {re.sub(r",(?=\d{3}\b)", "", n).rstrip(".,") for n in _NUMBER.findall(text)}


def names(sentence: str) -> set[str]:
    found = set()
    for m in _CAPITALISED.finditer(sentence):
        for part in re.sub(r"[’']s$", "", m.group(0)).split("-"):
            if part and part[0].isupper() and not (m.start() == 0 and part.casefold() in _SENTENCE_STARTERS):
                found.add(part)
    return found


def states_seed_fact(sentence: str, passage: str) -> tuple[bool, str]:
    """The independent check for seed sentences: the sentence's numbers and names are in the passage."""
    missing = sorted(numbers(sentence) - numbers(passage))
    if missing:
        return False, f"numbers not in the cited passage: {missing}"
    arabic_passage = bool(_ARABIC.search(passage))
    lost = []
    if re.search(r"[A-Za-z]", sentence):
        for name in sorted(names(sentence)):
            forms = NAME_PAIRS.get(name, []) if arabic_passage else [name]
            if not any(f.casefold() in passage.casefold() for f in forms):
                lost.append(name)
    else:  # an Arabic sentence: each declared name it holds must be there, in either script
        # (an Arabic form stands for every English name the table pairs with it: التركية is
        # Türkiye, Turkey or Turkish)
        for form in sorted({f for forms in NAME_PAIRS.values() for f in forms if f in sentence}):
            english = sorted(e for e, forms in NAME_PAIRS.items() if form in forms)
            options = [form] if arabic_passage else english
            if not any(f.casefold() in passage.casefold() for f in options):
                lost.append(form if arabic_passage else "/".join(english))
    return (not lost), (f"names not in the cited passage: {lost}" if lost else "")


def main_sentences(answer) -> list[tuple[str, list[int]]]:
    """The quoted sentences that carry their markers in the answer text (not the corroborating
    sentences `sentences` lists for highlighting)."""
    out = []
    for sentence, nums in answer.sentences:
        marks = "".join(f"[{n}]" for n in nums)
        if f"{sentence} {marks}" in answer.text or f"{sentence}{marks}" in answer.text:
            out.append((sentence, list(nums)))
    return out


def origin(sentence: str, nums: list[int], answer, texts: dict[str, str]) -> str | None:
    """The article the sentence is quoted from: a cited passage holding it, else any article."""
    for n in nums + list(range(1, len(answer.citations) + 1)):
        if 0 < n <= len(answer.citations) and sentence in answer.citations[n - 1].text:
            return answer.citations[n - 1].doc_id
    return next((doc for doc, text in texts.items() if sentence in text), None)


def judge_citation(sentence: str, src: str | None, passage, docs: dict[str, Doc]) -> tuple[bool, str]:
    if sentence in passage.text:
        return True, "source"
    cited = docs.get(passage.doc_id)
    if src is not None and docs[src].item is not None:
        if cited is not None and cited.item == docs[src].item:
            return True, "same item"
        return False, f"sentence is about {docs[src].item}, cited article about {cited.item if cited else '?'}"
    if cited is not None and cited.item is not None:
        return False, f"seed sentence cited to templated item {cited.item}"
    return states_seed_fact(sentence, passage.text)


# ---------------------------------------------------------------------------------------------
# The run

@dataclass
class Asked:
    case: Case
    index_name: str
    answer: object
    history: list


def ask_all(cases: list[Case], index, index_name: str, log) -> list[Asked]:
    import qa

    out = []
    for case in cases:
        history = []
        for turn in case.history:  # a first turn given as a question alone is asked now
            if isinstance(turn, str):
                history.append((turn, qa.ask(turn, index, history=list(history)).text))
            else:
                history.append(tuple(turn))
        out.append(Asked(case, index_name, qa.ask(case.question, index, history=history), history))
    log(f"  {index_name}: {len(cases)} questions asked")
    return out


def share(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None


def citation_figures(asked: list[Asked], docs: dict[str, Doc], texts: dict[str, str]) -> tuple[dict, list]:
    counts = {k: [0, 0] for k in ("seed", "templated", "seed_corroborating", "templated_corroborating")}
    failures = []
    unjudged = 0  # answered, yet no sentence of the text carries its markers: the format changed?
    for a in asked:
        if not a.answer.answered:
            continue
        unjudged += not main_sentences(a.answer)
        for sentence, nums in main_sentences(a.answer):
            src = origin(sentence, nums, a.answer, texts)
            kind = "templated" if src is not None and docs[src].item else "seed"
            for n in nums:
                if not 0 < n <= len(a.answer.citations):
                    ok, why, passage = False, f"[{n}] is not among the {len(a.answer.citations)} citations", None
                else:
                    passage = a.answer.citations[n - 1]
                    ok, why = judge_citation(sentence, src, passage, docs)
                for key in (kind, kind + "_corroborating") if why != "source" else (kind,):
                    counts[key][0] += ok
                    counts[key][1] += 1
                if not ok:
                    failures.append({"question": a.case.question, "history": a.history, "index": a.index_name,
                                     "answer": a.answer.text, "sentence": sentence, "citation": n,
                                     "sentence_doc": src, "cited_doc": passage.doc_id if passage else None,
                                     "why": why})
    figures = {f"precision_{k}": share(*v) for k, v in counts.items()}
    figures.update({f"citations_{k}": v[1] for k, v in counts.items()})
    all_hits = counts["seed"][0] + counts["templated"][0]
    all_n = counts["seed"][1] + counts["templated"][1]
    corr_hits = counts["seed_corroborating"][0] + counts["templated_corroborating"][0]
    corr_n = counts["seed_corroborating"][1] + counts["templated_corroborating"][1]
    figures.update(precision_all=share(all_hits, all_n), citations_all=all_n,
                   precision_corroborating=share(corr_hits, corr_n), citations_corroborating=corr_n,
                   answers_without_quoted_sentences=unjudged,
                   answers=sum(a.answer.answered for a in asked))
    return figures, failures


def corroboration_figures(asked: list[Asked], docs: dict[str, Doc], texts: dict[str, str]) -> tuple[dict, list]:
    """Answers quoting an item that has a second version: is that version cited together with
    the quoted sentence (as its corroboration)? Also reported: is it cited anywhere in the answer,
    which counts an answer that quotes both versions as two separate sentences."""
    versions: dict[str, set[str]] = {}
    for d in docs.values():
        if d.item:
            versions.setdefault(d.item, set()).add(d.doc_id)
    counts = {"en": [0, 0, 0], "ar": [0, 0, 0]}  # together, anywhere, answers
    failures = []
    for a in asked:
        if not a.answer.answered:
            continue
        quoted: dict[str, list[tuple[str, set[str]]]] = {}  # item -> [(quoted doc, docs its sentence cites)]
        for sentence, nums in main_sentences(a.answer):
            src = origin(sentence, nums, a.answer, texts)
            if src and docs[src].item and len(versions[docs[src].item]) > 1:
                cited = {a.answer.citations[n - 1].doc_id for n in nums if 0 < n <= len(a.answer.citations)}
                quoted.setdefault(docs[src].item, []).append((src, cited))
        if not quoted:
            continue
        together = {item: any((cited & versions[item]) - {src} for src, cited in quotes)
                    for item, quotes in quoted.items()}
        anywhere = all(len(versions[item] & set().union(*(c | {s} for s, c in quotes))) > 1
                       for item, quotes in quoted.items())
        lang = "ar" if any(docs[v].lang == "ar" for item in quoted for v in versions[item]) else "en"
        counts[lang][0] += all(together.values())
        counts[lang][1] += anywhere
        counts[lang][2] += 1
        for item in (i for i, ok in together.items() if not ok):
            failures.append({"question": a.case.question, "answer": a.answer.text, "item": item,
                             "quoted_docs": sorted({src for src, _ in quoted[item]}),
                             "other_versions": sorted(versions[item] - {src for src, _ in quoted[item]}),
                             "cited_for_its_sentences": sorted(set().union(*(c for _, c in quoted[item]))),
                             "cited_elsewhere_in_answer": anywhere})
    n = counts["en"][2] + counts["ar"][2]
    return {"recall": share(counts["en"][0] + counts["ar"][0], n), "answers": n,
            "recall_anywhere_in_answer": share(counts["en"][1] + counts["ar"][1], n),
            "recall_copy_en": share(counts["en"][0], counts["en"][2]), "answers_copy_en": counts["en"][2],
            "recall_copy_ar": share(counts["ar"][0], counts["ar"][2]), "answers_copy_ar": counts["ar"][2]}, failures


def abstention_figures(asked: list[Asked]) -> tuple[dict, list]:
    rows = {}

    def add(key, abstained):
        rows.setdefault(key, [0, 0])
        rows[key][0] += abstained
        rows[key][1] += 1

    failures = []
    for a in asked:
        abstained = not a.answer.answered
        turn = "follow_up" if a.history else "first_turn"
        for key in ("all", a.case.group, a.case.lang, turn, f"{a.case.lang}_{turn}"):
            add(key, abstained)
        if not abstained:
            failures.append({"question": a.case.question, "history": a.history, "index": a.index_name,
                             "absent": a.case.absent, "answer": a.answer.text})
    figures = {k: share(*v) for k, v in rows.items()}
    figures["questions"] = {k: v[1] for k, v in rows.items()}
    return figures, failures


def contains_figure(text: str, value: int) -> bool:
    return str(value) in numbers(text)


def accuracy_figures(asked: list[Asked], docs: dict[str, Doc], texts: dict[str, str]) -> tuple[dict, list]:
    rows: dict[str, list[int]] = {}
    right_item = false_abstentions = 0
    failures = []
    for a in asked:
        it, text = a.case.item, a.answer.text
        if a.case.kind == "city":
            ok = it.city.casefold() in text.casefold() or it.city_ar in text
        else:
            ok = contains_figure(text, it.jobs if a.case.kind == "jobs" else it.amount)
        ok = ok and a.answer.answered
        quoted = main_sentences(a.answer)
        first = origin(*quoted[0], a.answer, texts) if quoted else None
        right_item += bool(first and docs[first].item == it.pid)
        false_abstentions += not a.answer.answered
        for key in ("all", a.case.kind, a.case.lang):
            rows.setdefault(key, [0, 0])
            rows[key][0] += ok
            rows[key][1] += 1
        if not ok:
            expected = {"city": it.city, "jobs": it.jobs}.get(a.case.kind, f"{it.amount} million dollars")
            failures.append({"question": a.case.question, "item": it.pid, "expected": expected,
                             "answered": a.answer.answered, "answer": text,
                             "first_sentence_doc": first, "first_sentence_item": docs[first].item if first else None})
    figures = {f"accuracy_{k}": share(*v) for k, v in rows.items()}
    figures.update(questions={k: v[1] for k, v in rows.items()}, quotes_asked_item=share(right_item, len(asked)),
                   false_abstentions=false_abstentions, false_abstention_rate=share(false_abstentions, len(asked)))
    return figures, failures


def provenance() -> dict:
    """Which qa was measured: HEAD at run time, where the imported package lives, and the newest
    commit whose qa/ equals it file for file (None: uncommitted code). Other engineers commit
    while a run lasts, and a "before" run may import an exported copy of an earlier qa/."""
    import qa

    def git(*args):
        return subprocess.run(["git", "-C", str(common.ROOT), *args], capture_output=True, text=True).stdout

    pkg = Path(qa.__file__).resolve().parent
    files = sorted(pkg.glob("*.py"))
    measured = dict(zip((f"qa/{f.name}" for f in files), git("hash-object", *map(str, files)).split()))
    head = git("rev-parse", "HEAD").strip()
    qa_commit = None
    for commit in git("rev-list", "--max-count=200", "HEAD").split():
        rows = (line.split(None, 3) for line in git("ls-tree", commit, "qa/").splitlines())
        if {path: sha for _, _, sha, path in rows if path.endswith(".py")} == measured:
            qa_commit = commit
            break
    return {"commit": head, "qa_commit": qa_commit, "qa_source": str(pkg), "qa_equals_head": qa_commit == head}


def question_sets(items: list[Item], docs: dict[str, Doc], rng: random.Random,
                  max_per_group: int | None) -> dict[str, tuple[str, list[Case]]]:
    """Group -> (the index it is asked on, its questions). The seed question files and the issue's
    reproductions are asked on the seed index, as `qa eval` would; the rest on the whole corpus."""
    cut = (lambda xs: xs[:max_per_group]) if max_per_group else (lambda xs: xs)
    heldout = cut([c for c in read_jsonl(DATA / "questions_heldout.jsonl", "heldout") if c.answerable])
    sets = {
        "templated": ("full", templated_questions(items, docs, rng)),
        "absent_templated": ("full", cut(templated_absent(items, docs, rng))),
        # Seed sentences to judge citations on, with the generated items around them.
        "seed_answerable": ("full", cut([c for c in read_jsonl(DATA / "questions.jsonl", "seed") if c.answerable])
                            + heldout),
        "absent_seed": ("seeds", cut(read_jsonl(DATA / "questions_absent.jsonl", "absent_seed"))),
        "issue_reproductions": ("seeds", cut([Case("issue_reproductions", q, _lang(q), h, answerable=False, absent=x)
                                              for q, x, h in ISSUE_REPRODUCTIONS])),
        "heldout": ("seeds", heldout),
    }
    check_absent([c for _, cases in sets.values() for c in cases if not c.answerable], docs)
    return sets


def run(work: Path, n_items: int = 60, seed: int = 0, max_per_group: int | None = None, log=print) -> dict:
    import qa

    rng = random.Random(seed)
    items = make_items(n_items, rng)
    docs = write_corpus(work / "trust-corpus", items, rng)
    sets = question_sets(items, docs, rng, max_per_group)
    log(f"corpus: {n_items} items, {len(docs) - n_items - 5} copies, 5 seeds; building indexes")
    qa.build_index(work / "trust-corpus", work / "trust-index")
    qa.build_index(SEEDS, work / "trust-index-seeds")
    indexes = {"full": qa.load_index(work / "trust-index"), "seeds": qa.load_index(work / "trust-index-seeds")}
    texts = {doc: indexes["full"].article(doc).text for doc in docs}
    started = time.perf_counter()
    asked = {group: ask_all(cases, indexes[where], where, log) for group, (where, cases) in sets.items()}
    every = [a for group in asked.values() for a in group]
    ms = (time.perf_counter() - started) / max(len(every), 1) * 1000

    citations, citation_failures = citation_figures(every, docs, texts)
    corroboration, corroboration_failures = corroboration_figures(asked["templated"], docs, texts)
    absent, absent_failures = abstention_figures(asked["absent_templated"] + asked["absent_seed"])
    reproductions, repro_failures = abstention_figures(asked["issue_reproductions"])
    accuracy, accuracy_failures = accuracy_figures(asked["templated"], docs, texts)
    heldout_missed = [{"question": a.case.question, "answer": a.answer.text}
                      for a in asked["heldout"] if not a.answer.answered]
    summary = {
        "citation_precision": citations["precision_all"],
        "citation_precision_seed": citations["precision_seed"],
        "citation_precision_templated": citations["precision_templated"],
        "corroborating_citation_precision": citations["precision_corroborating"],
        "corroboration_recall": corroboration["recall"],
        "corroboration_recall_anywhere_in_answer": corroboration["recall_anywhere_in_answer"],
        "abstention_absent": absent["all"],
        "abstention_issue_reproductions": reproductions["all"],
        "false_abstentions_heldout": len(heldout_missed),
        "false_abstentions_templated": accuracy["false_abstentions"],
        "answer_accuracy_templated": accuracy["accuracy_all"],
    }
    report = {
        **provenance(), "seed": seed, "items": n_items, "max_per_group": max_per_group,
        "corpus": {"articles": len(docs), "seeds": 5, "originals": n_items,
                   "copies": {w: sum(d.wording == w for d in docs.values())
                              for w in ("nile", "mena", "delta", "arabic")}},
        "questions": {group: len(cases) for group, (_, cases) in sets.items()},
        "summary": summary, "goals": GOALS, "citations": citations, "corroboration": corroboration,
        "abstention_absent": absent, "abstention_issue_reproductions": reproductions,
        "heldout": {"answerable": len(asked["heldout"]), "false_abstentions": len(heldout_missed)},
        "templated_accuracy": accuracy, "ms_per_question": round(ms, 1),
        "failures": {"citations": citation_failures, "corroboration": corroboration_failures,
                     "absent_answered": absent_failures, "issue_reproductions_answered": repro_failures,
                     "heldout_false_abstentions": heldout_missed, "templated_wrong": accuracy_failures},
        "machine": common.machine(),
    }
    write_truth(work / "trust-corpus-truth.json", items, docs)
    log(table(report))
    return report


def write_truth(path: Path, items: list[Item], docs: dict[str, Doc]) -> None:
    """The ground truth beside the corpus, for a developer reading a failure."""
    common.write_json(path, {
        "items": [{**it.__dict__, "date": it.date.isoformat()} for it in items],
        "docs": {d.doc_id: {"item": d.item, "version": d.version, "lang": d.lang, "wording": d.wording}
                 for d in docs.values()}})


def table(report: dict) -> str:
    s, c, a = report["summary"], report["citations"], report["abstention_absent"]
    co, acc = report["corroboration"], report["templated_accuracy"]
    rows = [
        ("citation precision, all", s["citation_precision"], c["citations_all"], ">= 1.00"),
        ("  seed sentences", s["citation_precision_seed"], c["citations_seed"], ">= 1.00"),
        ("  templated sentences", s["citation_precision_templated"], c["citations_templated"], ">= 1.00"),
        ("  corroborating citations only", s["corroborating_citation_precision"], c["citations_corroborating"],
         ">= 1.00"),
        ("  answers with no marked sentence (count)", c["answers_without_quoted_sentences"], c["answers"], "0"),
        ("corroboration recall (cited with the sentence)", s["corroboration_recall"], co["answers"], ">= 0.90"),
        ("  copy cited anywhere in the answer", co["recall_anywhere_in_answer"], co["answers"], ""),
        ("  English copies", co["recall_copy_en"], co["answers_copy_en"], ""),
        ("  Arabic copies", co["recall_copy_ar"], co["answers_copy_ar"], ""),
        ("abstention, absent entities", s["abstention_absent"], a["questions"]["all"], ">= 0.95"),
        *[(f"  {k.replace('_', ' ')}", a.get(k), a["questions"].get(k, 0), "")
          for k in ("absent_seed", "absent_templated", "en", "ar", "first_turn", "follow_up")],
        ("abstention, issue reproductions", s["abstention_issue_reproductions"],
         report["abstention_issue_reproductions"]["questions"]["all"], ""),
        ("false abstentions, held-out (count)", s["false_abstentions_heldout"], report["heldout"]["answerable"],
         "<= 1"),
        ("false abstentions, templated (count)", s["false_abstentions_templated"], acc["questions"]["all"], ""),
        ("answer accuracy, templated", s["answer_accuracy_templated"], acc["questions"]["all"], ""),
        *[(f"  {k}", acc.get(f"accuracy_{k}"), acc["questions"].get(k, 0), "")
          for k in ("amount", "cost", "city", "jobs", "ar")],
        ("first quoted sentence from the asked item", acc["quotes_asked_item"], acc["questions"]["all"], ""),
    ]
    fmt = lambda v: "—" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))  # noqa: E731
    lines = [f"{'figure':<48} {'value':>7} {'n':>5}  goal", "-" * 70]
    lines += [f"{name:<48} {fmt(v):>7} {n:>5}  {goal}" for name, v, n, goal in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--items", type=int, default=60, help="templated items (a quarter also get a wire copy)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated corpus and question phrasing")
    p.add_argument("--max-per-group", type=int,
                   help="ask at most N questions of each group but the templated ones (smoke runs)")
    p.add_argument("--work", type=Path, help="keep the corpus and indexes here (default: temporary)")
    p.add_argument("--out", type=Path, default=common.RESULTS / "trust.json")
    args = p.parse_args(argv)
    if args.items < 3 or args.items > len(GOODS) * len(CITIES):
        p.error(f"--items must be between 3 and {len(GOODS) * len(CITIES)}")
    started = time.perf_counter()
    return common.run_and_save(lambda work: run(work, args.items, args.seed, args.max_per_group), args.work,
                               args.out, started, prefix="qa-trust-")


if __name__ == "__main__":
    main()
