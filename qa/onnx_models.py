"""ONNX exports of the embedding model, kept per model in QA_ONNX_CACHE (~/.cache/qa/onnx):
the fp32 one readers answer questions with (qa/reader_model.py) and the int8 one builds embed
with where the CPU has no native bf16 (qa/embedder.py).

The int8 export is made for speed on AVX2-only CPUs: the transformer is traced with eager
attention, ONNX Runtime's transformer optimizer fuses it (embedding layer norm, attention,
bias + GELU, skip layer norm), and the weights of every matrix product, attention's included,
are quantised to int8 per channel. On this machine capped to AVX2 (bench/avx2_only) that
embeds SQuAD chunks at 1.8x torch fp32, against 1.45x for the int8 export without fusion,
at the same cosine to torch's vectors (mean 0.993). A fusion that fails, or changes the
fp32 model's output, is skipped: the unfused graph is quantised instead."""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np

# The file name carries the export's recipe: a cache made by an older recipe is not reused.
INT8_FILE = "model-int8-fused.onnx"
_SAMPLE = ["an example", "a second, longer example about joint naval exercises",
           "محادثات عسكرية مصرية تركية في القاهرة", "x"]


def unit_rows(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def onnx_dir(source: str) -> Path:
    """The folder where ONNX exports of the model at `source` are kept (QA_ONNX_CACHE or
    ~/.cache/qa/onnx), one per model source."""
    cache = Path(os.environ.get("QA_ONNX_CACHE") or Path.home() / ".cache" / "qa" / "onnx")
    key = hashlib.sha256(os.path.abspath(source).encode() if os.path.exists(source) else source.encode())
    return cache / f"{Path(source).name}-{key.hexdigest()[:12]}"


def int8_file(st_model, source: str) -> Path:
    """The int8 ONNX file for this model, exported on first use (seconds) and kept."""
    target = onnx_dir(source) / INT8_FILE
    if not target.is_file():
        export_onnx(st_model, target, quantize=True)
    return target


class OnnxInt8:
    """The int8 export run by ONNX Runtime, then mean pooling and normalisation in numpy, as
    sentence-transformers does around the transformer (only mean-pooled models qualify)."""

    def __init__(self, st_model, path: Path, lock: threading.Lock):
        import onnxruntime as ort

        self.tokenizer = st_model.tokenizer
        self.lock = lock  # the Embedder's lock for this tokenizer
        self.max_tokens = int(st_model.max_seq_length)
        self.prompts = getattr(st_model, "prompts", {}) or {}
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
            pooled = _mean_pooled(self.session, self.inputs, enc)  # sessions may run concurrently
            if not out.shape[1]:
                out = np.zeros((len(texts), pooled.shape[1]), dtype="float32")
            out[part] = unit_rows(pooled)
        return np.ascontiguousarray(out, dtype="float32")


def _mean_pooled(session, inputs: list[str], enc) -> np.ndarray:
    feed = {name: enc[name].astype("int64") if name in enc else np.zeros_like(enc["input_ids"], dtype="int64")
            for name in inputs}
    hidden = session.run(None, feed)[0]
    mask = enc["attention_mask"][..., None].astype("float32")
    return (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)


def export_onnx(st_model, target, quantize: bool) -> None:
    """Write the model's transformer (input ids, attention mask, token types -> last hidden
    state) to `target` as ONNX; with `quantize`, fused and int8 (the module's docstring)."""
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
        with _eager_attention(transformer) if quantize else contextlib.nullcontext():
            torch.onnx.export(Hidden(), tuple(sample[n] for n in names), str(plain), input_names=names,
                              output_names=["hidden"], opset_version=17, dynamo=False,
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names + ["hidden"]})
        if quantize:
            plain = _quantized(plain, transformer.config, st_model.tokenizer, Path(tmp))
        os.replace(plain, target)  # atomic: a concurrent reader sees no half-written file


@contextlib.contextmanager
def _eager_attention(model):
    """Trace attention as plain matrix products: ONNX Runtime's optimizer fuses those into
    its Attention operator, not the graph of torch's scaled_dot_product_attention."""
    before = getattr(model.config, "_attn_implementation", None)
    switch = before not in (None, "eager") and hasattr(model, "set_attn_implementation")
    try:
        if switch:
            model.set_attn_implementation("eager")
    except (ValueError, ImportError, AttributeError):  # a model that has no eager attention
        switch = False
    try:
        yield
    finally:
        if switch:
            model.set_attn_implementation(before)


def _quantized(plain: Path, config, tokenizer, tmp: Path) -> Path:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fused = _fused(plain, config, tokenizer, tmp)
    out = tmp / "model-int8.onnx"
    if fused is not None:
        try:  # every matrix product, the fused attention's included
            quantize_dynamic(str(fused), str(out), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": TensorProto.FLOAT})
            return out
        except Exception:  # noqa: BLE001 - any quantiser failure: the unfused recipe below
            pass
    quantize_dynamic(str(plain), str(out), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                     per_channel=True)
    return out


def _fused(plain: Path, config, tokenizer, tmp: Path) -> Path | None:
    """The graph with ONNX Runtime's BERT fusions, or None where they fail or alter the output
    (cosine of mean-pooled sample vectors below 0.9999)."""
    heads, hidden = getattr(config, "num_attention_heads", 0), getattr(config, "hidden_size", 0)
    if not heads or not hidden:
        return None
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        with contextlib.redirect_stdout(None):
            model = optimize_model(str(plain), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
        fused = tmp / "model-fused.onnx"
        model.save_model_to_file(str(fused))
        before, after = (_sample_vectors(path, tokenizer) for path in (plain, fused))
    except Exception:  # noqa: BLE001 - the optimizer does not know this architecture
        return None
    return fused if float((before * after).sum(1).min()) >= 0.9999 else None


def _sample_vectors(path: Path, tokenizer) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    enc = tokenizer(_SAMPLE, padding=True, truncation=True, return_tensors="np")
    return unit_rows(_mean_pooled(session, [i.name for i in session.get_inputs()], enc))
