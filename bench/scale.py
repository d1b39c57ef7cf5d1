"""Exact versus approximate vector search at scale: when should the index leave IndexFlatIP?

The question answered: above how many vectors does exact inner-product search
(faiss.IndexFlatIP, what qa/vectors.py uses by default) become too slow for one
interactive query, and does HNSW (or IVF) then keep recall high enough?

For each vector count N and each data distribution this script builds
  * IndexFlatIP                          exact; its answers are the ground truth,
  * IndexHNSWFlat, M=32, efConstruction=80, searched at efSearch 64/128/256,
  * IndexIVFFlat, nlist ~ 4*sqrt(N), searched at nprobe 8/32 (skip with --indexes),
and measures, per index and search setting:
  * build_s             wall time to train (IVF) and add all N vectors,
  * rss_growth_mb       resident memory the process still holds after the build,
  * peak_rss_growth_mb  highest resident memory during the build (training buffers etc.),
  * serialized_mb       faiss.serialize_index size: what lands on disk and is read at load,
  * p50_ms / p95_ms     latency of single-query searches, k=10, one query per call:
                        the project answers one question at a time, so batch throughput
                        would flatter every index,
  * cpu_p50_ms          CPU time of the searching thread per query: separates waiting for
                        a shared core (wall >> CPU) from a slow search (flat search is
                        bound by memory bandwidth, which counts as CPU time),
  * recall_at_10        |approximate top-10 ∩ exact top-10| / 10, averaged over queries.

Data is synthetic, 384-dimensional (all-MiniLM-L6-v2's size), L2-normalised, seeded:
  * "clustered": a Gaussian mixture of 1000 centres. Each point is its centre plus noise
    that lies mostly in a 32-dimensional subspace of its own cluster, plus a little
    isotropic noise. Sentence embeddings have topics (clusters) and a local intrinsic
    dimension in the tens, not the hundreds; this is the embedding-like case. Its
    random centres are almost orthogonal, so topics are better separated than in real
    text: read its recall as optimistic (IVF benefits most from that separation).
  * "uniform": uniform random unit vectors. No structure at all, which makes every
    neighbour nearly as far as every other: the worst case for any ANN index, reported
    as a lower bound, not as what real text looks like.
Queries are held-out draws from the same distribution (never in the index).

Run:  python bench/scale.py [--sizes 100000 1000000] [--queries 200]
                            [--out bench/results/scale.json] [--plot docs/img/scale.png]
It writes the JSON (rewritten after every data set, so a long run keeps partial
results), prints a markdown table and saves a p50-vs-recall plot.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np

DIM = 384
K = 10
SEED = 0
THREADS = 2
CLUSTERS = 1000
SUBSPACE_DIM = 32
SUBSPACE_NOISE = 1.0   # norm of the in-subspace offset, relative to the unit centre
ISOTROPIC_NOISE = 0.3  # norm of the full-dimensional residual
CHUNK = 100_000        # rows generated at a time: bounds temporaries at 1M vectors
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = (64, 128, 256)
IVF_NPROBE = (8, 32)
IVF_TRAIN_PER_LIST = 40  # faiss warns below 39 points per centroid; more only slows k-means
WARMUP_QUERIES = 5
DISTRIBUTIONS = ("clustered", "uniform")
INDEXES = ("flat", "hnsw", "ivf")
# Compressed codes (8-bit scalar quantisation: 384 bytes a vector instead of 1,536), for the
# reader whose memory must not grow by 1.5 KB a chunk (issue 13); run with --indexes.
COMPRESSED = ("ivf-sq8", "hnsw-sq8")
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- data

def _normalise(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def _uniform_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    # A normalised isotropic Gaussian is uniform on the sphere.
    return _normalise(rng.standard_normal((n, DIM), dtype=np.float32))


class _Mixture:
    """Cluster centres and per-cluster subspaces, drawn once so queries and base share them."""

    def __init__(self, rng: np.random.Generator):
        self.centres = _uniform_rows(rng, CLUSTERS)
        # Rows of a random Gaussian matrix in 384-d are close to orthogonal; scaling by
        # 1/sqrt(DIM*SUBSPACE_DIM) makes a standard-normal coefficient vector land at norm ~1.
        self.bases = rng.standard_normal((CLUSTERS, SUBSPACE_DIM, DIM), dtype=np.float32)
        self.bases /= math.sqrt(DIM * SUBSPACE_DIM)

    def rows(self, rng: np.random.Generator, n: int) -> np.ndarray:
        labels = rng.integers(0, CLUSTERS, n)
        coeff = rng.standard_normal((n, SUBSPACE_DIM), dtype=np.float32) * SUBSPACE_NOISE
        x = self.centres[labels]
        # Grouping by cluster turns n tiny products into one matrix product per cluster.
        order = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[order], np.arange(CLUSTERS + 1))
        for c in range(CLUSTERS):
            members = order[bounds[c]:bounds[c + 1]]
            if len(members):
                x[members] += coeff[members] @ self.bases[c]
        x += rng.standard_normal((n, DIM), dtype=np.float32) * (ISOTROPIC_NOISE / math.sqrt(DIM))
        return _normalise(x)


def make_dataset(distribution: str, size: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """(base, queries) float32 unit vectors; the same seed gives the same queries at every size."""
    blocks = iter_dataset(distribution, size, queries)
    query_rows = next(blocks)
    base = np.empty((size, DIM), dtype=np.float32)
    start = 0
    for block in blocks:
        base[start:start + len(block)] = block
        start += len(block)
    return base, query_rows


def iter_dataset(distribution: str, size: int, queries: int):
    """make_dataset's rows as a stream: first the queries, then the base in blocks of CHUNK
    rows, so a corpus larger than memory can be drawn (and drawn again: same seed, same rows)."""
    rng = np.random.default_rng(SEED)
    if distribution == "clustered":
        mixture = _Mixture(rng)
        draw = mixture.rows
    elif distribution == "uniform":
        draw = _uniform_rows
    else:
        raise ValueError(f"unknown distribution {distribution!r}")
    yield draw(rng, queries)
    for start in range(0, size, CHUNK):
        yield draw(rng, min(size, start + CHUNK) - start)


# ---------------------------------------------------------------- memory

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """Current resident set size; /proc gives the live value, ru_maxrss only the peak."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _release_free_heap() -> None:
    # Without this, memory freed by the previous index is reused by the next build and
    # its RSS growth reads too low; malloc_trim hands the free heap back (glibc only).
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class RssSampler:
    """Polls RSS in a thread during a build; faiss releases the GIL, so the thread gets to run."""

    def __init__(self, interval_s: float = 0.02):
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> "RssSampler":
        _release_free_heap()
        self.before = rss_bytes()
        self.peak = self.before
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.after = rss_bytes()
        self.peak = max(self.peak, self.after)


