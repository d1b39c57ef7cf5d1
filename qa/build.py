"""build_index: articles in a folder -> a new index generation, embedding only what changed."""
from __future__ import annotations

import json
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np

from . import companion, storage, store
from .errors import IndexCorruptError, SourceNotFoundError
from .lexical import TERMS_VERSION, LexicalIndex
from .reading import ChunkPlan, chunk_terms, companion_counter, read_article, skip_reason
from .planning import Plan, plan_build
from .readers import Skip
from .registry import page_charsets, page_urls
from .settings import Settings, from_env
from .storage import check_compatible
from .types import BuildReport
from .vectors import FLAT, HNSW, IVF_SQ8, VectorIndex

# progress(stage, done, total): stages are "reading", "embedding", "writing".
Progress = Callable[[str, int, int], None]
EMBED_SLICE = 256  # texts per progress step; slices follow a global length sort


def build_index(source: str | Path = "seeds", index: str | Path = "index", *, model: str | None = None,
                settings: Settings | None = None, rebuild: bool = False, progress: Progress | None = None,
                crash_hook: Callable[[str], None] | None = None, ray: str | bool | None = None) -> BuildReport:
    """Index the articles under `source` into the folder `index`; see BuildReport.

    Incremental: only new or changed articles are read and embedded; deleted ones leave.
    `ray`: read and embed on a Ray cluster (qa/distributed.py): True starts a local Ray (or
    joins RAY_ADDRESS), a string is the address of a cluster to join; this process still
    writes the index, in the same format.
    `crash_hook(point)` is called at labelled points (tests kill the process there).
    """
    started = time.perf_counter()
    settings = settings or from_env(model=model)
    source, index_dir = Path(source), Path(index)
    if not source.is_dir():
        raise SourceNotFoundError(f"source folder {source} does not exist or is not a folder")
    hook = crash_hook or (lambda point: None)
    report = progress or (lambda stage, done, total: None)
    storage.check_index_folder(index_dir)  # before the lock file is created: touch nothing there
    if ray:
        from .distributed import require_ray

        require_ray()  # says how to install Ray before any work
    with storage.build_lock(index_dir):
        old_folder, old_manifest = _previous(index_dir, settings, rebuild)
        _tidy(index_dir)
        old_conn = store.open_db(old_folder / "store.sqlite", readonly=True) if old_folder else None
        try:
            plan = plan_build(source, settings.max_file_bytes, old_conn, companion.stale_chunking(old_manifest, settings))
        finally:
            if old_conn:
                old_conn.close()
        hook("planned")
        notes: list[str] = []
        if old_folder is not None and not plan.new and not plan.removed and \
                plan.old_duplicates == plan.duplicates and not companion.companion_missing(old_manifest, settings) and \
                old_manifest.get("terms_version", 1) == TERMS_VERSION:
            # Nothing changed: no new generation, nothing embedded (builds are idempotent).
            return BuildReport(unchanged=sorted(plan.unchanged), skipped=plan.skipped,
                               duplicates=sorted((d, s) for d, (s, _) in plan.duplicates.items()),
                               chunks=int(old_manifest["counts"]["chunks"]), embedded=0,
                               seconds=time.perf_counter() - started)
        name, tmp = storage.new_generation_dir(index_dir)
        hook("generation-started")
        with _cluster(ray) as cluster:
            embedded, chunks, skipped, shape = _write_generation(
                tmp, old_folder, old_manifest, plan, settings, report, hook, notes, cluster)
        manifest = _manifest(settings, tmp, chunks, shape)
        storage.commit_generation(index_dir, name, tmp, manifest, crash_hook=hook)
        storage.clean_leftovers(index_dir)
        hook("done")
    added = sorted(d for d in plan.new if d not in plan.changed and d not in dict(skipped))
    return BuildReport(
        added=added, updated=sorted(d for d in plan.changed if d not in dict(skipped)),
        removed=sorted(plan.removed + [d for d in plan.changed if d in dict(skipped)]),
        unchanged=sorted(plan.unchanged), skipped=plan.skipped + skipped,
        duplicates=sorted((d, s) for d, (s, _) in plan.duplicates.items()),
        chunks=chunks, embedded=embedded, seconds=time.perf_counter() - started, notes=notes)


