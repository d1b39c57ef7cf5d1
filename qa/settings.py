"""One settings object. CLI flags and QA_* environment variables map onto its fields."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from .errors import SettingsError

BUNDLED_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    # The bundled model works offline; any sentence-transformers name or path may replace it.
    model: str = BUNDLED_MODEL
    # Languages the model understands ("*" = all); None infers from the model name.
    model_languages: tuple[str, ...] | None = None
    # Tokens of article text per chunk: room under the model's 256 for a title prefix.
    chunk_tokens: int = 200
    # Overlap between neighbouring chunks, so a fact across a boundary stays retrievable.
    chunk_overlap: int = 40
    # Title tokens prepended when embedding a chunk (context for chunks deep in an article).
    title_tokens: int = 32
    # Files above this size are skipped with a reason: bounded memory per article.
    max_file_bytes: int = 10_000_000
    # Texts per embedding batch: on CPU smaller batches pad less (32 beat 64 in bench/speed.py).
    batch_size: int = 32
    # Above this many vectors the index switches from exact to HNSW search: exact search at
    # 100k vectors already takes 20-32 ms p50 on two cores (bench/scale.py), HNSW under 1 ms.
    approximate_above: int = 100_000
    # Above this many, IVF over 8-bit codes (qa/vectors.py): a quarter of the memory, cheap
    # removal, nprobe tuned to recall@10 >= 0.95 on the index's own vectors. HNSW at 1M
    # vectors held 1.7 GB, over the reader's 1.5 GB budget alone (bench/reader_memory.py).
    compress_above: int = 500_000
    # Queries longer than this are refused quickly instead of being embedded.
    max_query_chars: int = 2_000
    # Most passages one search or answer may ask for: k=10**9 took 12 s and stalled other users.
    max_k: int = 50
    # Multilingual companion vectors (qa/multilingual.py): "auto" embeds every chunk with the
    # multilingual model when the corpus holds a language the main model does not cover (an
    # English-only corpus pays nothing), "always" also for English-only corpora (Arabic
    # questions over English articles), "never" not at all.
    multilingual: str = "auto"
    # Fetching pages and feeds (qa add, qa refresh, "Add by link"): seconds per request,
    # largest response accepted, redirects followed.
    fetch_timeout: int = 20
    max_fetch_bytes: int = 5_000_000
    max_redirects: int = 5
    # Entries one poll fetches per feed; the rest wait for the next `qa refresh`.
    max_feed_entries: int = 50
    # Whether the web app may fetch loopback, private, link-local and metadata addresses.
    # Off: a server must not become a way into the network it runs in (SSRF). The command
    # line always may (it runs as the user, on the user's machine).
    fetch_private: bool = False
    # Hosts (`host` or `host:port`) that may be fetched even when private addresses are refused:
    # an intranet news server an administrator trusts. QA_FETCH_ALLOW=news.corp,10.1.2.3:8080
    fetch_allow: tuple[str, ...] = ()
    # Written answers (qa/written.py): an OpenAI-compatible chat endpoint, e.g. Ollama's
    # http://127.0.0.1:11434/v1. Unset: extractive answers only. Without QA_LLM_URL /
    # QA_LLM_API_KEY, the openai client's OPENAI_BASE_URL / OPENAI_API_KEY are read.
    llm_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = dataclasses.field(default=None, repr=False)  # never printed
    # Seconds the endpoint has for a whole written answer before the extractive one is given.
    llm_timeout: int = 60
    # Most tokens a written answer may take (a few cited sentences).
    llm_max_tokens: int = 400

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_url and self.llm_model)

    def replace(self, **changes) -> "Settings":
        return from_dict({**dataclasses.asdict(self), **changes})


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def from_dict(values: dict) -> Settings:
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(_FIELDS)}")
    clean = {}
    for name, value in values.items():
        if value is None:
            clean[name] = None
            continue
        if name in ("model_languages", "fetch_allow"):
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            clean[name] = tuple(str(v) for v in value)
        elif name == "model":
            clean[name] = str(value)
        elif name in ("llm_url", "llm_model", "llm_api_key"):
            clean[name] = str(value).strip() or None
        elif name == "multilingual":
            clean[name] = str(value).strip().lower()
            if clean[name] not in ("auto", "always", "never"):
                raise SettingsError(f"setting multilingual must be auto, always or never, got {value!r}")
        elif _FIELDS[name].type in (bool, "bool"):
            clean[name] = _flag(name, value)
        else:
            try:
                clean[name] = int(value)
            except (TypeError, ValueError):
                raise SettingsError(f"setting {name} must be a whole number, got {value!r}") from None
            if clean[name] < 0 or (clean[name] == 0 and name != "chunk_overlap"):
                raise SettingsError(f"setting {name} must be positive, got {value!r}")
    settings = Settings(**clean)
    if settings.chunk_overlap >= settings.chunk_tokens:
        raise SettingsError("chunk_overlap must be smaller than chunk_tokens")
    return settings


def _flag(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"setting {name} must be 1/0 (true/false), got {value!r}")


def from_env(**overrides) -> Settings:
    """Defaults, then QA_<FIELD> environment variables, then explicit overrides (not None)."""
    values = {}
    for name in _FIELDS:
        env = os.environ.get(f"QA_{name.upper()}")
        if env is not None:
            values[name] = env
    # The openai client's own names, for users who have set them already.
    for name, env in (("llm_url", "OPENAI_BASE_URL"), ("llm_api_key", "OPENAI_API_KEY")):
        if name not in values and os.environ.get(env):
            values[name] = os.environ[env]
    values.update({k: v for k, v in overrides.items() if v is not None})
    return from_dict(values)
