"""ask: an extractive answer in which every sentence is quoted from a passage and cited [n].

No language model: the sentences of the retrieved passages are scored against the question
(embedding cosine + IDF-weighted term overlap), near-repeats are dropped, the same fact in
another article is cited too (corroboration), and when nothing scores high enough the answer
says the articles do not answer the question.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .chunking import sentences
from .cleaning import detect_language
from .index import Index, normalize_query
from .lexical import EN_STOPWORDS, tokenize
from .settings import Settings
from .transliteration import corroborating_terms
from .types import Answer, Passage

# Calibrated on tests/data/questions.jsonl with `qa eval` (see README): below this relevance
# the best sentence does not answer the question.
ABSTAIN_BELOW = 0.42  # midway between 0.33 (best unanswerable) and 0.50 (worst answerable)
MAX_SENTENCES = 3
KEEP_RATIO = 0.8  # a further sentence must score this close to the best one
DENSE_SHARE = 0.6  # weight of cosine vs term overlap when the model covers the language
REPEAT_JACCARD = 0.6  # sentences sharing this much of their terms say the same thing
NO_ANSWER = {
    "en": "The articles do not answer this question.",
    "ar": "لا تجيب المقالات عن هذا السؤال.",
}
_FOLLOW_UP = re.compile(
    r"^(and|what about|how about|and what about|what of|also|then|so)\b|\b(it|its|they|them|their|this|that|these|"
    r"those|he|she|his|her|there|then)\b|^(و|ماذا عن|وماذا عن)|(ه|ها|هم)\b", re.I)
_ENTITY = re.compile(r"\b[A-ZÀ-Ý][\w’'-]+")


@dataclass
class _Candidate:
    passage: Passage
    start: int  # offsets into passage.text
    end: int
    score: float = 0.0
    terms: frozenset = frozenset()

    @property
    def text(self) -> str:
        return self.passage.text[self.start:self.end]


def ask(question: str, index: Index, history: list[tuple[str, str]] | None = None, k: int = 5,
        mode: str = "hybrid", where: dict | None = None) -> Answer:
    """Answer `question` from `index`; `history` holds the earlier turns as (question, answer)."""
    question = normalize_query(question, Settings().max_query_chars)
    index = index.pinned()  # one generation for the whole answer, even if a build finishes now
    lang = "ar" if detect_language(question) == "ar" else "en"
    query = retrieval_query(question, history or [])
    if lang == "ar" and not (where or {}).get("lang") and not index.covers("ar"):
        where = {**(where or {}), "lang": "ar"}  # an Arabic question is answered from Arabic text
    query_vector = index.embedder().queries([query])[0] if index.covers(lang) and mode != "lexical" else None
    passages, duplicates = index.search_with_duplicates(query, k=k, mode=mode, where=where,
                                                        query_vector=query_vector)
    if not passages:
        return _abstain(question, lang, [])
    scored = _score_sentences(index, query, passages, lang, query_vector)
    best = scored[0].score if scored else 0.0
    if best < ABSTAIN_BELOW:
        return _abstain(question, lang, passages)
    chosen = _select(scored)
    return _compose(question, index, chosen, passages, duplicates, where)


def retrieval_query(question: str, history: list[tuple[str, str]]) -> str:
    """Fold the previous question's key terms into a short or anaphoric follow-up, so that
    "And with Pakistan?" after "What has Egypt co-produced with Türkiye?" searches for
    co-production with Pakistan. Entities named in the follow-up replace the earlier ones."""
    if not history:
        return question
    content = tokenize(question)
    if len(content) > 6 and not _FOLLOW_UP.search(question):
        return question
    previous = history[-1][0]
    new_entities = {m.group(0).casefold() for m in _ENTITY.finditer(question)} - {"and", "what", "how", "when"}
    keep = []
    for word in re.findall(r"[\w’'-]+", previous):
        low = word.casefold()
        if low in EN_STOPWORDS or len(low) < 3 or low in question.casefold():
            continue
        if new_entities and _ENTITY.fullmatch(word) and previous.find(word) > 0:
            continue  # "Türkiye" is replaced by "Pakistan" in "And with Pakistan?"
        keep.append(word)
    return f"{question} {' '.join(keep)}".strip()



def _score_sentences(index: Index, query: str, passages: list[Passage], lang: str,
                     query_vector=None) -> list[_Candidate]:
    candidates = []
    for p in passages:
        if lang == "ar" and p.lang != "ar" and not index.covers("ar"):
            continue
        for s, e in sentences(p.text):
            text = p.text[s:e]
            if len(text) < 20 or len(text.split()) < 4 or _is_heading(text, p):
                continue  # fragments and headings do not answer anything on their own
            candidates.append(_Candidate(p, s, e, terms=frozenset(tokenize(text))))
    if not candidates:
        return []
    q_terms = set(tokenize(query))
    idf = {t: max(index._snapshot.lexical.idf(t), 0.1) for t in q_terms}
    total = sum(idf.values()) or 1.0
    overlap = np.array([sum(idf[t] for t in q_terms & c.terms) / total for c in candidates])
    if index.covers(lang):
        emb = index.embedder()
        q = query_vector if query_vector is not None else emb.queries([query])[0]
        cosine = emb.documents([c.text for c in candidates]) @ q
        scores = DENSE_SHARE * cosine + (1 - DENSE_SHARE) * overlap
    else:
        scores = overlap
    for c, score in zip(candidates, scores):
        c.score = float(score)
    return sorted(candidates, key=lambda c: -c.score)


_END = re.compile(r"[.!?؟。”\"'»)]$")


def _is_heading(text: str, passage: Passage) -> bool:
    """A title or section heading: short and without a sentence end, or the article title."""
    return text == passage.title or (not _END.search(text) and len(text.split()) < 12)


def _select(scored: list[_Candidate]) -> list[tuple[_Candidate, list[_Candidate]]]:
    """Top sentences, each with the near-repeats from other articles that corroborate it."""
    floor = max(ABSTAIN_BELOW, KEEP_RATIO * scored[0].score)
    chosen: list[tuple[_Candidate, list[_Candidate]]] = []
    for c in scored:
        if c.score < floor:
            break
        twin = next((pair for pair in chosen if _same_fact(c, pair[0])), None)
        if twin is not None:
            if c.passage.doc_id != twin[0].passage.doc_id and \
                    all(x.passage.doc_id != c.passage.doc_id for x in twin[1]):
                twin[1].append(c)
            continue
        if len(chosen) < MAX_SENTENCES:
            chosen.append((c, []))
    return chosen


def _same_fact(a: _Candidate, b: _Candidate) -> bool:
    if a.text in b.text or b.text in a.text:
        return True
    if not a.terms or not b.terms:
        return False
    return len(a.terms & b.terms) / len(a.terms | b.terms) >= REPEAT_JACCARD


def _compose(question, index, chosen, passages, duplicates, where) -> Answer:
    # Readable order: by the rank of the passage, then by position within it.
    rank = {p.chunk_id: i for i, p in enumerate(passages)}
    chosen.sort(key=lambda pair: (rank.get(pair[0].passage.chunk_id, 99), pair[0].start))
    citations: list[Passage] = []

    def cite(p: Passage) -> int:
        for n, q in enumerate(citations, 1):
            if q.chunk_id == p.chunk_id:
                return n
        citations.append(p)
        return len(citations)

    parts, sentence_list = [], []
    for main, twins in chosen:
        support = [main] + twins + _corroboration(index, main, duplicates, twins, where)
        numbers = []
        for c in support:
            n = cite(c.passage)
            if n not in numbers:
                numbers.append(n)
        parts.append(main.text + " " + "".join(f"[{n}]" for n in numbers))
        sentence_list.append((main.text, numbers))
        for c in support[1:]:
            sentence_list.append((c.text, [cite(c.passage)]))  # highlighted in its own passage
    cited = {p.chunk_id for p in citations}
    related = [p for p in passages if p.chunk_id not in cited]
    return Answer(question=question, text=" ".join(parts), citations=citations, answered=True,
                  related=related, sentences=sentence_list)


def _corroboration(index, main: _Candidate, duplicates, twins, where) -> list[_Candidate]:
    """Sentences elsewhere that state the same fact: in near-duplicate passages of other
    articles, or in another language when the sentences share rare transliterated names."""
    found = []
    seen_docs = {main.passage.doc_id} | {t.passage.doc_id for t in twins}
    for p in duplicates.get(main.passage.chunk_id, []):
        if p.doc_id in seen_docs:
            continue
        for s, e in sentences(p.text):
            c = _Candidate(p, s, e, terms=frozenset(tokenize(p.text[s:e])))
            if _same_fact(main, c):
                found.append(c)
                seen_docs.add(p.doc_id)
                break
    for passage, (s, e) in corroborating_terms(index, main.text, exclude_docs=seen_docs, where=where):
        found.append(_Candidate(passage, s, e))
        seen_docs.add(passage.doc_id)
    return found


def _abstain(question: str, lang: str, passages: list[Passage]) -> Answer:
    return Answer(question=question, text=NO_ANSWER[lang], citations=[], answered=False, related=passages)
