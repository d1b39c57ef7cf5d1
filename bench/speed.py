"""Speed and memory: qa against LangChain's FAISS store and txtai, same model, same chunks.

One run, systems interleaved round by round (the machine is shared, so each figure is a
median over rounds and every comparison is a ratio taken within the run):

  build     each system in its own subprocess: wall time of the whole process, time of the
            build inside it (model load included for everyone), peak RSS (ru_maxrss),
            index size on disk. torch and sentence-transformers are imported before the
            clock starts, for every system (txtai imports them with itself). qa builds
            from the article files (read, clean, chunk, embed, BM25, SQLite); the peers
            get the exact chunk texts qa stored (store.sqlite, table chunks) and index
            those. Systems: qa as shipped (torch with bf16 autocast where the CPU has native
            bf16, else int8 ONNX), qa-fp32 (torch fp32, the peers' precision), qa-onnx
            (QA_EMBED_BACKEND=onnx-int8), LangChain FAISS + HuggingFaceEmbeddings, txtai
            Embeddings (hybrid=True, content=True: vectors + BM25 + SQLite, like qa).
  search    in one process, query by query, interleaved across systems: p50/p95 of a
            dense search (k=5) and of a hybrid search (qa, txtai; LangChain has none).
            The peers run at torch's default thread count, as in their own process;
            qa at its own policy (one thread per query).
  answer    qa.ask p50/p95 on the same questions.
  update    adding one article to the full index, in-process (model loaded) and as a
            `qa build` process, against a full build.
  cli       `qa --help` and a cold `qa ask` as processes.
  quality   R@1/R@5 of qa's dense and hybrid search with the qa, qa-fp32 and qa-onnx
            indexes, each queried with its own precision/backend, on the sampled questions
            (bench/retrieval.py measures all questions).

Run:  python bench/speed.py [--data DIR] [--limit N] [--rounds 3] [--queries 300]
                            [--out bench/results/speed.json]
Peers come from the `bench` extra: pip install -e '.[bench]'.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SYSTEMS = ["qa", "qa-fp32", "qa-onnx", "langchain", "txtai"]
QA_SYSTEMS = ("qa", "qa-fp32", "qa-onnx")
HERE = Path(__file__).resolve()


def model_path() -> str:
    from qa.embedder import resolve_model

    return resolve_model("all-MiniLM-L6-v2")


def chunk_texts(index_dir: Path) -> list[str]:
    import qa.storage as storage

    folder, _ = storage.read_manifest(index_dir, verify=False)
    with sqlite3.connect(folder / "store.sqlite") as conn:
        return [t for (t,) in conn.execute("SELECT text FROM chunks ORDER BY chunk_id")]


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


# -- children: one build per process ---------------------------------------------------------
def child_build(system: str, work: Path, target: Path) -> dict:
    """Runs inside a fresh process. Imports are outside the timed part, model load inside."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import sentence_transformers  # noqa: F401  (import costs are not build costs, for anyone)
    import torch  # noqa: F401

    if system in QA_SYSTEMS:
        import qa

        started = time.perf_counter()
        report = qa.build_index(work / "articles", target, rebuild=True)
        seconds, passages = time.perf_counter() - started, report.chunks
    elif system == "langchain":
        from langchain_community.vectorstores import FAISS
        from langchain_huggingface import HuggingFaceEmbeddings

        texts = json.loads((work / "chunks.json").read_text())
        started = time.perf_counter()
        embeddings = HuggingFaceEmbeddings(model_name=model_path(), encode_kwargs={"normalize_embeddings": True})
        store = FAISS.from_texts(texts, embeddings)
        store.save_local(str(target))
        seconds, passages = time.perf_counter() - started, len(texts)
    elif system == "txtai":
        from txtai import Embeddings

        texts = json.loads((work / "chunks.json").read_text())
        started = time.perf_counter()
        embeddings = Embeddings(path=model_path(), content=True, hybrid=True)
        embeddings.index((i, t, None) for i, t in enumerate(texts))
        embeddings.save(str(target))
        seconds, passages = time.perf_counter() - started, len(texts)
    else:
        raise SystemExit(f"unknown system {system}")
    return {"build_s": seconds, "passages": passages, "passages_per_s": passages / seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "disk_mb": folder_bytes(target) / 2**20}


