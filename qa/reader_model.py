"""The index's own model for questions, without torch: ONNX Runtime and the `tokenizers`
library over an fp32 export of the same weights.

Importing torch and sentence-transformers takes most of a fresh `qa search` or `qa ask`
(several seconds); the reader only needs query and sentence vectors. A build, which has the
model loaded anyway, exports it once per model (`export`, into the ONNX cache beside the int8
export, qa.onnx_models.onnx_dir) with what sentence-transformers does around the transformer:
the prompts, the token limit, mean or CLS pooling, normalisation. Readers then use it (`load`)
whenever it is there; a model without an export (another machine's cache, a pooling this does
not reproduce) keeps the torch path. QA_READER_BACKEND=torch forces the torch path.

Vectors agree with torch's fp32 ones to cosine > 0.9999 (tests/test_reader_model.py), so
rankings are the same (docs/BENCHMARKS.md, cold start)."""
from __future__ import annotations

import json
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_FILE = "model-fp32.onnx"
META_FILE = "reader.json"  # written last: its presence means the export is complete
TOKENIZER_FILE = "tokenizer.json"
POOLINGS = ("mean", "cls")


class OnnxReader:
    """Query and document vectors of the index's model (qa.embedder.Embedder's reading half)."""

    backend = "onnx-fp32"

    def __init__(self, name: str, folder: Path, meta: dict):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name
        self.dimension = int(meta["dimension"])
        self.max_tokens = int(meta["max_tokens"])
        self._pooling = meta["pooling"]
        self._normalize = bool(meta["normalize"])
        self._prompts = meta.get("prompts") or {}
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(self.max_tokens)
        self._tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=meta["pad_token"])
        self._lock = threading.Lock()  # the tokenizer's padding/truncation settings are shared state
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # a question is one of several requests sharing the cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query", 64)

    def documents(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        return self._encode(texts, "document", batch_size)

    def _encode(self, texts: list[str], kind: str, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        prompt = self._prompts.get(kind) or (self._prompts.get("passage") if kind == "document" else "") or ""
        texts = [prompt + t.strip() for t in texts]  # sentence-transformers strips each text too
        out = np.zeros((len(texts), self.dimension), dtype="float32")
        order = np.argsort([-len(t) for t in texts], kind="stable")  # little padding per batch
        for begin in range(0, len(texts), batch_size):
            part = order[begin:begin + batch_size]
            with self._lock:
                encodings = self._tokenizer.encode_batch([texts[i] for i in part])
            ids = np.array([e.ids for e in encodings], dtype="int64")
            mask = np.array([e.attention_mask for e in encodings], dtype="int64")
            feed = {"input_ids": ids, "attention_mask": mask,
                    "token_type_ids": np.array([e.type_ids for e in encodings], dtype="int64")}
            hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            if self._pooling == "cls":
                pooled = hidden[:, 0]
            else:
                weights = mask[..., None].astype("float32")
                pooled = (hidden * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
            if self._normalize:
                pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[part] = pooled
        return np.ascontiguousarray(out)


def describe(st_model) -> dict | None:
    """What sentence-transformers does around this model's transformer, or None when it does
    more than this module reproduces (then the torch path stays)."""
    modules = [type(m).__name__ for m in st_model]
    if modules[:2] != ["Transformer", "Pooling"] or any(m != "Normalize" for m in modules[2:]):
        return None
    pooling = getattr(st_model[1], "pooling_mode", None) or getattr(st_model[1], "get_pooling_mode_str", lambda: None)()
    tokenizer = st_model.tokenizer
    if pooling not in POOLINGS or not getattr(tokenizer, "is_fast", False) or tokenizer.pad_token is None:
        return None
    if getattr(st_model[0], "do_lower_case", False):
        return None  # lower-casing before the tokenizer: not reproduced here
    get_dimension = getattr(st_model, "get_embedding_dimension", None) or st_model.get_sentence_embedding_dimension
    return {"pooling": pooling, "normalize": "Normalize" in modules, "max_tokens": int(st_model.max_seq_length),
            "dimension": int(get_dimension()), "prompts": dict(st_model.prompts or {}),
            "pad_id": int(tokenizer.pad_token_id), "pad_token": str(tokenizer.pad_token)}


def export(embedder) -> Path | None:
    """Export `embedder`'s model (a qa.embedder.Embedder) for readers, once; the folder, or
    None when this model cannot be read this way or ONNX Runtime is not installed."""
    from .embedder import resolve_model
    from .onnx_models import export_onnx, onnx_dir

    try:
        import onnxruntime  # noqa: F401 (readers need it; without it there is nothing to export for)
    except ImportError:
        return None
    folder = onnx_dir(resolve_model(embedder.name))
    if (folder / META_FILE).is_file():
        return folder
    meta = describe(embedder.model)
    if meta is None:
        return None
    with embedder._lock:  # the model and its tokenizer are used under the Embedder's lock
        export_onnx(embedder.model, folder / MODEL_FILE, quantize=False)
        embedder.model.tokenizer.backend_tokenizer.save(str(folder / f"{TOKENIZER_FILE}.tmp"))
    os.replace(folder / f"{TOKENIZER_FILE}.tmp", folder / TOKENIZER_FILE)
    tmp = folder / f"{META_FILE}.tmp"
    tmp.write_text(json.dumps({"model": embedder.name, **meta}, indent=1))
    os.replace(tmp, folder / META_FILE)
    load.cache_clear()
    return folder


@lru_cache(maxsize=4)
def load(model: str) -> OnnxReader | None:
    """The torch-free reader of `model` when a build exported it here, else None."""
    if (os.environ.get("QA_READER_BACKEND") or "auto").strip().lower() == "torch":
        return None
    from .embedder import resolve_model
    from .onnx_models import onnx_dir

    folder = onnx_dir(resolve_model(model))
    try:
        meta = json.loads((folder / META_FILE).read_text())
        return OnnxReader(model, folder, meta)
    except (OSError, ValueError, KeyError, ImportError):
        return None  # no export, or one this version cannot read: the torch path answers
