"""Cross-script corroboration without a translation model.

Names survive translation between English and Arabic as transliterations: Havelsan ↔
هافيلسان, Kader ↔ قادر, Bayraktar ↔ بيرقدار. Reduced to a consonant skeleton (vowels and
long-vowel letters dropped, sounds that scripts render differently merged) they match. Two
sentences in different scripts that share rare names with enough skeleton letters in total are
taken to report the same fact, so the answer can cite both articles.
"""
from __future__ import annotations

import re
import unicodedata
import weakref

from .chunking import sentences

_LATIN_DIGRAPHS = [("sh", "s"), ("kh", "h"), ("th", "t"), ("ph", "f"), ("gh", "g"), ("ch", "s"), ("ck", "k")]
_LATIN_MAP = str.maketrans({"p": "b", "v": "f", "c": "k", "q": "k", "j": "g", "z": "s", "x": "s", "d": "t"})
_ARABIC_MAP = {
    "ب": "b", "پ": "b", "ف": "f", "ڤ": "f", "ك": "k", "ق": "k", "ج": "g", "غ": "g", "گ": "g",
    "د": "t", "ض": "t", "ذ": "t", "ت": "t", "ط": "t", "ث": "t", "ظ": "t",
    "س": "s", "ص": "s", "ز": "s", "ش": "s", "ه": "h", "ح": "h", "خ": "h",
    "ل": "l", "م": "m", "ن": "n", "ر": "r",
}
_AR_WORD = re.compile(r"[\u0621-\u064a]+")
_LATIN_NAME = re.compile(r"\b[A-Z][a-zA-Z’'-]{2,}")
MIN_EVIDENCE = 8  # skeleton letters shared in total: two names (5 + 3) or one long one
_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def latin_skeleton(word: str) -> str:
    word = "".join(ch for ch in unicodedata.normalize("NFKD", word.lower()) if ch.isalpha() and ch.isascii())
    for digraph, single in _LATIN_DIGRAPHS:
        word = word.replace(digraph, single)
    word = word.translate(_LATIN_MAP)
    return _squeeze(re.sub(r"[aeiouyw]", "", word).rstrip("h"))


def arabic_skeleton(word: str) -> str:
    # Article and prepositions glued to a name: البرونكوس, للبرونكوس (li + al), وبالقاهرة.
    for prefix in ("وبال", "وال", "بال", "فال", "كال", "لل", "ال", "و"):
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            word = word[len(prefix):]
            break
    return _squeeze("".join(_ARABIC_MAP.get(ch, "") for ch in word).rstrip("h"))


def _squeeze(s: str) -> str:
    return re.sub(r"(.)\1+", r"\1", s)


def _names(text: str) -> dict[str, str]:
    """skeleton -> word, for the name-like words of `text` in either script."""
    found = {}
    if _AR_WORD.search(text):
        for w in _AR_WORD.findall(text):
            sk = arabic_skeleton(w)
            if len(sk) >= 3:
                found.setdefault(sk, w)
    for m in _LATIN_NAME.finditer(text):
        if m.start() == 0:
            continue  # a capital at the start of a sentence says nothing about names
        sk = latin_skeleton(m.group(0))
        if len(sk) >= 3:
            found.setdefault(sk, m.group(0))
    return found


def vocab_by_skeleton(snap) -> dict[str, dict[str, set[str]]]:
    """Per script, skeleton -> the BM25 terms of the words with that skeleton, built from the
    raw words of the chunks (stems lose the endings a skeleton needs); cached per generation."""
    from .lexical import tokenize

    cached = _cache.get(snap.lexical)
    if cached is None:
        words = set()
        for text in snap.texts:
            words.update(_AR_WORD.findall(text))
            words.update(m.group(0) for m in _LATIN_NAME.finditer(text))
        cached = {"ar": {}, "latin": {}}
        for w in words:
            terms = tokenize(w)
            if not terms:
                continue
            script, sk = ("ar", arabic_skeleton(w)) if _AR_WORD.fullmatch(w) else ("latin", latin_skeleton(w))
            if len(sk) >= 3:
                cached[script].setdefault(sk, set()).update(terms)
        _cache[snap.lexical] = cached
    return cached


def corroborating_terms(index, sentence: str, exclude_docs: set[str], limit: int = 2, where: dict | None = None):
    """[(passage, (start, end))]: sentences in the other script that share names with `sentence`,
    among the articles that `where` admits."""
    names = _names(sentence)
    if not names:
        return []
    other = "latin" if _AR_WORD.search(sentence) else "ar"
    vocab = index.name_skeletons()[other]
    wanted = {sk for sk in names if sk in vocab}
    if sum(len(sk) for sk in wanted) < MIN_EVIDENCE:
        return []
    out = []
    for passage in index.passages_with_terms(sorted({t for sk in wanted for t in vocab[sk]}), k=10, where=where):
        if passage.doc_id in exclude_docs:
            continue
        text = passage.text
        best = None
        for s, e in sentences(text):
            shared = wanted & set(_names(text[s:e]))
            evidence = sum(len(sk) for sk in shared)
            if evidence >= MIN_EVIDENCE and (len(shared) >= 2 or evidence >= 6) and (best is None or evidence > best[0]):
                best = (evidence, s, e)
        if best:
            out.append((passage, (best[1], best[2])))
            exclude_docs = exclude_docs | {passage.doc_id}
        if len(out) >= limit:
            break
    return out