def _fit_kind(vectors: VectorIndex, settings: Settings) -> VectorIndex:
    """Exact up to approximate_above vectors, HNSW up to compress_above, IVF over 8-bit codes
    above (qa/vectors.py); an index that crossed a threshold either way is rebuilt as its kind."""
    n = len(vectors)
    kind = FLAT if n <= settings.approximate_above else HNSW if n <= settings.compress_above else IVF_SQ8
    if kind == vectors.kind:
        return vectors
    ids, vecs = vectors.all_vectors()
    if kind == IVF_SQ8:
        return VectorIndex.compressed(ids, vecs)
    fitted = VectorIndex.empty(vectors.dimension, kind)
    fitted.add(ids, vecs)
    return fitted


@contextmanager
def _cluster(ray: str | bool | None):
    if not ray:
        yield None
        return
    from .distributed import Cluster

    with Cluster(ray if isinstance(ray, str) else None).session() as cluster:
        yield cluster


def _previous(index_dir: Path, settings: Settings, rebuild: bool):
    if rebuild or not index_dir.is_dir():
        return None, None
    try:
        if storage.current_generation(index_dir) is None:
            return None, None
    except IndexCorruptError:
        raise IndexCorruptError(f"the index at {index_dir} is damaged; run `qa build --rebuild`") from None
    folder, manifest = storage.read_manifest(index_dir, verify=True)
    check_compatible(manifest, settings, index_dir)
    return folder, manifest


def _tidy(index_dir: Path) -> None:
    """Remove what earlier builds left (unfinished or superseded generations), only the files
    qa writes (storage.clean_leftovers). Even a --rebuild keeps the current generation until
    the new one replaces it."""
    try:
        storage.clean_leftovers(index_dir)
    except IndexCorruptError:
        # Only reached by --rebuild or a first build (an update refuses a damaged index):
        # the damaged pointer is replaced by the generation this build writes.
        (index_dir / storage.CURRENT).unlink(missing_ok=True)
        storage.clean_leftovers(index_dir)


def _write_generation(tmp: Path, old_folder, old_manifest, plan: Plan, settings: Settings, report, hook,
                      notes: list[str], cluster=None):
    from .embedder import get_embedder

    if old_folder:
        shutil.copyfile(old_folder / "store.sqlite", tmp / "store.sqlite")
    conn = store.open_db(tmp / "store.sqlite")
    embedder = get_embedder(settings.model) if (plan.new or not old_folder) else None
    if embedder is not None:
        _export_for_readers(embedder, notes)
    if old_folder:
        vectors = VectorIndex.load(old_folder / "vectors.faiss", old_manifest.get("vector_index", FLAT),
                                   old_manifest.get("vector_search"))
    else:
        vectors = VectorIndex.empty(embedder.dimension)
    gone = plan.removed + sorted(plan.changed)
    conn.execute("BEGIN")
    gone_ids = np.array(store.chunk_ids_of(conn, gone), dtype="int64")
    vectors.remove(gone_ids)
    store.delete_articles(conn, gone)
    conn.execute("DELETE FROM duplicates")
    conn.executemany("INSERT INTO duplicates(doc_id, same_as, content_hash) VALUES (?,?,?)",
                     [(d, s, h) for d, (s, h) in sorted(plan.duplicates.items())])
    skipped: list[tuple[str, str]] = []
    rows, embed_texts = [], []
    next_id = store.next_chunk_id(conn)
    for n, (doc_id, read, reason) in enumerate(_read_new(plan, settings, embedder, cluster), 1):
        report("reading", n, len(plan.new))
        if read is None:
            skipped.append((doc_id, reason))
            continue
        store.insert_article(conn, read.article)
        for chunk, text in zip(read.chunks, read.texts):
            rows.append((next_id, doc_id, *chunk))
            embed_texts.append(text)
            next_id += 1
    hook("read")
    if rows:
        store.insert_chunks(conn, rows)
        ids = np.array([r[0] for r in rows], dtype="int64")
        for shard_ids, shard in _embed(embedder, ids, embed_texts, settings, report, cluster=cluster):
            vectors.add(shard_ids, shard)
    hook("embedded")
    if old_manifest and old_manifest.get("terms_version", 1) != TERMS_VERSION:
        _rederive_terms(conn, report)
    conn.execute("COMMIT")
    companion_vectors = _write_companion(tmp, old_folder, old_manifest, conn, settings, gone_ids,
                                         {r[0]: t for r, t in zip(rows, embed_texts)}, report, notes, cluster)
    report("writing", 0, 1)
    all_rows = conn.execute("SELECT chunk_id, terms FROM chunks ORDER BY chunk_id").fetchall()
    conn.close()
    if len(vectors) != len(all_rows):
        raise IndexCorruptError(f"internal error: {len(vectors)} vectors for {len(all_rows)} chunks")
    vectors = _fit_kind(vectors, settings)
    vectors.save(tmp / "vectors.faiss")
    hook("vectors-written")
    (tmp / "bm25").mkdir()
    lexical = LexicalIndex.build([json.loads(t) for _, t in all_rows],
                                 np.array([c for c, _ in all_rows], dtype="int64"))
    lexical.save(tmp / "bm25")
    hook("bm25-written")
    report("writing", 1, 1)
    # What the manifest needs, known without loading the model when nothing was embedded.
    shape = {"dimension": vectors.dimension, "vector_index": vectors.kind, "vector_search": vectors.tuning,
             "max_tokens": embedder.max_tokens if embedder else old_manifest["max_tokens"],
             # How this build's new vectors were computed (informational: all are compatible).
             "embedding": {"backend": embedder.backend, "precision": embedder.precision} if embedder
             else old_manifest.get("embedding"),
             "companion": companion_vectors}
    return len(embed_texts), len(all_rows), skipped, shape


