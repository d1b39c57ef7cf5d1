"""FAISS behind a small class: add / remove / search / save / load, vectors keyed by chunk id.

Exact inner-product search (vectors are normalised, so it is cosine) up to
Settings.approximate_above vectors, HNSW above it (chosen from bench/scale.py), and above
Settings.compress_above an IVF index over 8-bit scalar-quantised codes (384 bytes a vector
instead of 1,536, so memory stays within a laptop's at millions of chunks; removal is cheap,
where HNSW must rebuild its graph). Its nprobe is tuned on the index's own vectors when it is
made: the smallest that finds >= RECALL_TARGET of the exact top 10, recorded in the manifest.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

FLAT, HNSW, IVF_SQ8 = "flat", "hnsw", "ivf-sq8"
HNSW_M = 32  # links per node
# bench/scale.py, 1M clustered 384-d vectors: recall@10 0.903 / 0.954 / 0.984 at efSearch
# 64 / 128 / 256 (p50 0.23 / 0.38 / 0.57 ms); 256 keeps a margin over the 0.95 floor.
HNSW_EF_SEARCH = 256
HNSW_EF_CONSTRUCTION = 80
IVF_TRAIN_PER_LIST = 40  # k-means sample per list (faiss warns below 39)
RECALL_TARGET = 0.95
NPROBES = (8, 16, 32, 64, 128, 256, 512)
TUNING_QUERIES = 200
EXACT_BELOW = 20_000  # a filtered IVF search over at most this many rows scores each of them


class VectorIndex:
    def __init__(self, index, kind: str, tuning: dict | None = None):
        self.index = index
        self.kind = kind
        self.tuning = tuning or {}  # IVF_SQ8: nlist, nprobe and the recall@10 measured for it
        self.mapped = False  # inverted lists memory-mapped from the file (read-only)

    @classmethod
    def empty(cls, dimension: int, kind: str = FLAT) -> "VectorIndex":
        import faiss

        if kind == HNSW:
            inner = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            inner.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            inner = faiss.IndexFlatIP(dimension)
        return cls(faiss.IndexIDMap2(inner), kind)

    @property
    def dimension(self) -> int:
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @classmethod
    def compressed(cls, ids: np.ndarray, vectors: np.ndarray, seed: int = 0) -> "VectorIndex":
        """An IVF_SQ8 index of `vectors`: trained on a sample of them, nprobe tuned on them."""
        n = len(vectors)
        rng = np.random.default_rng(seed)
        sample = vectors[np.sort(rng.choice(n, ivf_sample_size(n), replace=False))]
        made = cls.trained_ivf(sample, n)
        made.add(ids, vectors)
        queries = vectors[rng.choice(n, min(TUNING_QUERIES, n), replace=False)]
        made.tune(queries, [(np.asarray(ids, dtype="int64"), vectors)])
        return made

    @classmethod
    def trained_ivf(cls, sample: np.ndarray, total: int) -> "VectorIndex":
        """An empty IVF_SQ8 index sized for `total` vectors, trained on `sample` (a uniform
        sample of ivf_sample_size(total) of them): vectors are then added in any number of
        batches, so a corpus larger than memory streams through (bench/reader_memory.py)."""
        import faiss

        from .embedder import bulk_threads

        _faiss_threads(bulk_threads())
        nlist = ivf_lists(total)
        index = faiss.index_factory(sample.shape[1], f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
        index.train(np.ascontiguousarray(sample, dtype="float32"))
        # Look-up and removal by chunk id (reconstruct, remove_ids) need the id -> slot map.
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        return cls(index, IVF_SQ8, {"nlist": nlist})

    def tune(self, queries: np.ndarray, blocks) -> None:
        """The smallest nprobe whose top 10 shares >= RECALL_TARGET with exact search, for
        `queries` drawn from the index's own vectors; `blocks` yields every (ids, vectors) the
        index holds, in as many parts as memory asks (exact top 10 by numpy, 100,000 at a time)."""
        queries = np.ascontiguousarray(queries, dtype="float32")
        k = min(10, len(self))
        scores = np.full((len(queries), k), -np.inf, dtype="float32")
        best = np.full((len(queries), k), -1, dtype="int64")
        for ids, vectors in blocks:
            for begin in range(0, len(vectors), 100_000):
                block = queries @ np.asarray(vectors[begin:begin + 100_000], dtype="float32").T
                both = np.concatenate([scores, block], axis=1)
                found = np.concatenate([best, np.broadcast_to(ids[begin:begin + block.shape[1]], block.shape)],
                                       axis=1)
                top = np.argsort(-both, axis=1, kind="stable")[:, :k]
                scores, best = np.take_along_axis(both, top, 1), np.take_along_axis(found, top, 1)
        exact = [set(row) for row in best.tolist()]
        for nprobe in NPROBES:
            self.index.nprobe = nprobe
            _, found = self.index.search(queries, k)
            recall = float(np.mean([len(set(f) & e) / k for f, e in zip(found.tolist(), exact)]))
            if recall >= RECALL_TARGET or nprobe >= self.tuning["nlist"]:
                break
        self.tuning.update(nprobe=nprobe, recall_at_10=round(recall, 4), tuning_queries=len(queries))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            if self.kind == HNSW:
                from .embedder import bulk_threads

                _faiss_threads(bulk_threads())  # building the graph is bulk work
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype="float32"),
                                    np.ascontiguousarray(ids, dtype="int64"))

    def remove(self, ids: np.ndarray) -> None:
        if not len(ids):
            return
        import faiss

        if self.kind == HNSW:
            # HNSW cannot delete nodes: rebuild from the vectors that stay.
            keep_ids, keep_vectors = self.all_vectors(exclude=set(int(i) for i in ids))
            fresh = VectorIndex.empty(self.dimension, HNSW)
            fresh.add(keep_ids, keep_vectors)
            self.index = fresh.index
            return
        ids = np.ascontiguousarray(ids, dtype="int64")
        if self.kind == IVF_SQ8:  # its id -> slot hashtable removes by an explicit array only
            self.index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids)))
            return
        self.index.remove_ids(faiss.IDSelectorBatch(ids))

    def all_vectors(self, exclude: set[int] = frozenset()) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector); an IVF_SQ8 index gives its codes decoded (cosine ~0.999)."""
        all_ids = self.ids()
        keep = np.array([i not in exclude for i in all_ids.tolist()], dtype=bool)
        vectors = np.vstack([self.index.reconstruct(int(i)) for i in all_ids[keep].tolist()]) if keep.any() \
            else np.zeros((0, self.dimension), dtype="float32")
        return all_ids[keep], vectors

    def ids(self) -> np.ndarray:
        import faiss

        if self.kind == IVF_SQ8:  # the ids stored in the inverted lists
            lists = self.index.invlists
            parts = [faiss.rev_swig_ptr(lists.get_ids(n), lists.list_size(n)).copy()
                     for n in range(lists.nlist) if lists.list_size(n)]
            return np.concatenate(parts).astype("int64") if parts else np.zeros(0, dtype="int64")
        return faiss.vector_to_array(self.index.id_map).astype("int64")

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None):
        """Top-k (scores, ids) for one query vector; `allowed` restricts to those chunk ids."""
        import faiss

        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, dtype="float32"), np.zeros(0, dtype="int64")
        _faiss_threads(1)
        params = None
        if allowed is not None:
            if not len(allowed):
                return np.zeros(0, dtype="float32"), np.zeros(0, dtype="int64")
            if self.kind == IVF_SQ8 and len(allowed) <= EXACT_BELOW:
                # A few articles' chunks sit in lists nprobe may not visit: score them all.
                ids = np.asarray(allowed, dtype="int64")
                scores = np.vstack([self.index.reconstruct(int(i)) for i in ids.tolist()]) @ query.astype("float32")
                top = np.argsort(-scores, kind="stable")[:k]
                return scores[top].astype("float32"), ids[top]
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype="int64"))
            if self.kind == HNSW:
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
            elif self.kind == IVF_SQ8:  # fewer rows allowed: more lists to find k of them
                wider = self.index.nprobe * int(np.ceil(len(self) / len(allowed)))
                params = faiss.SearchParametersIVF(sel=selector, nprobe=min(self.index.nlist, wider))
            else:
                params = faiss.SearchParameters(sel=selector)
        scores, ids = self.index.search(np.ascontiguousarray(query.reshape(1, -1), dtype="float32"), k,
                                        params=params)
        found = ids[0] >= 0
        return scores[0][found], ids[0][found]

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str, tuning: dict | None = None, mapped: bool = False) -> "VectorIndex":
        """`tuning`: the manifest's record for IVF_SQ8 (the nprobe chosen when it was made).
        `mapped` (for readers: the index is then read-only): an IVF_SQ8 index's inverted lists
        are memory-mapped, not read, so its codes (384 bytes a vector: 1.9 GB at 5M chunks) stay
        in the page cache and a search reads only the lists it probes (bench/reader_memory.py:
        at 1M chunks the open took 0.05 s instead of 0.6 and 45 MB instead of 420; one
        search 0.8 ms instead of 0.2 while its lists are first read)."""
        import faiss

        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mapped and kind == IVF_SQ8 else 0
        index = faiss.read_index(str(path), flags)
        if kind == HNSW:
            faiss.downcast_index(index.index).hnsw.efSearch = HNSW_EF_SEARCH
        elif kind == IVF_SQ8:  # read_index returns the IVF itself (a downcast copy would not own it)
            index.nprobe = int((tuning or {}).get("nprobe", NPROBES[2]))
        made = cls(index, kind, tuning)
        made.mapped = bool(flags)
        return made


def ivf_lists(total: int) -> int:
    """Inverted lists for an IVF index of `total` vectors: 4 sqrt(n), each trained on
    IVF_TRAIN_PER_LIST sample vectors at least."""
    return max(1, min(int(4 * np.sqrt(total)), total // IVF_TRAIN_PER_LIST))


def ivf_sample_size(total: int) -> int:
    return min(total, ivf_lists(total) * IVF_TRAIN_PER_LIST)


def _faiss_threads(n: int) -> None:
    """One OpenMP thread per query: on two shared cores a single exact query on two threads
    waits for the second core (100k vectors: 20-22 ms p50 on two threads, 6 ms on one,
    bench/scale.py). Concurrent requests already use the cores in parallel."""
    import faiss

    if faiss.omp_get_max_threads() != n:
        faiss.omp_set_num_threads(n)
