"""Load test of the web app on loopback: N simulated users ask questions through the app's
`/ask` API (gradio_client) for a fixed time, optionally while the index is rebuilt.

    python bench/load.py --users 20 --seconds 60 [--rebuild-during] [--out bench/results/load.json]

Starts its own `qa serve` on a free 127.0.0.1 port over a copy of the seed index; sends
traffic only there; stops by itself. Reports requests answered, errors, p50/p95 latency.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import ROOT, running_server  # noqa: E402

QUESTIONS = [json.loads(line)["question"] for line in
             (ROOT / "tests" / "data" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]


def simulate(url: str, users: int, seconds: float, seed: int = 0) -> dict:
    from gradio_client import Client

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def user(n: int) -> None:
        rng = random.Random(seed + n)
        client = Client(url, verbose=False)
        while time.monotonic() < stop_at:
            question = rng.choice(QUESTIONS)
            started = time.perf_counter()
            try:
                result = client.predict(question, [], 5, "hybrid", None, api_name="/ask")
                if not isinstance(result, dict) or "text" not in result:
                    raise ValueError(f"unexpected reply {str(result)[:80]}")
                with lock:
                    latencies.append(time.perf_counter() - started)
            except Exception as exc:  # every failure counts as an error
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 300)
    ordered = sorted(latencies)
    pct = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
    return {"users": users, "seconds": seconds, "answered": len(latencies), "errors": len(errors),
            "error_samples": errors[:5], "p50_s": pct(0.50), "p95_s": pct(0.95),
            "mean_s": statistics.fmean(latencies) if latencies else float("nan"),
            "throughput_per_s": len(latencies) / seconds}


def run(users: int, seconds: float, rebuild_during: bool, work: Path) -> dict:
    source, index = work / "articles", work / "index"
    shutil.copytree(ROOT / "seeds", source)
    subprocess.run([sys.executable, "-m", "qa.cli", "build", str(source), "--index", str(index)], cwd=ROOT,
                   check=True, capture_output=True)
    with running_server(index, source, work / "serve.log") as url:
        rebuilds: list[float] = []
        builder = None
        if rebuild_during:
            def rebuild_loop():
                stop_at = time.monotonic() + seconds
                while time.monotonic() < stop_at:
                    started = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "qa.cli", "build", str(source), "--index", str(index),
                                    "--rebuild"], cwd=ROOT, check=True, capture_output=True)
                    rebuilds.append(time.perf_counter() - started)
            builder = threading.Thread(target=rebuild_loop)
            builder.start()
        result = simulate(url, users, seconds)
        if builder:
            builder.join()
        result["rebuilds_completed"] = len(rebuilds)
        return result


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--rebuild-during", action="store_true", help="rebuild the index while users ask")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.users, args.seconds, args.rebuild_during, Path(tmp))
    result["rebuild_during"] = args.rebuild_during
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