TERMS_PAGE = 2000  # chunks re-tokenised per step of _rederive_terms


def _rederive_terms(conn, report) -> None:
    """Every stored chunk's BM25 terms from its text, by this version's tokenizer (an index
    built by an older one): cheap next to embedding, which none of this needs."""
    (total,) = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()
    done, after = 0, -1
    while True:  # a page at a time: a large index's text never sits in memory at once
        page = conn.execute("SELECT c.chunk_id, c.start, c.text, a.title FROM chunks c JOIN articles a "
                            "ON a.doc_id = c.doc_id WHERE c.chunk_id > ? ORDER BY c.chunk_id LIMIT ?",
                            (after, TERMS_PAGE)).fetchall()
        if not page:
            return
        conn.executemany("UPDATE chunks SET terms = ? WHERE chunk_id = ?",
                         [(json.dumps(chunk_terms(title, start, text), ensure_ascii=False), chunk_id)
                          for chunk_id, start, text, title in page])
        done, after = done + len(page), page[-1][0]
        report("terms", done, total)


def _read_new(plan: Plan, settings: Settings, embedder, cluster):
    """(doc_id, ReadArticle or None, skip reason or None) for each new or changed article, in
    doc_id order (chunk ids follow it), read here or by Ray tasks."""
    if not plan.new:
        return
    size = min(settings.chunk_tokens, embedder.max_tokens - embedder.special_tokens() - settings.title_tokens - 1)
    chunking = ChunkPlan(size=size, overlap=min(settings.chunk_overlap, size // 2),
                         title_tokens=settings.title_tokens, max_file_bytes=settings.max_file_bytes,
                         companion_languages=companion.companion_languages(settings))
    counter = companion_counter(embedder.count_tokens)
    fetched_from, charsets = page_urls(plan.source), page_charsets(plan.source)
    items = [(doc_id, path, fetched_from.get(doc_id), charsets.get(doc_id)) for doc_id, path in sorted(plan.new.items())]
    if cluster is not None:
        yield from cluster.read(items, settings.model, chunking)
        return
    for doc_id, path, url, charset in items:
        try:
            yield doc_id, read_article(doc_id, path, chunking, embedder.count_tokens, url=url, charset=charset,
                                       companion_count=counter), None
        except (Skip, OSError) as exc:
            yield doc_id, None, skip_reason(exc)


def _export_for_readers(embedder, notes: list[str]) -> None:
    """Once per model: the torch-free copy readers load in a fraction of a second
    (qa/reader_model.py). A model it cannot reproduce, or a failed export, leaves readers on
    the torch path: the build goes on."""
    from . import reader_model

    try:
        reader_model.export(embedder)
    except Exception as exc:  # noqa: BLE001 (an optimisation: never a reason to fail a build)
        notes.append(f"questions will load the full model (no fast reader: {exc})")


def _write_companion(tmp: Path, old_folder, old_manifest, conn, settings: Settings, gone_ids, new_texts: dict,
                     report, notes: list[str], cluster=None) -> dict | None:
    """Multilingual vectors beside the main ones (qa/multilingual.py), for every chunk, when the
    corpus holds a language the main model does not cover (or Settings.multilingual says
    always). An English-only corpus embeds nothing more. Returns the manifest's "companion"."""
    from . import multilingual
    from .manifest import check_companion

    langs = dict(conn.execute("SELECT lang, COUNT(*) FROM articles GROUP BY lang").fetchall())
    if not companion.needs_companion(settings, langs):
        return None
    model = multilingual.load()
    if model is None:
        notes.append(f"no multilingual vectors: {multilingual.unavailable()}")
        return None
    old = (old_manifest or {}).get("companion")
    check_companion(old_manifest or {}, model.identity, tmp.parent)
    if old and old_folder is not None and (old_folder / "companion.faiss").is_file():
        vectors = VectorIndex.load(old_folder / "companion.faiss", old.get("vector_index", FLAT))
        vectors.remove(gone_ids)
        todo = sorted(new_texts.items())
    else:  # the first multilingual build of this index: every chunk, old ones included
        vectors = VectorIndex.empty(model.dimension)
        rows = conn.execute("SELECT c.chunk_id, c.start, c.text, a.title FROM chunks c "
                            "JOIN articles a ON a.doc_id = c.doc_id ORDER BY c.chunk_id").fetchall()
        todo = [(cid, new_texts.get(cid) or (f"{title}\n{text}" if start and title not in text else text))
                for cid, start, text, title in rows]
    if todo:
        ids = np.array([cid for cid, _ in todo], dtype="int64")
        for shard_ids, shard in _embed(model, ids, [t for _, t in todo], settings, report, "multilingual",
                                       cluster, which="companion"):
            vectors.add(shard_ids, shard)
    vectors.save(tmp / "companion.faiss")
    return {**model.identity, "vector_index": vectors.kind, "vectors": len(vectors)}


def _embed(embedder, ids: np.ndarray, texts: list[str], settings: Settings, report, stage: str = "embedding",
           cluster=None, which: str = "main"):
    """Yields (chunk ids, vectors) shards of at most EMBED_SLICE: the builder adds each to the
    index as it comes and never holds every vector of a build at once. On a Ray cluster the
    shards come from its actors (qa.distributed); here, from the model in this process."""
    if cluster is not None:
        yield from cluster.embed(which, settings.model if which == "main" else None, ids, texts,
                                 settings.batch_size, report, stage)
        return
    # One global sort by length, then slices: batches hold texts of similar length (little
    # padding) and the caller sees progress between slices.
    order = np.argsort([-len(t) for t in texts], kind="stable")
    for begin in range(0, len(texts), EMBED_SLICE):
        part = order[begin:begin + EMBED_SLICE]
        yield ids[part], embedder.documents([texts[i] for i in part], batch_size=settings.batch_size)
        report(stage, min(begin + EMBED_SLICE, len(texts)), len(texts))


def _manifest(settings: Settings, tmp: Path, chunks: int, dims: dict) -> dict:
    from .embedder import model_languages

    conn = store.open_db(tmp / "store.sqlite", readonly=True)
    try:
        (articles,) = conn.execute("SELECT COUNT(*) FROM articles").fetchone()
        langs = dict(conn.execute("SELECT lang, COUNT(*) FROM articles GROUP BY lang"))
    finally:
        conn.close()
    return {
        "format_version": storage.FORMAT_VERSION,
        "model": settings.model,
        "model_languages": model_languages(settings.model, settings.model_languages),
        "dimension": dims["dimension"],
        "normalized": True,
        "metric": "inner_product",
        "vector_index": dims["vector_index"],
        **({"vector_search": dims["vector_search"]} if dims.get("vector_search") else {}),
        "max_tokens": dims["max_tokens"],
        "embedding": dims["embedding"],
        **({"companion": dims["companion"]} if dims.get("companion") else {}),
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap": settings.chunk_overlap,
        "title_tokens": settings.title_tokens,
        "terms_version": TERMS_VERSION,
        "chunk_counting": companion.CHUNK_COUNTING,
        "counts": {"articles": int(articles), "chunks": chunks, "languages": langs},
        "built_at": storage.now_iso(),
    }
