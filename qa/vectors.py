"""FAISS behind a small class: add / remove / search / save / load, vectors keyed by chunk id.

Exact inner-product search (vectors are normalised, so it is cosine) up to
Settings.approximate_above vectors, HNSW above it (chosen from bench/scale.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

FLAT, HNSW = "flat", "hnsw"
HNSW_M = 32  # links per node
# bench/scale.py, 1M clustered 384-d vectors: recall@10 0.903 / 0.954 / 0.984 at efSearch
# 64 / 128 / 256 (p50 0.23 / 0.38 / 0.57 ms); 256 keeps a margin over the 0.95 floor.
HNSW_EF_SEARCH = 256
HNSW_EF_CONSTRUCTION = 80


class VectorIndex:
    def __init__(self, index, kind: str):
        self.index = index
        self.kind = kind

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
        self.index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype="int64")))

    def all_vectors(self, exclude: set[int] = frozenset()) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        all_ids = faiss.vector_to_array(self.index.id_map).astype("int64")
        keep = np.array([i not in exclude for i in all_ids], dtype=bool)
        vectors = np.vstack([self.index.reconstruct(int(i)) for i in all_ids[keep]]) if keep.any() \
            else np.zeros((0, self.dimension), dtype="float32")
        return all_ids[keep], vectors

    def ids(self) -> np.ndarray:
        import faiss

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
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype="int64"))
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k)) \
                if self.kind == HNSW else faiss.SearchParameters(sel=selector)
        scores, ids = self.index.search(np.ascontiguousarray(query.reshape(1, -1), dtype="float32"), k,
                                        params=params)
        found = ids[0] >= 0
        return scores[0][found], ids[0][found]

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str) -> "VectorIndex":
        import faiss

        index = faiss.read_index(str(path))
        if kind == HNSW:
            faiss.downcast_index(index.index).hnsw.efSearch = HNSW_EF_SEARCH
        return cls(index, kind)


def _faiss_threads(n: int) -> None:
    """One OpenMP thread per query: on two shared cores a single exact query on two threads
    waits for the second core (100k vectors: 20-22 ms p50 on two threads, 6 ms on one,
    bench/scale.py). Concurrent requests already use the cores in parallel."""
    import faiss

    if faiss.omp_get_max_threads() != n:
        faiss.omp_set_num_threads(n)
