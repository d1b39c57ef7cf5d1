"""BM25 over the chunks (bm25s), with language-aware tokenisation.

English: lower-case, stop words out, Snowball stemming (PyStemmer).
Arabic: diacritics and tatweel out; alef, yaa and taa-marbuta variants unified; the
conjunction و and the prefixes ال / بال / لل / ب / ل / ك / ف stripped when what remains is a stem.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

# Letters and digits plus Arabic diacritics and tatweel (not \w), so "المسيّرة" stays one word.
_WORD = re.compile(r"[\w\u064b-\u065f\u0670\u0640]+")
_AR_DIACRITICS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")  # incl. tatweel
_AR_LETTER = re.compile(r"[\u0600-\u06ff]")
_AR_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال", "و", "ب", "ل", "ف", "ك")
# Light10 (Larkey et al. 2007) suffixes, longest first; taa marbuta is already "ه" here.
_AR_SUFFIXES = ("هما", "ها", "هم", "كم", "نا", "ات", "ان", "ون", "ين", "يه", "ه", "ي")

# Which `tokenize` an index's stored terms came from: raise it whenever tokenize's output
# changes. A build over an index of another version re-derives every stored chunk's terms
# from its text (no embedding), so query and article terms never come from two tokenizers.
# 2: an Arabic word stems as the bare word whatever clitics precede it; tanween alif dropped.
TERMS_VERSION = 2

EN_STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she should
so some such than that the their theirs them themselves then there these they this those through to
too under until up very was we were what when where which while who whom why will with would you your
yours yourself yourselves also has said says say""".split())


def normalize_letters(word: str) -> str:
    """Diacritics and tatweel out; alef, yaa and taa-marbuta variants unified."""
    word = _AR_DIACRITICS.sub("", word)
    word = re.sub("[إأآٱ]", "ا", word)
    return word.replace("ى", "ي").replace("ة", "ه").replace("ؤ", "و").replace("ئ", "ي")


# Function words, and the question words English drops too (what/when/where/who/how/why/
# which): "متى ولد؟" must rank by ولد, not by every passage with متى in it. Compared after
# the letter unification (normalize_letters), so أين and اين, متى and متي are one word.
AR_STOPWORDS = frozenset(map(lambda w: normalize_letters(w), """
في من على الى إلى عن مع هذا هذه ذلك تلك التي الذي الذين اللذان اللتان اللواتي ما لا لم لن ان أن إن
كان كانت قد هو هي هم هما هن او أو ثم بين كل بعض عند حتى اذا إذا منذ خلال حيث وقد وفي ومن كما
متى أين كيف لماذا ماذا لما كم هل أي أية لمن ممن عمن مما عما فيما بما ال وهو وهي وكان وكانت
به بها له لها لهم فيه فيها منه منها عليه عليها إليه إليها عنه عنها لدى ليس لكن ولكن لقد أيضا
ذات ذو غير سوى كذلك هناك هنا تم يتم""".split()))


def normalize_arabic(word: str) -> str:
    """The light stem of an Arabic word. Every word with the article or a clitic in front stems
    as the bare word does: البانثرز, بانثرز and وبانثرز are one term, and so are الوزير and
    وزير. (Stripping once made البانثرز "بانثرز" but بانثرز "انثرز": a question's name missed
    the article's.) A word whose first letter is a root letter that looks like a clitic (بانثرز,
    وزير) loses it either way: too short a stem, never a mismatch."""
    if word.endswith(("اً", "ًا")):
        word = word[:-2]  # tanween's carrier alif: استحواذاً is استحواذ
    word = normalize_letters(word)
    stripped = True
    while stripped:  # until none is left: ال+w and و+w then stem exactly as w does
        stripped = False
        for prefix in _AR_PREFIXES:
            # A one-letter prefix may be part of the root (لقاء): strip it only from longer words.
            rest = len(word) - len(prefix)
            if word.startswith(prefix) and rest >= (3 if len(prefix) > 1 or prefix == "و" else 4):
                word, stripped = word[len(prefix):], True
                break
    for suffix in _AR_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[:-len(suffix)]
    return word


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Index terms of `text`, the same function for documents and queries."""
    text = unicodedata.normalize("NFKC", text).casefold()
    stemmer = _stemmer()
    out = []
    for word in _WORD.findall(text):
        if _AR_LETTER.search(word):
            if normalize_letters(word) in AR_STOPWORDS:
                continue
            word = normalize_arabic(word)
            if word and word not in AR_STOPWORDS:
                out.append(word)
        elif word not in EN_STOPWORDS and not word.isdigit() or (word.isdigit() and len(word) >= 2):
            out.append(stemmer.stemWord(word))
    return out


class LexicalIndex:
    """BM25 scores for every chunk, row i belonging to chunk id `ids[i]`."""

    def __init__(self, retriever, ids: np.ndarray):
        self.retriever = retriever
        self.ids = ids

    @classmethod
    def build(cls, token_lists: list[list[str]], ids: np.ndarray) -> "LexicalIndex":
        import bm25s

        retriever = bm25s.BM25()
        # An empty document still needs a row so row i stays chunk ids[i].
        retriever.index([tokens or ["\u2205"] for tokens in token_lists], show_progress=False)
        return cls(retriever, np.asarray(ids, dtype="int64"))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        if len(self.ids) == 0:
            return np.zeros(0, dtype="float32")
        vocab = self.retriever.vocab_dict
        known = [t for t in query_tokens if t in vocab]
        if not known:
            return np.zeros(len(self.ids), dtype="float32")
        return np.asarray(self.retriever.get_scores(known), dtype="float32")

    def idf(self, term: str, articles: np.ndarray | None = None, article_count: int = 0) -> float:
        """Inverse document frequency of a term, used to weigh term overlap. A term found
        nowhere gets the highest weight: a question about something absent from every
        article is a question the articles cannot answer. `articles` (row -> article code, below
        `article_count`) counts documents as articles rather than chunks, so how finely an
        article was cut does not change how rare its words are (an article cut into 3 chunks
        instead of 10 made its words look twice as rare in a five-article corpus)."""
        vocab = self.retriever.vocab_dict
        n = len(self.ids) if articles is None else article_count
        if term not in vocab:
            if _AR_LETTER.search(term):
                # Light stemming leaves some inflected Arabic forms unmatched: an unknown
                # Arabic form is weak evidence, so it weighs like a common term.
                return 1.0
            df = 0
        else:
            indptr = self.retriever.scores["indptr"]
            col = vocab[term]
            if articles is None:
                df = int(indptr[col + 1] - indptr[col])
            else:
                rows = np.asarray(self.retriever.scores["indices"][indptr[col]:indptr[col + 1]])
                stated = np.zeros(n, dtype=bool)  # O(rows): np.unique's sort took 0.6 s for 1M rows
                stated[articles[rows]] = True
                df = int(np.count_nonzero(stated))
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def save(self, folder: Path) -> None:
        self.retriever.save(str(folder), allow_pickle=False)
        np.save(folder / "chunk_ids.npy", self.ids, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        # Memory-mapped: a generation's files never change once written, and a query reads only
        # its terms' columns, so the score matrix (about 1 KB a chunk) stays on disk.
        retriever = bm25s.BM25.load(str(folder), mmap=True, allow_pickle=False, load_corpus=False)
        ids = np.load(folder / "chunk_ids.npy", allow_pickle=False)
        return cls(retriever, ids)
