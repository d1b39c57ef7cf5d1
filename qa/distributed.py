"""Builds on a Ray cluster (`qa build --ray [ADDRESS]`, `pip install 'qa[ray]'`).

Reading, cleaning and chunking run as Ray tasks over groups of files (qa.reading, the code a
local build runs); embedding runs in Ray Data `map_batches` over a pool of actors, each
loading the model once. The builder (qa.build) stays the single writer: it numbers the
chunks, writes SQLite, FAISS and BM25 into a new generation exactly as a local build does,
and adds vectors shard by shard as they arrive, so it never holds all of them at once.

The source folder must be readable at the same path on every node (a shared or synced
folder), as with any local path Ray tasks read; qa and the model must be installed on every
node. Ray moves task arguments and results with its own serialisation inside the cluster;
nothing of it is persisted (the index is SQLite, FAISS and JSON as always).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .errors import SettingsError

INSTALL_HINT = "qa build --ray needs Ray: pip install 'qa[ray]' (or pip install 'ray[data]')"
FILES_PER_TASK = 16  # a task's overhead (~ms) is small against reading and chunking 16 articles
TASKS_IN_FLIGHT_PER_CPU = 2  # bounds what waits in the object store for the single writer
EMBED_BATCH = 256  # texts per actor call and per shard the builder adds (as EMBED_SLICE locally)
# Environment the workers need to load the same model the same way (offline hub, qa settings).
_PASSED_ENV = ("QA_", "HF_", "TRANSFORMERS_", "SENTENCE_TRANSFORMERS_")


def require_ray():
    try:
        import ray
        import ray.data  # noqa: F401 (Ray Data needs pyarrow and pandas: the [data] extra)
    except ImportError as exc:
        raise SettingsError(f"{INSTALL_HINT} ({exc})") from None
    return ray


class Cluster:
    """A connection to Ray for one build: `address` None starts a local Ray (or joins the one
    RAY_ADDRESS names); "host:port" or "ray://..." joins that cluster."""

    def __init__(self, address: str | None = None):
        self.address = address or os.environ.get("RAY_ADDRESS") or None

    @contextmanager
    def session(self):
        ray = require_ray()
        import logging

        env = {k: v for k, v in os.environ.items() if k.startswith(_PASSED_ENV)}
        already = ray.is_initialized()
        if not already:
            try:
                ray.init(address=self.address, runtime_env={"env_vars": env}, include_dashboard=False,
                         log_to_driver=False, logging_level=logging.ERROR)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise SettingsError(f"cannot reach the Ray cluster at {self.address or 'a new local Ray'}: {exc}") from None
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the builder reports progress itself
        ctx.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        try:
            yield self
        finally:
            if not already:
                ray.shutdown()  # stops a Ray this build started; only disconnects from a cluster

    def cpus(self) -> int:
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def read(self, items: list[tuple[str, Path, str | None, str | None]], model: str, plan):
        """Yields (doc_id, ReadArticle or None, skip reason or None) in the order of `items`
        ((doc_id, path, url, charset)), read by Ray tasks at most a few per CPU ahead."""
        import ray

        task = ray.remote(max_retries=3)(_read_group)
        groups = [items[i:i + FILES_PER_TASK] for i in range(0, len(items), FILES_PER_TASK)]
        window = self.cpus() * TASKS_IN_FLIGHT_PER_CPU
        pending = []
        plan_dict = asdict(plan)
        for group in groups:
            pending.append(task.remote([(d, str(p), u, c) for d, p, u, c in group], model, plan_dict))
            if len(pending) >= window:
                yield from _unpack(ray.get(pending.pop(0)))
        for ref in pending:
            yield from _unpack(ray.get(ref))

    def embed(self, which: str, model: str | None, ids: np.ndarray, texts: list[str], batch_size: int,
              report, stage: str):
        """Yields (chunk ids, vectors) shards: `which` "main" embeds with the sentence-transformers
        model `model`, "companion" with the multilingual companion (qa.multilingual)."""
        import ray

        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths batch together
        actors = max(1, min(self.cpus(), -(-len(texts) // EMBED_BATCH)))
        items = [{"id": int(ids[i]), "text": texts[i]} for i in order]
        data = ray.data.from_items(items, override_num_blocks=max(1, min(len(items) // EMBED_BATCH + 1, actors * 8)))
        # What the actors load travels in the class, not as constructor arguments (Ray keeps
        # those in the object store, and a restarted actor would fail if they were lost).
        actor = type("EmbedActor", (_EmbedActor,), {"which": which, "model": model, "batch_size": batch_size})
        vectors = data.map_batches(actor, batch_size=EMBED_BATCH, batch_format="numpy", num_cpus=1,
                                   # Ray Data's defaults replace a killed or lost actor and send
                                   # its batch again (max_restarts, max_task_retries -1)
                                   compute=ray.data.ActorPoolStrategy(size=actors))
        done = 0
        for batch in vectors.iter_batches(batch_size=None, batch_format="numpy"):
            shard_ids = np.asarray(batch["id"], dtype="int64")
            yield shard_ids, np.asarray(batch["vector"], dtype="float32")
            done += len(shard_ids)
            report(stage, done, len(texts))


def _unpack(results):
    from .reading import ReadArticle
    from .types import Article

    for doc_id, article, chunks, texts, reason in results:
        if article is None:
            yield doc_id, None, reason
        else:
            article["removed"] = tuple(article.get("removed") or ())
            yield doc_id, ReadArticle(Article(**article), chunks, texts), None


def _read_group(items, model: str, plan: dict):
    """A Ray task: read, clean and chunk a group of files (as qa.build does locally)."""
    from .reading import ChunkPlan, companion_counter, read_article, skip_reason
    from .readers import Skip

    plan_ = ChunkPlan(**{**plan, "companion_languages": tuple(plan.get("companion_languages") or ())})
    count = _token_counter(model)
    by_companion = companion_counter(count)  # loads the companion in this worker on first use
    out = []
    for doc_id, path, url, charset in items:
        try:
            read = read_article(doc_id, Path(path), plan_, count, url=url, charset=charset,
                                companion_count=by_companion)
        except (Skip, OSError) as exc:
            out.append((doc_id, None, None, None, skip_reason(exc)))
            continue
        out.append((doc_id, asdict(read.article), read.chunks, read.texts, None))
    return out


_COUNTERS: dict = {}


def _token_counter(model: str):
    """The model's own tokenizer, loaded once per worker process, without torch: token counts
    (and so chunk boundaries) equal a local build's, which counts with the same tokenizer."""
    if model not in _COUNTERS:
        from transformers import AutoTokenizer

        from .embedder import resolve_model

        tokenizer = AutoTokenizer.from_pretrained(resolve_model(model))
        _COUNTERS[model] = lambda text: len(tokenizer(text, add_special_tokens=False,
                                                      truncation=False)["input_ids"])
    return _COUNTERS[model]


class _EmbedActor:
    """One model per Ray actor, loaded when the actor starts, used for every batch it gets.
    Cluster.embed subclasses it with `which`, `model` and `batch_size` set."""

    which, model, batch_size = "main", None, 32

    def __init__(self):
        if self.which == "companion":
            from . import multilingual

            self.encoder = multilingual.load()
            if self.encoder is None:
                raise RuntimeError(f"no multilingual model on this node: {multilingual.unavailable()}")
        else:
            from .embedder import get_embedder

            self.encoder = get_embedder(self.model)

    def __call__(self, batch: dict) -> dict:
        vectors = self.encoder.documents([str(t) for t in batch["text"]], batch_size=self.batch_size)
        return {"id": batch["id"], "vector": np.asarray(vectors, dtype="float32")}
