"""Corroboration: the sentences of other articles that state the same fact as a quoted one.

A second article is cited for a sentence only when its sentence states the same fact: the same
numbers, identifiers and most of the rare names (qa/facts.py), in similar words. With numbers or
ids to anchor the fact a paraphrase (a wire rewrite) is enough; without them only a near-copy
counts. Across English and Arabic, shared transliterated names find the sentence
(qa/transliteration.py) and its numbers and identifiers must agree.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .chunking import sentences
from .facts import Facts, agree, facts_of
from .lexical import tokenize
from .transliteration import corroborating_terms
from .types import Passage

ANCHORED_COSINE, PLAIN_COSINE = 0.55, 0.8
ANCHORED_JACCARD = 0.3
PLAIN_JACCARD = 0.4  # below this share of terms no unanchored sentence reached PLAIN_COSINE
REPEAT_JACCARD = 0.6  # sentences sharing this much of their terms say the same thing
MAX_CORROBORATION = 3  # further articles cited for one sentence


@dataclass
class Candidate:
    """A sentence of a retrieved passage, with what answering and corroboration need of it."""

    passage: Passage
    start: int  # offsets into passage.text
    end: int
    score: float = 0.0
    terms: frozenset = frozenset()
    vector: object = None  # its embedding, when the model covers its language
    _facts: Facts | None = None

    @property
    def text(self) -> str:
        return self.passage.text[self.start:self.end]

    @property
    def facts(self) -> Facts:
        if self._facts is None:
            self._facts = facts_of(self.text)
        return self._facts


def repeats(a: Candidate, b: Candidate) -> bool:
    """Near-repeats in wording: not worth quoting twice (whether or not the facts agree)."""
    if a.text in b.text or b.text in a.text:
        return True
    if not a.terms or not b.terms:
        return False
    return len(a.terms & b.terms) / len(a.terms | b.terms) >= REPEAT_JACCARD


def name_weight(index):
    """A name weighs its rarity (IDF): "Zagazig" tells items apart, "Ministry" does not."""
    return lambda word: max((index.idf(t) for t in tokenize(word)), default=1.0)


def _context(c: Candidate) -> Facts:
    return facts_of(f"{c.passage.title}.\n{c.passage.text}")


def _stated_by(c: Candidate) -> Facts:
    """What a sentence in its passage states, for checking a fact against it: the numbers of
    its passage (a citation points at the passage), and the ids and names of the sentence, or
    of its passage when the sentence names none ("The paper plant will be financed with
    $159m": the passage says which plant)."""
    own, context = c.facts, _context(c)
    return replace(own, numbers=own.numbers | context.numbers,
                   identifiers=own.identifiers or context.identifiers, names=own.names or context.names)


def _shares_a_figure(main: Candidate, other: Candidate) -> bool:
    """The other sentence itself states one of the figures (not only its passage)."""
    wanted = main.facts.numbers | main.facts.identifiers
    return not wanted or bool(wanted & (other.facts.numbers | other.facts.identifiers))


def _name_share(main: Candidate, other: Candidate) -> float:
    """Share of the sentence's names the other must state. Across languages an identifier
    both state (Z111) already names the subject, and an Arabic sentence's "names" are all its
    words (Arabic has no capitals), most of which no English sentence can share."""
    if main.passage.lang != other.passage.lang and main.facts.identifiers:
        return 0.0
    return 0.5


def same_fact(index, main: Candidate, other: Candidate) -> bool:
    """Whether `other` states the fact of `main`: the same numbers, identifiers and rare names
    (qa/facts.py), about the same thing, in similar words."""
    weight = name_weight(index)
    if not _shares_a_figure(main, other) or not agree(main.facts, _stated_by(other), weight, _name_share(main, other)):
        return False
    mine, theirs = _context(main), _context(other)
    if not main.facts.identifiers and not mine.identifiers <= theirs.identifiers:
        # "Construction of the Mahalla plant begins in June" in the passages of two projects
        # (Z152, Z896) is two facts: the passage says which plant the sentence is about.
        return False
    if not (main.facts.identifiers or main.facts.names) and \
            not agree(replace(mine, numbers=frozenset()), theirs, weight):
        return False  # "The plant will create 3,800 jobs": only for a passage about the same names
    anchored = bool(main.facts.numbers or main.facts.identifiers)
    if main.passage.lang != other.passage.lang:
        # No model here compares the two languages: the figures and names agreeing is the
        # evidence, and only figures can anchor it.
        return anchored
    if main.vector is not None and other.vector is not None:
        return float(main.vector @ other.vector) >= (ANCHORED_COSINE if anchored else PLAIN_COSINE)
    if main.text in other.text or other.text in main.text:
        return True
    if not main.terms or not other.terms:
        return False
    jaccard = len(main.terms & other.terms) / len(main.terms | other.terms)
    return jaccard >= (ANCHORED_JACCARD if anchored else REPEAT_JACCARD)


def corroboration(index, main: Candidate, duplicates, twins, where) -> list[Candidate]:
    """Sentences of other articles that state the same fact as `main`: in its near-duplicate
    passages, in the passages that share its words or ids most (in either language), and in
    the other script when the sentences share rare transliterated names."""
    seen_docs = {main.passage.doc_id} | {t.passage.doc_id for t in twins}
    room = MAX_CORROBORATION - len(twins)
    if room <= 0:
        return []
    anchored = bool(main.facts.numbers or main.facts.identifiers)
    weight = name_weight(index)
    pool = list(duplicates.get(main.passage.chunk_id, []))
    near, near_dups = index.search_with_duplicates(main.text[:1000], k=6, mode="lexical", where=where)
    pool += near + [p for ps in near_dups.values() for p in ps]
    if main.facts.identifiers:
        # Ids are written alike in every language: they find the copies in other languages,
        # whose other words the sentence cannot match.
        by_id, _ = index.search_with_duplicates(" ".join(sorted(main.facts.identifiers)), k=6, mode="lexical",
                                                where=where)
        pool += by_id
    candidates = []
    scanned = set()
    for p in pool:
        if p.doc_id in seen_docs or p.chunk_id in scanned or (p.lang != main.passage.lang and not anchored):
            continue
        scanned.add(p.chunk_id)
        for s, e in sentences(p.text):
            c = Candidate(p, s, e, terms=frozenset(tokenize(p.text[s:e])))
            shared = len(c.terms & main.terms) / max(len(c.terms | main.terms), 1)
            # Cheap filters before any embedding: the figures agree, and without figures to
            # anchor the fact only a near-copy can qualify.
            if (shared or p.lang != main.passage.lang) and (anchored or shared >= PLAIN_JACCARD) and \
                    _shares_a_figure(main, c) and agree(main.facts, _stated_by(c), weight, _name_share(main, c)):
                candidates.append(c)
    same_language = [c for c in candidates if c.passage.lang == main.passage.lang]
    if same_language and main.vector is not None:
        for c, v in zip(same_language, index.embedder().documents([c.text for c in same_language])):
            c.vector = v
    found = []
    for c in candidates:
        if c.passage.doc_id not in seen_docs and same_fact(index, main, c):
            found.append(c)
            seen_docs.add(c.passage.doc_id)
    for passage, (s, e) in corroborating_terms(index, main.text, exclude_docs=seen_docs, where=where):
        c = Candidate(passage, s, e)
        # Across scripts no shared model judges similarity: the transliterated names found
        # the sentence; its numbers and identifiers must agree too.
        if main.facts.numbers <= _stated_by(c).numbers and main.facts.identifiers <= _stated_by(c).identifiers:
            found.append(c)
            seen_docs.add(passage.doc_id)
    return found[:room]