# ---------------------------------------------------------------- indexes

def ivf_nlist(size: int) -> int:
    # ~4*sqrt(N) lists, but never fewer training points per list than faiss wants.
    return max(1, min(int(round(4 * math.sqrt(size))), size // IVF_TRAIN_PER_LIST))


def new_index(kind: str, size: int):
    import faiss

    if kind == "flat":
        return faiss.IndexFlatIP(DIM), {}
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        return index, {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}
    if kind == "ivf":
        nlist = ivf_nlist(size)
        # The quantizer is owned by the Python wrapper; faiss keeps a reference via the index.
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
        return index, {"nlist": nlist}
    if kind == "ivf-sq8":
        nlist = ivf_nlist(size)
        return faiss.index_factory(DIM, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT), {"nlist": nlist}
    if kind == "hnsw-sq8":
        index = faiss.IndexHNSWSQ(DIM, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        return index, {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}
    raise ValueError(f"unknown index {kind!r}")


def build(kind: str, base: np.ndarray) -> tuple[object, dict, dict]:
    """(index, build params, build measurements)."""
    import faiss

    index, params = new_index(kind, len(base))
    with RssSampler() as mem:
        start = time.perf_counter()
        if not index.is_trained:
            # Rows are i.i.d., so a prefix is a random sample; capping it keeps k-means cheap.
            index.train(base[:params["nlist"] * IVF_TRAIN_PER_LIST] if "nlist" in params else base[:100_000])
        index.add(base)
        build_s = time.perf_counter() - start
    serialized = faiss.serialize_index(index).nbytes
    return index, params, {
        "build_s": round(build_s, 3),
        "rss_growth_mb": round((mem.after - mem.before) / 2**20, 1),
        "peak_rss_growth_mb": round((mem.peak - mem.before) / 2**20, 1),
        "serialized_mb": round(serialized / 2**20, 1),
    }


def search_settings(kind: str) -> list[dict]:
    if kind in ("hnsw", "hnsw-sq8"):
        return [{"efSearch": ef} for ef in HNSW_EF_SEARCH]
    if kind == "ivf":
        return [{"nprobe": p} for p in IVF_NPROBE]
    if kind == "ivf-sq8":
        return [{"nprobe": p} for p in IVF_NPROBE + (64,)]
    return [{}]


def apply_setting(index, setting: dict) -> None:
    if "efSearch" in setting:
        index.hnsw.efSearch = setting["efSearch"]
    if "nprobe" in setting:
        index.nprobe = setting["nprobe"]


# ---------------------------------------------------------------- measuring

def timed_search(index, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids [nq, K], wall ms [nq], CPU ms [nq]), one query per call as the app does.

    CPU time is kept beside wall time because the benchmark may share its cores: a wall
    time far above the CPU time means the run was waiting for a core, not searching.
    It is the calling thread's time: a single query runs on that thread, and process
    time would also count OpenMP workers spinning idle after the last parallel region.
    """
    for q in queries[:WARMUP_QUERIES]:
        index.search(q[None, :], K)  # first calls pay for page faults and thread start-up
    ids = np.empty((len(queries), K), dtype=np.int64)
    wall = np.empty(len(queries))
    cpu = np.empty(len(queries))
    for i, q in enumerate(queries):
        start, start_cpu = time.perf_counter(), time.thread_time()
        _, found = index.search(q[None, :], K)
        wall[i] = (time.perf_counter() - start) * 1000
        cpu[i] = (time.thread_time() - start_cpu) * 1000
        ids[i] = found[0]
    return ids, wall, cpu


def _ms(values: np.ndarray, percentile: int) -> float:
    return round(float(np.percentile(values, percentile)), 3)


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    # Set overlap, so equal-score neighbours listed in another order are not penalised.
    hits = sum(len(set(f[f >= 0]) & set(e)) for f, e in zip(found, exact))
    return hits / exact.size


def measure_index(kind: str, base: np.ndarray, queries: np.ndarray,
                  exact: np.ndarray | None) -> tuple[list[dict], np.ndarray]:
    """Rows for every search setting of one index; also returns the first setting's ids."""
    index, params, built = build(kind, base)
    rows, first_ids = [], None
    for setting in search_settings(kind):
        apply_setting(index, setting)
        ids, wall, cpu = timed_search(index, queries)
        first_ids = ids if first_ids is None else first_ids
        truth = ids if exact is None else exact
        rows.append({
            "index": kind, "params": {**params, **setting}, **built,
            "p50_ms": _ms(wall, 50), "p95_ms": _ms(wall, 95), "cpu_p50_ms": _ms(cpu, 50),
            "recall_at_10": round(recall_at_k(ids, truth), 4),
            "load_avg_1m": os.getloadavg()[0],
        })
    del index
    return rows, first_ids


def run_dataset(distribution: str, size: int, n_queries: int, indexes: list[str]) -> list[dict]:
    start = time.perf_counter()
    base, queries = make_dataset(distribution, size, n_queries)
    print(f"[{distribution} N={size}] data in {time.perf_counter() - start:.1f}s", flush=True)
    # Flat goes first: its single-query answers are the exact top-10 the others are scored on.
    rows, exact = measure_index("flat", base, queries, exact=None)
    for kind in indexes:
        if kind == "flat":
            continue
        t0 = time.perf_counter()
        more, _ = measure_index(kind, base, queries, exact)
        rows += more
        print(f"[{distribution} N={size}] {kind} done in {time.perf_counter() - t0:.1f}s", flush=True)
    for row in rows:
        row.update({"distribution": distribution, "size": size})
    return rows


# ---------------------------------------------------------------- reporting

def environment() -> dict:
    import faiss

    return {
        "faiss_version": faiss.__version__,
        "faiss_compile_options": faiss.get_compile_options(),
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "faiss_threads": THREADS,
    }


def settings_summary(args) -> dict:
    return {
        "dim": DIM, "k": K, "seed": SEED, "queries": args.queries, "sizes": args.sizes,
        "distributions": args.distributions, "indexes": args.indexes,
        "clustered": {"clusters": CLUSTERS, "subspace_dim": SUBSPACE_DIM,
                      "subspace_noise": SUBSPACE_NOISE, "isotropic_noise": ISOTROPIC_NOISE},
        "hnsw": {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": HNSW_EF_SEARCH},
        "ivf": {"nlist": "round(4*sqrt(N)), at most N/40", "nprobe": IVF_NPROBE,
                "train_points": "40 per list"},
    }


def write_json(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(path)  # a reader never sees a half-written file


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "-"


def markdown_table(rows: list[dict]) -> str:
    head = ("| data | N | index | params | build s | RSS growth MB | peak RSS MB | serialized MB "
            "| p50 ms | p95 ms | CPU p50 ms | recall@10 |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(f"| {r['distribution']} | {r['size']:,} | {r['index']} | {_params_text(r['params'])} "
                     f"| {r['build_s']:.1f} | {r['rss_growth_mb']:.0f} | {r['peak_rss_growth_mb']:.0f} "
                     f"| {r['serialized_mb']:.0f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['cpu_p50_ms']:.2f} "
                     f"| {r['recall_at_10']:.3f} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path, distributions: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server or in CI
    import matplotlib.pyplot as plt

    colours = {"flat": "black", "hnsw": "tab:blue", "ivf": "tab:orange"}
    sizes = sorted({r["size"] for r in rows})
    markers = dict(zip(sizes, "os^Dv*"))
    fig, axes = plt.subplots(1, len(distributions), figsize=(6 * len(distributions), 4.5),
                             squeeze=False, sharey=True)
    for ax, dist in zip(axes[0], distributions):
        for kind in colours:
            for size in sizes:
                pts = [r for r in rows if r["distribution"] == dist and r["index"] == kind
                       and r["size"] == size]
                if not pts:
                    continue
                ax.plot([p["recall_at_10"] for p in pts], [p["p50_ms"] for p in pts],
                        marker=markers[size], color=colours[kind], label=f"{kind} N={size:,}")
                for p in pts:
                    tag = p["params"].get("efSearch", p["params"].get("nprobe"))
                    if tag is not None:
                        ax.annotate(str(tag), (p["recall_at_10"], p["p50_ms"]), fontsize=7,
                                    textcoords="offset points", xytext=(4, 2))
        ax.axhline(50, color="red", linestyle=":", linewidth=1, label="50 ms budget")
        ax.axvline(0.95, color="grey", linestyle=":", linewidth=1, label="recall 0.95")
        ax.set_yscale("log")
        ax.set_title(f"{dist} ({'worst case' if dist == 'uniform' else 'embedding-like'})")
        ax.set_xlabel("recall@10 vs exact")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("single-query search p50 (ms, log)")
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.suptitle(f"FAISS on {THREADS} threads, d={DIM}, k={K}; labels: efSearch / nprobe")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------- entry point

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--distributions", nargs="+", choices=DISTRIBUTIONS, default=list(DISTRIBUTIONS))
    p.add_argument("--indexes", nargs="+", choices=INDEXES + COMPRESSED, default=list(INDEXES),
                   help="flat always runs: it is the ground truth")
    p.add_argument("--out", type=Path, default=ROOT / "bench/results/scale.json")
    p.add_argument("--plot", type=Path, default=ROOT / "docs/img/scale.png")
    args = p.parse_args(argv)
    if args.queries <= WARMUP_QUERIES:
        p.error(f"--queries must be more than {WARMUP_QUERIES}")
    return args


def main(argv: list[str] | None = None) -> dict:
    import faiss

    args = parse_args(argv)
    faiss.omp_set_num_threads(THREADS)
    started = time.perf_counter()
    report = {"settings": settings_summary(args), "environment": environment(), "results": []}
    for size in args.sizes:
        for dist in args.distributions:
            report["results"] += run_dataset(dist, size, args.queries, args.indexes)
            report["total_s"] = round(time.perf_counter() - started, 1)
            write_json(args.out, report)
    print(markdown_table(report["results"]))
    plot(report["results"], args.plot, args.distributions)
    print(f"\nwrote {args.out} and {args.plot} in {report['total_s']:.0f}s", flush=True)
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
