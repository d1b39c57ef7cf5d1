"""Whether any article mentions a word, from the index's own term statistics.

A question about Brazil over articles that never name Brazil cannot be answered from them,
however well some sentence about Türkiye scores. "Mentions" is generous on purpose, since a
false "absent" makes the assistant refuse a fair question: the word's BM25 terms, a longer or
shorter form of them (Brazilian ~ Brazil, Pakistani ~ Pakistan), or the same name in the other
script (Havelsan ~ هافيلسان) all count.
"""
from __future__ import annotations

import bisect
import weakref

from .lexical import tokenize
from .transliteration import _AR_WORD, arabic_skeleton, latin_skeleton, vocab_by_skeleton

MIN_PREFIX = 4  # "Iran" ~ "Iranian", but "Mali" must not match "ma"
PREFIX_SHARE = 0.55  # of the longer form
MIN_CROSS_SKELETON = 4  # three-consonant skeletons are every other Arabic root
_sorted_terms: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _terms(snap) -> list[str]:
    terms = _sorted_terms.get(snap.lexical)
    if terms is None:
        terms = sorted(snap.lexical.retriever.vocab_dict)
        _sorted_terms[snap.lexical] = terms
    return terms


def _related(short: str, long_: str) -> bool:
    """One form starts the other and is most of it: Brazil ~ Brazilian, Iran ~ Iranian, but
    not Indo ~ Indonesia."""
    return long_.startswith(short) and len(short) >= max(MIN_PREFIX, PREFIX_SHARE * len(long_))


def _known(terms: list[str], term: str) -> bool:
    """`term` or a form of it among the index's terms (see _related)."""
    i = bisect.bisect_left(terms, term)
    while i < len(terms) and terms[i].startswith(term):
        if terms[i] == term or _related(term, terms[i]):
            return True
        i += 1
        if i - bisect.bisect_left(terms, term) > 50:
            break  # a short term that starts many others: those are not its forms
    for cut in range(len(term) - 1, MIN_PREFIX - 1, -1):
        j = bisect.bisect_left(terms, term[:cut])
        if j < len(terms) and terms[j] == term[:cut] and _related(term[:cut], term):
            return True
    return False


def _near(terms: list[str], term: str) -> bool:
    """An Arabic stem one or two letters away from an indexed one: light stemming leaves
    broken plurals and inflections apart (مباريات ~ مباراة, جوائز ~ جائزة), which names
    are not."""
    budget = 2 if len(term) >= 7 else 1 if len(term) >= 4 else 0
    if not budget:
        return False
    lo = bisect.bisect_left(terms, term[0])
    hi = bisect.bisect_left(terms, chr(ord(term[0]) + 1))
    return any(abs(len(t) - len(term)) <= budget and _within(t, term, budget) for t in terms[lo:hi])


def _misspelt(terms: list[str], term: str) -> bool:
    """A Latin word one slip away from an indexed one (Sentanta ~ Setanta, Counil ~ Council,
    Beriods ~ Beroids): questions are typed in a hurry. Short words are left alone, since
    Chile is not a misspelt child."""
    budget = 2 if len(term) >= 9 else 1 if len(term) >= 6 else 0
    if not budget:  # short words: only two letters swapped (Zeria ~ Zeira)
        swapped = {term[:i] + term[i + 1] + term[i] + term[i + 2:] for i in range(len(term) - 1)} - {term}
        return len(term) == 5 and any(_known(terms, t) for t in swapped)
    lo = bisect.bisect_left(terms, term[0])
    hi = bisect.bisect_left(terms, chr(ord(term[0]) + 1))
    return any(abs(len(t) - len(term)) <= budget and _within(t, term, budget, swaps=True) for t in terms[lo:hi])


def _within(a: str, b: str, budget: int, swaps: bool = False) -> bool:
    """Levenshtein distance of a and b is at most `budget` (rows cut off early)."""
    before, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if swaps and before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, before[j - 2] + 1)  # two neighbouring letters swapped: one slip
            current.append(cost)
        if min(current) > budget:
            return False
        before, previous = previous, current
    return previous[-1] <= budget


def mentions(snap, word: str, cross_min: int = MIN_CROSS_SKELETON) -> bool:
    stems = tokenize(word)
    if not stems:
        return True  # a stop word or a digit: nothing to look for
    terms = _terms(snap)
    if any(_known(terms, stem) for stem in stems):
        return True
    if _AR_WORD.fullmatch(word) and any(_near(terms, stem) for stem in stems):
        return True
    if not _AR_WORD.fullmatch(word) and any(_misspelt(terms, stem) for stem in stems):
        return True
    skeletons = vocab_by_skeleton(snap)
    if _AR_WORD.fullmatch(word):
        sk, other = arabic_skeleton(word), skeletons["latin"]
    else:
        sk, other = latin_skeleton(word), skeletons["ar"]
    return len(sk) >= cross_min and sk in other
