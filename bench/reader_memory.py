"""What an open index costs as the corpus grows: open time, resident memory, hybrid and dense
search latency, on synthetic indexes of N chunks (storage-scale benchmark: vectors are random
unit vectors and text random words from a news vocabulary, written through qa's own storage
code; this measures storage and search, not quality. Queries are embedded by the real model).

    python bench/reader_memory.py --work /tmp/reader-mem [--chunks 100000 300000]
                                  [--code PATH] [--label after] [--out bench/results/reader_memory.json]

--code runs the measurement with the qa package at PATH (a worktree of another commit), so
before and after are measured on the same indexes in the same run. Each measurement is a
fresh process: RSS is the process's own (VmRSS after opening, and its peak after the searches).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from synthetic_index import KINDS, make_index  # noqa: E402

QUERIES = ["What has Egypt co-produced with Türkiye?", "joint naval exercise in the Mediterranean",
           "defence minister visit Cairo drones", "Pakistan air force training agreement",
           "Russian helicopters delivered to Egypt", "military industry cooperation memorandum"]


def measure(index: Path) -> dict:
    """In this (fresh) process: open, then searches; RSS from /proc/self/status."""
    import qa

    try:
        from qa import verified
    except ImportError:  # a tree from before qa/verified.py: every open hashes every file
        verified = None
    time.sleep(2.0)  # files just written are hashed but not recorded (qa/verified.RACY_SECONDS)
    before, anon_before = _status("VmRSS"), _status("RssAnon")
    started = time.perf_counter()
    first = qa.load_index(index)  # the first open of this generation hashes every file
    first_open_s = time.perf_counter() - started
    del first
    gc.collect()  # the first Index sits in reference cycles (its caches): free it as a new process would have
    if verified is not None:
        verified._memory.clear()  # the next open as a new process would: the cache file only
    started = time.perf_counter()
    opened = qa.load_index(index)
    open_s = time.perf_counter() - started
    opened_rss, opened_anon = _status("VmRSS"), _status("RssAnon")
    opened.search(QUERIES[0], k=5)  # the model loads once: not part of a search's latency
    times: dict[str, list[float]] = {"hybrid": [], "dense": [], "hybrid_filtered": []}
    for round_ in range(5):
        for q in QUERIES:
            for mode, where in (("hybrid", None), ("dense", None), ("hybrid_filtered", {"date_from": "2020-01-01"})):
                t = time.perf_counter()
                opened.search(q, k=5, mode="dense" if mode == "dense" else "hybrid", where=where)
                times[mode].append((time.perf_counter() - t) * 1000)
    out = {"qa": str(Path(qa.__file__).parent), "first_open_s": round(first_open_s, 3), "open_s": round(open_s, 3), "rss_open_mb": round((opened_rss - before) / 1024, 1),
           "rss_process_mb": round(_status("VmRSS") / 1024, 1), "peak_rss_mb": round(_status("VmHWM") / 1024, 1),
           # of the process's RSS at the end: its own memory, and pages of mapped files (BM25's
           # matrix, IVF lists) the kernel can drop and read again
           "rss_anon_mb": round(_status("RssAnon") / 1024, 1), "rss_file_mb": round(_status("RssFile") / 1024, 1),
           "opened_anon_mb": round((opened_anon - anon_before) / 1024, 1)}
    for mode, values in times.items():
        out[f"{mode}_p50_ms"] = round(float(np.percentile(values, 50)), 2)
        out[f"{mode}_p95_ms"] = round(float(np.percentile(values, 95)), 2)
    return out


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])  # kB
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--chunks", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--code", type=Path, default=ROOT, help="qa source tree to measure (default: this one)")
    parser.add_argument("--label", default="this tree")
    parser.add_argument("--kind", choices=KINDS, default="flat",
                        help="flat: exact vectors at every size; auto: as a build would store them; "
                             "ivf-sq8: compressed at every size")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "reader_memory.json")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--verified-cache", type=Path, help="QA_VERIFIED_CACHE for the measurements "
                        "(default: a file under --work, so runs do not share what they hashed)")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for n in args.chunks:
        index = args.work / f"synthetic-{n}-{args.kind}"
        make_index(index, n, args.kind)
        env = {**os.environ, "PYTHONPATH": str(args.code.resolve()), "HF_HUB_OFFLINE": "1",
               "QA_VERIFIED_CACHE": str(args.verified_cache or args.work / f"verified-{args.label}.json")}
        run = subprocess.run([sys.executable, __file__, "--work", str(args.work), "--child", str(index)],
                             capture_output=True, text=True, env=env, cwd=str(args.code))
        if run.returncode:
            sys.exit(run.stderr[-3000:])
        row = json.loads(run.stdout.strip().splitlines()[-1])
        row["vector_index"] = json.loads(next(index.glob("g*/manifest.json")).read_text()).get("vector_search") \
            or args.kind
        results.setdefault(args.label, {})[str(n)] = row
        print(f"{args.label} {n:,} chunks: {row}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