def child_quality(index_dir: Path, questions: list[dict]) -> dict:
    """Dense and hybrid R@1/R@5 with whatever QA_EMBED_BACKEND / QA_EMBED_PRECISION this process has."""
    import qa

    index = qa.load_index(index_dir)
    vectors = index.embedder().queries([q["text"] for q in questions])
    out = {}
    for mode in ("dense", "hybrid"):
        ranks = []
        for q, v in zip(questions, vectors):
            docs = common.doc_ranking(index.search_with_duplicates(q["text"], k=10, mode=mode, query_vector=v)[0])
            ranks.append(docs.index(q["gold"]) + 1 if q["gold"] in docs else 99)
        r = np.array(ranks)
        out[mode] = {"recall@1": float((r <= 1).mean()), "recall@5": float((r <= 5).mean())}
    return out


def spawn(args: list[str], env: dict | None = None) -> tuple[dict, float]:
    """Run this script as a child; (its JSON answer, wall seconds of the whole process)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def env_for(system: str) -> dict:
    """qa as shipped (the backend and precision it picks for this CPU), torch fp32 (the peers'
    precision) and int8 ONNX whatever the CPU."""
    return {"qa": {"QA_EMBED_BACKEND": "auto", "QA_EMBED_PRECISION": "auto"},
            "qa-fp32": {"QA_EMBED_BACKEND": "torch", "QA_EMBED_PRECISION": "fp32"},
            "qa-onnx": {"QA_EMBED_BACKEND": "onnx-int8", "QA_EMBED_PRECISION": "auto"}}.get(system, {})


# -- the parent ------------------------------------------------------------------------------
def available(system: str) -> bool:
    import importlib.util

    names = {"langchain": ["langchain_community", "langchain_huggingface"], "txtai": ["txtai"],
             "qa-onnx": ["onnxruntime", "onnx"], "qa": [], "qa-fp32": []}[system]
    return all(importlib.util.find_spec(n) for n in names)


def versions() -> dict:
    import importlib.metadata as md

    out = {}
    for name in ["qa", "sentence-transformers", "torch", "faiss-cpu", "bm25s", "langchain-community",
                 "langchain-huggingface", "langchain-core", "txtai", "onnxruntime", "onnx"]:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def percentiles(seconds: list[float]) -> dict:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "n": len(ms)} if len(ms) else {}


def builds(work: Path, systems: list[str], rounds: int, log) -> dict:
    runs: dict[str, list[dict]] = {s: [] for s in systems}
    for r in range(rounds):
        for system in systems:
            target = work / f"built-{system}"
            shutil.rmtree(target, ignore_errors=True)
            answer, wall = spawn(["--child-build", system, "--work", str(work), "--target", str(target)],
                                 env_for(system))
            answer["process_s"] = wall
            runs[system].append(answer)
            log(f"round {r + 1} {system:10s} {answer['passages_per_s']:7.1f} passages/s "
                f"build {answer['build_s']:.1f}s process {wall:.1f}s rss {answer['peak_rss_mb']:.0f} MB "
                f"disk {answer['disk_mb']:.1f} MB")
            if system == "qa" and not (work / "chunks.json").exists():
                (work / "chunks.json").write_text(json.dumps(chunk_texts(target), ensure_ascii=False))
    summary = {}
    for system, rows in runs.items():
        summary[system] = {key: round(statistics.median(r[key] for r in rows), 3)
                           for key in ("build_s", "process_s", "passages_per_s", "peak_rss_mb", "disk_mb")}
        summary[system]["passages"] = rows[0]["passages"]
        summary[system]["rounds"] = [{k: round(v, 3) for k, v in r.items()} for r in rows]
    return summary


def searches(work: Path, systems: list[str], questions: list[str], log, index: Path | None = None) -> dict:
    """Interleaved single-query latency; each system encodes its own query."""
    import torch

    import qa
    from qa.answer import ask

    os.environ["HF_HUB_OFFLINE"] = "1"
    peer_threads = torch.get_num_threads()  # torch's default here: what a peer gets in its own process
    ours = qa.load_index(index or work / "built-qa")
    ours.embedder()

    def as_peer(call):
        def run(q):
            torch.set_num_threads(peer_threads)  # qa's calls set their own; a peer never does
            return call(q)
        return run

    calls = {"qa dense": lambda q: ours.search(q, k=5, mode="dense"),
             "qa hybrid": lambda q: ours.search(q, k=5, mode="hybrid"),
             "qa lexical": lambda q: ours.search(q, k=5, mode="lexical"),
             "qa answer": lambda q: ask(q, ours)}
    if "langchain" in systems:
        from langchain_community.vectorstores import FAISS
        from langchain_huggingface import HuggingFaceEmbeddings

        lc = FAISS.load_local(str(work / "built-langchain"), HuggingFaceEmbeddings(
            model_name=model_path(), encode_kwargs={"normalize_embeddings": True}),
            allow_dangerous_deserialization=True)  # our own file, written by this run
        calls["langchain dense"] = as_peer(lambda q: lc.similarity_search(q, k=5))
    if "txtai" in systems:
        from txtai import Embeddings

        tx = Embeddings()
        tx.load(str(work / "built-txtai"))
        tx_dense = Embeddings()  # the same index without its BM25 part: txtai's dense path
        tx_dense.load(str(work / "built-txtai"))
        tx_dense.scoring.close()
        tx_dense.scoring = None
        tx_dense.config.pop("scoring")
        tx_dense.config["hybrid"] = False
        calls["txtai dense"] = as_peer(lambda q: tx_dense.search(q, 5))
        calls["txtai hybrid"] = as_peer(lambda q: tx.search(q, 5))
    for call in calls.values():  # warm-up: first-call costs are not per-query latency
        call(questions[0])
    times: dict[str, list[float]] = {name: [] for name in calls}
    for q in questions:
        for name, call in calls.items():
            started = time.perf_counter()
            call(q)
            times[name].append(time.perf_counter() - started)
    out = {name: percentiles(t) for name, t in times.items()}
    for name, row in out.items():
        log(f"{name:16s} p50 {row['p50_ms']:8.2f} ms  p95 {row['p95_ms']:8.2f} ms")
    return out


def update_cost(work: Path, data: Path, rounds: int, log, full: Path | None = None) -> dict:
    """One new article into an index: in-process (model loaded) and as `qa build`. The index
    is this run's (`work`), or with `full` a folder holding articles/ and index/ (the whole
    SQuAD dev index that bench/retrieval.py --work leaves)."""
    import qa

    base = full or work
    articles, built = base / "articles", (base / "index" if full else work / "built-qa")

    extra = common.load_tasks(data, ["xquad-en"], 1)[0]
    text = "Update. " + next(iter(extra.paragraphs.values()))  # new content, not a duplicate
    inproc, process = [], []
    qa_bin = shutil.which("qa") or str(Path(sys.executable).with_name("qa"))
    for r in range(rounds):
        for how in ("in-process", "process"):
            src, idx = work / "update-src", work / "update-index"
            for p in (src, idx):
                shutil.rmtree(p, ignore_errors=True)
            shutil.copytree(articles, src)
            shutil.copytree(built, idx)
            (src / f"zz-new-{r}.txt").write_text(text + "\n", encoding="utf-8")
            started = time.perf_counter()
            if how == "in-process":
                report = qa.build_index(src, idx)
                assert report.added == [f"zz-new-{r}.txt"], report
                inproc.append(time.perf_counter() - started)
            else:
                subprocess.run([qa_bin, "build", str(src), "--index", str(idx)], check=True,
                               capture_output=True, env={**os.environ, **env_for("qa")})
                process.append(time.perf_counter() - started)
    out = {"in_process_s": round(statistics.median(inproc), 3), "process_s": round(statistics.median(process), 3),
           "articles": len(list(articles.iterdir())), "chunks": len(qa.load_index(built))}
    log(f"add 1 article to {out['articles']} ({out['chunks']} chunks): in-process {out['in_process_s']}s, "
        f"process {out['process_s']}s")
    return out


def cli_times(work: Path, question: str, rounds: int, log) -> dict:
    qa_bin = shutil.which("qa") or str(Path(sys.executable).with_name("qa"))
    out = {}
    for name, args in (("qa --help", [qa_bin, "--help"]),
                       ("cold qa ask", [qa_bin, "ask", question, "--index", str(work / "built-qa")])):
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True, env={**os.environ, **env_for("qa")})
            times.append(time.perf_counter() - started)
        out[name] = {"median_s": round(statistics.median(times), 3), "runs": [round(t, 3) for t in times]}
        log(f"{name}: {out[name]['median_s']}s")
    return out


def ratios(report: dict) -> dict:
    """qa / peer, per figure; below 1 means qa is faster or smaller (throughput: above 1)."""
    b, s = report["build"], report["search"]
    out = {}
    for mine in QA_SYSTEMS:
        for peer in ("langchain", "txtai"):
            if mine in b and peer in b:
                out[f"{mine}/{peer} build passages/s"] = round(b[mine]["passages_per_s"] / b[peer]["passages_per_s"], 2)
                out[f"{mine}/{peer} build process time"] = round(b[mine]["process_s"] / b[peer]["process_s"], 2)
                out[f"{mine}/{peer} peak RSS"] = round(b[mine]["peak_rss_mb"] / b[peer]["peak_rss_mb"], 2)
                out[f"{mine}/{peer} disk"] = round(b[mine]["disk_mb"] / b[peer]["disk_mb"], 2)
    for peer in ("langchain", "txtai"):
        for kind in ("dense", "hybrid"):
            if f"{peer} {kind}" in s:
                for p in ("p50_ms", "p95_ms"):
                    out[f"qa/{peer} {kind} search {p[:3]}"] = round(s[f"qa {kind}"][p] / s[f"{peer} {kind}"][p], 2)
    return out


def run(data: Path, work: Path, limit: int | None, rounds: int, n_queries: int, systems: list[str],
        full: Path | None = None, log=print, task_name: str = "squad") -> dict:
    task = common.load_tasks(data, [task_name], limit)[0]
    common.write_articles(task, work / "articles")
    skipped = {s: "not installed (pip install -e '.[bench]')" for s in systems if not available(s)}
    systems = [s for s in systems if s not in skipped]
    rng = np.random.default_rng(0)
    picked = rng.choice(len(task.questions), size=min(n_queries, len(task.questions)), replace=False)
    questions = [task.questions[i] for i in sorted(picked)]
    report = {"versions": versions(), "machine": common.machine(), "task": task.name, "articles": len(task.paragraphs),
              "rounds": rounds, "queries": len(questions), "skipped": skipped}
    log(f"cpu: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
        f"{' '.join(report['machine']['cpu_features']) or 'no AVX2'}; the libraries see: "
        f"{' '.join(report['machine']['features_seen'])}")
    for system in ("qa", "qa-onnx"):  # a one-off ONNX export is not part of a build
        if system in systems:
            subprocess.run([sys.executable, "-c", "import qa.embedder as e; e.get_embedder('all-MiniLM-L6-v2')"],
                           check=True, capture_output=True, env={**os.environ, **env_for(system)})
    report["build"] = builds(work, systems, rounds, log)
    report["search"] = searches(work, systems, [q.text for q in questions], log)
    up = report["update"] = update_cost(work, data, rounds, log, full)
    qa_build = report["build"]["qa"]
    if up["chunks"] == qa_build["passages"]:  # the index this run built: measured full build
        up["full_build_in_process_s"], up["full_build_process_s"] = qa_build["build_s"], qa_build["process_s"]
        up["full_build"] = "measured"
    else:  # a bigger index: its full build at this run's throughput, plus the fixed costs
        fixed = qa_build["process_s"] - qa_build["passages"] / qa_build["passages_per_s"]
        up["full_build_in_process_s"] = round(up["chunks"] / qa_build["passages_per_s"], 3)
        up["full_build_process_s"] = round(up["full_build_in_process_s"] + fixed, 3)
        up["full_build"] = "extrapolated from this run's build throughput"
    up["share_in_process"] = round(up["in_process_s"] / up["full_build_in_process_s"], 4)
    up["share_process"] = round(up["process_s"] / up["full_build_process_s"], 4)
    report["cli"] = cli_times(work, questions[0].text, rounds, log)
    sample = [{"text": q.text, "gold": q.gold} for q in questions]
    (work / "sample.json").write_text(json.dumps(sample))
    report["quality"] = {s: spawn(["--child-quality", str(work / f"built-{s}"), "--work", str(work)],
                                  env_for(s))[0] for s in QA_SYSTEMS if s in systems}
    log(f"quality: {report['quality']}")
    report["ratios"] = ratios(report)
    return report


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    p.add_argument("--task", default="squad", choices=["squad", "xquad-en", "xquad-ar", "arcd-test"],
                   help="the corpus built (default squad; xquad-ar builds qa's multilingual vectors too)")
    p.add_argument("--limit", type=int, help="only the first N paragraphs (default: all; SQuAD dev has 2,067)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--systems", nargs="+", default=SYSTEMS, choices=SYSTEMS)
    p.add_argument("--work", type=Path, help="keep the built indexes here (default: temporary)")
    p.add_argument("--full", type=Path, help="measure adding one article on this folder's articles/ + index/ "
                   "(e.g. the squad folder bench/retrieval.py --work leaves) instead of this run's index")
    p.add_argument("--out", type=Path, default=common.RESULTS / "speed.json")
    p.add_argument("--latency-only", action="store_true",
                   help="only qa's search and answer latency, on the index in --full (no builds, no peers)")
    p.add_argument("--child-build", help=argparse.SUPPRESS)
    p.add_argument("--child-quality", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--target", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_build:
        print(json.dumps(child_build(args.child_build, args.work, args.target)))
        return {}
    if args.child_quality:
        print(json.dumps(child_quality(args.child_quality, json.loads((args.work / "sample.json").read_text()))))
        return {}
    started = time.perf_counter()
    if args.latency_only:
        if not args.full:
            raise SystemExit("--latency-only needs --full FOLDER (with articles/ and index/)")
        task = common.load_tasks(args.data, ["squad"], args.limit)[0]
        picked = np.random.default_rng(0).choice(len(task.questions), size=min(args.queries, len(task.questions)),
                                                 replace=False)
        report = {"machine": common.machine(), "index": str(args.full / "index"), "queries": len(picked),
                  "search": searches(args.full, [], [task.questions[i].text for i in sorted(picked)], print,
                                     index=args.full / "index")}
        report["total_s"] = round(time.perf_counter() - started, 1)
        common.write_json(args.out, report)
        print(f"wrote {args.out}")
        return report
    return common.run_and_save(
        lambda work: run(args.data, work, args.limit, args.rounds, args.queries, args.systems, args.full,
                         task_name=args.task),
        args.work, args.out, started, prefix="qa-speed-")


if __name__ == "__main__":
    main()
