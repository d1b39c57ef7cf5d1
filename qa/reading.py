"""One article file -> its Article, chunk rows and the texts to embed: the per-file work of a
build, the same function whether it runs in the builder's process or as a Ray task on
another machine (qa/distributed.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .articles import load_article
from .chunking import chunk_text
from .lexical import tokenize
from .readers import Skip
from .types import Article


@dataclass
class ChunkPlan:
    """How a build cuts articles: tokens per chunk and overlap (fitted under the model's
    limit with room for the title prefix), the title budget and the largest file read."""

    size: int
    overlap: int
    title_tokens: int
    max_file_bytes: int
    # Articles in these languages are cut by the multilingual companion's tokenizer: its vectors
    # are the ones that represent them, and the main model's word pieces (MiniLM: 4.7 for an
    # Arabic word) cut them into chunks a third of the intended size.
    companion_languages: tuple[str, ...] = ()


@dataclass
class ReadArticle:
    """An article ready to store: `chunks` are (order, start, end, tokens, text, terms JSON)
    without chunk ids (the builder numbers them), `texts` what to embed for each."""

    article: Article
    chunks: list[tuple]
    texts: list[str]


def read_article(doc_id: str, path: Path, plan: ChunkPlan, count_tokens, url: str | None = None,
                 charset: str | None = None, companion_count=None) -> ReadArticle:
    """Raises Skip (with the reason) or OSError for a file that gives no article.
    `companion_count` counts tokens for the plan's companion languages (None: count_tokens)."""
    article = load_article(path, doc_id, plan.max_file_bytes, url=url, charset=charset)
    if companion_count is not None and article.lang in plan.companion_languages:
        count_tokens = companion_count
    prefix = title_prefix(article.title, count_tokens, plan.title_tokens)
    chunks, texts = [], []
    for order, chunk in enumerate(chunk_text(article.text, count_tokens, plan.size, plan.overlap)):
        chunks.append((order, chunk.start, chunk.end, chunk.tokens, chunk.text,
                       json.dumps(chunk_terms(article.title, chunk.start, chunk.text), ensure_ascii=False)))
        use_prefix = prefix and chunk.start > 0 and prefix not in chunk.text
        texts.append(f"{prefix}\n{chunk.text}" if use_prefix else chunk.text)
    return ReadArticle(article, chunks, texts)


def companion_counter(fallback):
    """Token counting by the companion's tokenizer, loaded on the first call (a corpus without
    those languages never loads it); `fallback` where it installed but failed to load."""
    def count(text: str) -> int:
        from . import multilingual

        model = multilingual.load()
        return model.count_tokens(text) if model is not None else fallback(text)
    return count


def chunk_terms(title: str, start: int, text: str) -> list[str]:
    """A chunk's BM25 terms. A later chunk's include the title (the first one starts with it),
    so a search for the headline's words finds every part of the article."""
    return tokenize(f"{title}\n{text}" if start else text)


def skip_reason(exc: Exception) -> str:
    """The one line a build report gives for a file read_article refused."""
    if isinstance(exc, Skip):
        return str(exc)
    return f"unreadable: {getattr(exc, 'strerror', None) or exc}"


def title_prefix(title: str, count_tokens, budget: int) -> str:
    words = title.split()
    while words and count_tokens(" ".join(words)) > budget:
        words.pop()
    return " ".join(words)
