"""ask: an extractive answer in which every sentence is quoted from a passage and cited [n].

No language model: the sentences of the retrieved passages are scored against the question
(embedding cosine + IDF-weighted term overlap), near-repeats are dropped, the same fact in
another article is cited too (corroboration), and when nothing scores high enough the answer
says the articles do not answer the question.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from .chunking import sentences
from .across import (CROSS_CAP, CROSS_LANGUAGE, CROSS_MIN, another_script_may_state, concern_across,
                     language_note, other_script, prefer_own_language, same_language, unstated)
from .cleaning import detect_language
from .corroboration import Candidate, corroboration, repeats, same_fact
from .errors import SettingsError
from .facts import _IDENT, facts_of
from .index import Index
from .llm import Endpoint
from .lexical import EN_STOPWORDS, tokenize
from .multilingual import sentence_equivalent
from .question import answer_kind, kind_fit, subject_words
from .settings import Settings, from_env
from .types import Answer, Passage
from .validation import validate_request
from .vocabulary import _related
from .written import write

# Calibrated on tests/data/questions.jsonl with `qa eval` (see README): below this relevance
# the best sentence does not answer the question.
ABSTAIN_BELOW = 0.42  # midway between 0.33 (best unanswerable) and 0.50 (worst answerable)
# Where the model does not cover the question's language (Arabic with the bundled model) a
# sentence scores by term overlap alone, a scale of its own. Calibrated on ARCD test against its
# own articles (answerable) and against XQuAD's (off-topic): at 0.40, 86% answered / 43% of
# off-topic questions answered, against 49% off-topic before subjects were checked.
ABSTAIN_BELOW_LEXICAL = 0.40
MAX_SENTENCES = 3
KEEP_RATIO = 0.8  # a further sentence must score this close to the best one
DENSE_SHARE = 0.6  # weight of cosine vs term overlap when the model covers the language
# A question in a language only the multilingual companion reads (Arabic beside MiniLM) is
# answered from sentences it scores, whose similarities run lower than MiniLM's for the same
# standing: the threshold is moved by what that gap does to the similarity share of the score
# (0.42 -> 0.378). Abstention on held-out-topic questions, bench/abstention.py: docs/BENCHMARKS.md.
ABSTAIN_BELOW_COMPANION = ABSTAIN_BELOW - DENSE_SHARE * (ABSTAIN_BELOW - sentence_equivalent(ABSTAIN_BELOW))
LOWEST_THRESHOLD = min(ABSTAIN_BELOW, ABSTAIN_BELOW_LEXICAL, ABSTAIN_BELOW_COMPANION)
NO_ANSWER = {
    "en": "The articles do not answer this question.",
    "ar": "لا تجيب المقالات عن هذا السؤال.",
}
NOT_MENTIONED = {"en": "No article mentions {}.", "ar": "لا يذكر أي مقال {}."}
# An answer sentence must concern what was asked: a name of the question it does not state
# weighs it down a little (SQuAD: more only cost answers whose paragraph leaves the name implicit).
CONCERN_ELSEWHERE = 0.9
CONTEXT_CREDIT_CONTENT = 0.5
CONCERN_OFF_TITLE = 0.85  # the article's title names another subject than the one asked about
# Terms of "how many / how much / how long": they ask, articles never state them.
QUESTION_TERMS = frozenset(tokenize("many much long often"))

_FOLLOW_UP = re.compile(
    r"^(and|what about|how about|and what about|what of|also|then|so)\b|\b(it|its|they|them|their|this|that|these|"
    r"those|he|she|his|her|there|then)\b|^(و|ماذا عن|وماذا عن)|(ه|ها|هم)\b", re.I)
_ENTITY = re.compile(r"\b[A-ZÀ-Ý][\w’'-]+")
_WORD = re.compile(r"\w+")
_LATIN = re.compile(r"[A-Za-z]")
_CONTEXT_CACHE: dict = {}
_ACRONYM = re.compile(r"[A-Z]{2,4}")
_NAME_GLUE = frozenset("what which who when where how why did does do is are was were the and of".split())


def ask(question: str, index: Index, history: list[tuple[str, str]] | None = None, k: int = 5,
        mode: str = "hybrid", where: dict | None = None, generate: bool = False,
        settings: Settings | None = None, on_text: Callable[[str], None] | None = None) -> Answer:
    """Answer `question` from `index`; `history` holds the earlier turns as (question, answer).

    generate=True: a language model (settings llm_url / llm_model, QA_LLM_URL / QA_LLM_MODEL)
    writes the answer from the retrieved passages, every sentence checked against what it
    cites (qa/written.py); `on_text` sees the reply as it streams in. The extractive answer
    is the fallback, with `notice` saying why."""
    endpoint = None
    if generate:
        endpoint = Endpoint.from_settings(settings or from_env())
        if endpoint is None:
            raise SettingsError("no language model is configured for written answers: set QA_LLM_URL (an "
                                "OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1) and QA_LLM_MODEL")
    question, k, mode, where, history = validate_request(question, k=k, mode=mode, where=where, history=history)
    index = index.pinned()  # the written answer is checked against the same generation
    answer = _extractive(question, index, history, k, mode, where)
    return write(answer, index, endpoint, on_text) if endpoint is not None else answer


def _extractive(question: str, index: Index, history, k: int, mode: str, where: dict | None) -> Answer:
    lang = "ar" if detect_language(question) == "ar" else "en"
    query = retrieval_query(question, history)
    search_where = where
    if lang == "ar" and not (where or {}).get("lang") and not index.covers("ar"):
        # An Arabic question is answered from Arabic text; the same fact in an English article
        # is still cited beside it (corroboration keeps the user's own filters only).
        search_where = {**(where or {}), "lang": "ar"}
    subject = subject_words(question, history)
    # Short acronyms (UN, UMC, WWII) are often spelt out in the articles: not enough to refuse.
    absent = [w for w in subject if not _ACRONYM.fullmatch(w) and not _mentioned(index, w)
              and not _partly_mentioned(index, w, question)]
    # Words no article of their script states, where articles of another script the
    # multilingual model reads might state them translated (Kenya, كينيا): only a sentence of
    # that other script can answer.
    elsewhere = [w for w in absent if another_script_may_state(index, w)]
    absent = [w for w in absent if w not in elsewhere]
    query_vector = index.embedder().queries([query])[0] if index.main_covers(lang) and mode != "lexical" else None
    passages, duplicates = index.search_with_duplicates(query, k=k, mode=mode, where=search_where,
                                                        query_vector=query_vector)
    passages += _other_languages(index, query, lang, k, mode, search_where, passages)
    if absent:
        return _abstain(question, lang, passages, absent)
    if not passages:
        return _abstain(question, lang, [])
    scored = _score_sentences(index, query, passages, lang, query_vector,
                              subject=subject, kind=answer_kind(question, tokenize), required=elsewhere)
    threshold = ABSTAIN_BELOW if index.main_covers(lang) else \
        ABSTAIN_BELOW_COMPANION if index.covers(lang) else ABSTAIN_BELOW_LEXICAL
    if elsewhere:
        scored = [c for c in scored if all(other_script(w, c.passage.lang) for w in elsewhere)]
    scored = prefer_own_language(scored, lang, threshold)
    best = scored[0].score if scored else 0.0
    if best < threshold:
        # Words no article of their script states, and no passage retrieved in another script
        # states either: say which, as for any absent name. Where a passage does state them
        # but no sentence answers, the articles do not answer; they do mention them.
        return _abstain(question, lang, passages, unstated(index, elsewhere, passages))
    chosen = _select(index, scored, threshold)
    return _compose(question, index, chosen, passages, duplicates, where)


OTHER_LANGUAGE_PASSAGES = 5  # at most, in other languages, added to the candidates when a model reads them


def _other_languages(index: Index, query: str, lang: str, k: int, mode: str, where: dict | None,
                     passages: list[Passage]) -> list[Passage]:
    """The best passages in the index's other languages, by meaning alone. Hybrid ranking
    favours the question's language (only its words can match), so a fact only an Arabic
    article states would not reach the answer of an English question otherwise."""
    if mode == "lexical" or index.multilingual() is None or (where or {}).get("lang"):
        return []
    others = sorted(lang_ for lang_ in index.languages() if lang_ != lang and lang_ != "und")
    if not others:
        return []
    seen = {p.chunk_id for p in passages}
    extra = index.search(query, k=min(k, OTHER_LANGUAGE_PASSAGES), mode="dense", where={**(where or {}), "lang": others})
    return [p for p in extra if p.chunk_id not in seen]


def _mentioned(index: Index, word: str) -> bool:
    """Whether an article mentions `word`. (Three-letter transliteration skeletons, Super ~ سوبر,
    were tried where the multilingual model is in use: Qatar's "ktr" then matched كثير, "many",
    and a question about Qatar was answered; bench/trust.py absent-name abstention 0.984 → 0.951.)"""
    return index.mentions(word)


def _partly_mentioned(index: Index, word: str, question: str) -> bool:
    """A word of a longer name whose other words an article mentions ("Graham Twigg" where the
    article says "Twigg"): the name is there, this part of it is not needed."""
    m = re.search(rf"((?:[A-Z][\w’'-]*\s+)*){re.escape(word)}((?:\s+[A-Z][\w’'-]*)*)", question)
    others = (m.group(1).split() + m.group(2).split()) if m else []
    return any(index.mentions(re.sub(r"[’']s$", "", o)) for o in others if o.casefold() not in _NAME_GLUE)


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


def _score_sentences(index: Index, query: str, passages: list[Passage], lang: str, query_vector=None,
                     subject: list[str] = (), kind: str | None = None, required: list[str] = ()) -> list[Candidate]:
    candidates = []
    for p in passages:
        if lang == "ar" and p.lang != "ar" and not index.covers("ar"):
            continue
        for s, e in sentences(p.text):
            text = p.text[s:e]
            if len(text) < 20 or len(text.split()) < 4 or _is_heading(text, p):
                continue  # fragments and headings do not answer anything on their own
            candidates.append(Candidate(p, s, e, terms=frozenset(tokenize(text))))
    if not candidates:
        return []
    q_terms = set(tokenize(query)) - QUESTION_TERMS
    idf = {t: max(index.idf(t), 0.1) for t in q_terms}
    total = sum(idf.values()) or 1.0
    # The names and ids asked about count where the passage states them: "The plant will
    # create 3,800 jobs" answers "How many jobs will project Z020 create?" when its passage
    # is the one about Z020 (the concern factor still prefers a sentence that names it).
    # Arabic subject words are content words, not only names: they count at CONTEXT_CREDIT_CONTENT
    # of their weight where only the passage states them, so the sentence that states them ranks
    # first. At 0.9, once Arabic chunks were cut by the companion's tokenizer (three times the
    # words), an Arabic sentence about another company drew enough credit from its long passage
    # to shut out the English sentence that answers (tests/test_multilingual.py, Aselsan);
    # XQuAD ar answers containing gold: 79.1% at 0.9, 77.6% at 0.5 (docs/BENCHMARKS.md §1a).
    credit = {t: 1.0 if _LATIN.search(w) else CONTEXT_CREDIT_CONTENT for w in subject for t in tokenize(w)}
    context = {p.chunk_id: set(credit) & q_terms & set(tokenize(f"{p.title}\n{p.text}")) for p in passages}
    overlap = np.array([(sum(idf[t] for t in q_terms & c.terms) +
                         sum(idf[t] * credit[t] for t in context[c.passage.chunk_id] - c.terms)) / total
                        for c in candidates])
    scores = overlap.copy()
    by_main = [i for i, c in enumerate(candidates) if index.main_covers(lang) and index.main_covers(c.passage.lang)]
    if by_main:
        emb = index.embedder()
        q = query_vector if query_vector is not None else emb.queries([query])[0]
        vectors = emb.documents([candidates[i].text for i in by_main])
        for i, v in zip(by_main, vectors):
            candidates[i].vector = v  # corroboration compares sentences by these
        scores[by_main] = DENSE_SHARE * (vectors @ q) + (1 - DENSE_SHARE) * overlap[by_main]
    rest = [i for i in range(len(candidates)) if i not in set(by_main)]
    similar = index.similarities(query, lang, [candidates[i].text for i in rest],
                                 [candidates[i].passage.lang for i in rest]) if rest else None
    if similar is not None:
        for i, sim in zip(rest, similar):
            if np.isnan(sim):
                continue
            # A sentence in another language shares no words with the question: the model's
            # similarity (calibrated to the main model's scale) is all the evidence there is.
            cross = candidates[i].passage.lang != lang
            if cross:
                # No word of the question can confirm a sentence in another language: the model's
                # judgement alone must be strong (CROSS_MIN), and it never outweighs a checked
                # sentence of the question's own language (CROSS_CAP): on near-identical news
                # items e5 ranks "the investment in Z583" as high for "how many jobs at Z583".
                scores[i] = -1.0 if sim < CROSS_MIN else min(sim, CROSS_CAP)
            else:
                scores[i] = DENSE_SHARE * sim + (1 - DENSE_SHARE) * overlap[i]
    off_topic = _off_topic(index, passages, subject)
    for c, score in zip(candidates, scores):
        own = same_language(c.passage.lang, lang)
        fit = float(score) * kind_fit(kind, c.facts, c.terms)
        if own:
            factor = _concern(c, subject) * (CONCERN_OFF_TITLE if c.passage.chunk_id in off_topic else 1.0)
        elif fit * CROSS_LANGUAGE < LOWEST_THRESHOLD:
            factor = CROSS_LANGUAGE  # cannot be quoted whatever it states: spare the translation check
        elif _ids_missing(c, subject):
            factor = 0.0  # ids are written alike in every script: one the passage never states rules it out
        else:
            # Across languages no word is shared to check the model's judgement by: a sentence in
            # another language must do clearly better than one in the question's own to be quoted.
            factor = CROSS_LANGUAGE * concern_across(index, c, subject, required)
        c.score = fit * factor
    return sorted(candidates, key=lambda c: -c.score)


def _off_topic(index: Index, passages: list[Passage], subject: list[str]) -> set[int]:
    """Passages of articles whose title does not name the rarest name asked about, when other
    retrieved articles' titles do: "What did Egypt and Russia agree?" is answered from the
    article about Russia, not from one about Pakistan that lists Russia among five suppliers."""
    names = [w for w in subject if _LATIN.search(w) and tokenize(w)]
    if not names:
        return set()
    rarest = max(names, key=lambda w: max(index.idf(t) for t in tokenize(w)))
    headlined = [p for p in passages if _has_headline(index, p)]
    titled = {p.chunk_id for p in headlined if _names_in(rarest, p.title.casefold())}
    return {p.chunk_id for p in headlined if p.chunk_id not in titled} if titled else set()


def _has_headline(index: Index, passage: Passage) -> bool:
    """Whether the article's title is a headline (a line of its own) rather than the start of
    its first sentence, which says little about what the whole article is about."""
    text = passage.text if passage.start == 0 else index.article(passage.doc_id).text[:len(passage.title) + 1]
    return text.startswith(passage.title + "\n")


def _concern(c: Candidate, subject: list[str]) -> float:
    """How far the sentence concerns the question's names and ids: an id its passage never
    states rules it out; a name the sentence does not state weighs it down a little (the
    answer to "How many jobs will the Zagazig plant create?" may say "The plant ...")."""
    factor = 1.0
    sentence = c.text.casefold()
    for word in subject:
        if _IDENT.fullmatch(word) and word.upper().replace("-", "") not in _context_facts(c).identifiers:
            return 0.0  # an id asked about (project Z017, F-16) that the passage never states
        if not word.isascii() and not _LATIN.search(word):
            continue  # Arabic subject words are content words, not only names: no weight here
        if not _names_in(word, sentence):
            factor = CONCERN_ELSEWHERE
    return factor


def _ids_missing(c: Candidate, subject: list[str]) -> bool:
    return any(_IDENT.fullmatch(w) and w.upper().replace("-", "") not in _context_facts(c).identifiers
               for w in subject)


def _context_facts(c: Candidate):
    """Facts of a sentence's passage and title (cached on the passage: many sentences share one)."""
    key = (c.passage.title, c.passage.text)
    if key not in _CONTEXT_CACHE:
        if len(_CONTEXT_CACHE) > 4096:
            _CONTEXT_CACHE.clear()
        _CONTEXT_CACHE[key] = facts_of(f"{c.passage.title}.\n{c.passage.text}")
    return _CONTEXT_CACHE[key]


