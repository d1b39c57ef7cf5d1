"""The manifest's rules, read by both the builder and the reader: what a manifest must hold
(checked before anything trusts a field of it) and which indexes a run may use."""
from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from .errors import IndexCorruptError, IndexMismatchError
from .settings import Settings

REBUILD = "rebuild with `qa build --rebuild`"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# field -> accepted types. A manifest that parses but breaks these would fail later with a
# KeyError or TypeError far from its cause; it is refused as damaged instead.
REQUIRED = {
    "format_version": int, "model": str, "model_languages": list, "dimension": int, "vector_index": str,
    "max_tokens": int, "chunk_tokens": int, "chunk_overlap": int, "title_tokens": int, "counts": dict,
    "files": dict, "built_at": str,
}
# Written by newer builds only (an index of the previous version lacks them).
OPTIONAL = {"embedding": (dict, type(None)), "normalized": bool, "metric": str, "companion": dict,
            "vector_search": dict, "terms_version": int, "chunk_counting": int}
COUNTS = ("articles", "chunks")


def check_shape(manifest, where: Path) -> dict:
    """`manifest` when every field the code reads has the right type; else IndexCorruptError."""
    if not isinstance(manifest, dict):
        _damaged(where, f"holds {type(manifest).__name__}, not an object")
    for key, kind in REQUIRED.items():
        if key not in manifest:
            _damaged(where, f"lacks {key!r}")
        if not _is(manifest[key], kind):
            _damaged(where, f"has {key!r} of type {type(manifest[key]).__name__}")
    for key, kinds in OPTIONAL.items():
        if key in manifest and not _is(manifest[key], kinds):
            _damaged(where, f"has {key!r} of type {type(manifest[key]).__name__}")
    if manifest["dimension"] < 1 or manifest["max_tokens"] < 1 or \
            min(manifest["chunk_tokens"], manifest["chunk_overlap"], manifest["title_tokens"]) < 0:
        _damaged(where, "has a size out of range")
    if not all(isinstance(lang, str) for lang in manifest["model_languages"]):
        _damaged(where, "has a language that is not text")
    counts = manifest["counts"]
    if not all(_is(counts.get(key), int) and counts[key] >= 0 for key in COUNTS):
        _damaged(where, "has no article and chunk counts")
    if not isinstance(counts.get("languages", {}), dict):
        _damaged(where, "has language counts that are not an object")
    for rel, meta in manifest["files"].items():
        if not _safe_relative(rel):
            _damaged(where, f"names a file outside its folder: {rel!r}")
        if not (isinstance(meta, dict) and _is(meta.get("size"), int) and isinstance(meta.get("sha256"), str)
                and _SHA256.match(meta["sha256"])):
            _damaged(where, f"has no size and sha256 for {rel!r}")
    return manifest


def check_compatible(manifest: dict, settings: Settings, index_dir: Path) -> None:
    """Refuse an index built with another model or other chunk settings than `settings`."""
    built = (manifest.get("model"), manifest.get("chunk_tokens"), manifest.get("chunk_overlap"),
             manifest.get("title_tokens"))
    wanted = (settings.model, settings.chunk_tokens, settings.chunk_overlap, settings.title_tokens)
    if built != wanted:
        raise IndexMismatchError(
            f"the index at {index_dir} was built with model {built[0]!r} (chunks {built[1]}/{built[2]} tokens, "
            f"title {built[3]}), but this run uses model {wanted[0]!r} (chunks {wanted[1]}/{wanted[2]} tokens, "
            f"title {wanted[3]}): rebuild it with `qa build --rebuild` or use --model {built[0]}")


def check_companion(manifest: dict, identity: dict | None, index_dir: Path) -> None:
    """Refuse to add vectors of another multilingual model to an index that holds some: one
    index never mixes the vectors of two models."""
    built = manifest.get("companion")
    if built and identity and {k: built.get(k) for k in identity} != identity:
        raise IndexMismatchError(
            f"the index at {index_dir} holds multilingual vectors of {_who(built)}, but this run has "
            f"{_who(identity)}: rebuild it with `qa build --rebuild`")


def _who(identity: dict) -> str:
    return f"{identity.get('model')} ({identity.get('backend')} {identity.get('version')}, {identity.get('weights')})"


def _is(value, kinds) -> bool:
    # bool is an int to Python, never to the manifest.
    return isinstance(value, kinds) and not (isinstance(value, bool) and kinds is int)


def _safe_relative(rel) -> bool:
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel:
        return False
    path = PurePosixPath(rel)
    return not path.is_absolute() and ".." not in path.parts


def _damaged(where: Path, what: str):
    raise IndexCorruptError(f"{where} is damaged: it {what}; {REBUILD}")