def _names_in(word: str, text: str) -> bool:
    """`word` or a form of it (Egyptian ~ Egypt's, Pakistani ~ Pakistan) or its name
    skeleton in the other script (Havelsan ~ هافيلسان) occurs in `text` (case-folded)."""
    folded = word.casefold()
    if folded in text:
        return True
    for other in _WORD.findall(text):
        if _related(*sorted((folded, other), key=len)):
            return True
    keys = set(facts_of(f"x {word}").names)
    return bool(keys & set(facts_of(text).names))


_END = re.compile(r"[.!?؟。”\"'»)]$")


def _is_heading(text: str, passage: Passage) -> bool:
    """A title or section heading: short and without a sentence end, or the article title."""
    return text == passage.title or (not _END.search(text) and len(text.split()) < 12)


def _select(index: Index, scored: list[Candidate], threshold: float) -> list[tuple[Candidate, list[Candidate]]]:
    """Top sentences, each with the sentences of other articles among the scored ones that
    state the same fact (corroboration). A repeat of a chosen sentence is never chosen again."""
    floor = max(threshold, KEEP_RATIO * scored[0].score)
    chosen: list[tuple[Candidate, list[Candidate]]] = []
    for c in scored:
        if c.score < floor:
            break
        # A near-repeat of a chosen sentence is its corroboration when it states the same
        # fact in another article, and not quoted again either way; the same template with
        # other figures (another project, another amount) is a sentence of its own.
        twin = next((pair for pair in chosen if repeats(c, pair[0])
                     or (c.passage.doc_id != pair[0].passage.doc_id and same_fact(index, pair[0], c))), None)
        if twin is not None and (c.passage.doc_id == twin[0].passage.doc_id or same_fact(index, twin[0], c)):
            if c.passage.doc_id != twin[0].passage.doc_id and \
                    all(x.passage.doc_id != c.passage.doc_id for x in twin[1]):
                twin[1].append(c)
            continue
        if len(chosen) < MAX_SENTENCES:
            chosen.append((c, []))
    return chosen


def _compose(question, index, chosen, passages, duplicates, where) -> Answer:
    # Readable order: by the rank of the passage, then by position within it, after the best.
    rank = {p.chunk_id: i for i, p in enumerate(passages)}
    # The best sentence leads; the others follow in reading order.
    best = max(chosen, key=lambda pair: pair[0].score)[0]
    chosen.sort(key=lambda pair: (pair[0] is not best, rank.get(pair[0].passage.chunk_id, 99), pair[0].start))
    citations: list[Passage] = []

    def cite(p: Passage) -> int:
        for n, q in enumerate(citations, 1):
            if q.chunk_id == p.chunk_id:
                return n
        citations.append(p)
        return len(citations)

    parts, sentence_list = [], []
    for main, twins in chosen:
        support = [main] + twins + corroboration(index, main, duplicates, twins, where)
        numbers = []
        for c in support:
            n = cite(c.passage)
            if n not in numbers:
                numbers.append(n)
        note = language_note(question, main.passage.lang)
        parts.append(main.text + " " + "".join(f"[{n}]" for n in numbers) + (f" ({note})" if note else ""))
        sentence_list.append((main.text, numbers))
        for c in support[1:]:
            sentence_list.append((c.text, [cite(c.passage)]))  # highlighted in its own passage
    cited = {p.chunk_id for p in citations}
    related = [p for p in passages if p.chunk_id not in cited]
    return Answer(question=question, text=" ".join(parts), citations=citations, answered=True,
                  related=related, sentences=sentence_list)


def _abstain(question: str, lang: str, passages: list[Passage], absent: list[str] = ()) -> Answer:
    """No answer: say so (naming what no article mentions, when that is why) and offer the
    closest passages, marked as not answering."""
    text = NOT_MENTIONED[lang].format(_listing(absent, lang)) if absent else NO_ANSWER[lang]
    return Answer(question=question, text=text, citations=[], answered=False, related=passages)


def _listing(words: list[str], lang: str) -> str:
    words = list(words)[:3]
    joiner = " أو " if lang == "ar" else " or "
    return ", ".join(words[:-1]) + joiner + words[-1] if len(words) > 1 else words[0]
