"""Plain result types: what the library hands back to users."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One stored article: cleaned text plus the metadata read from it."""

    doc_id: str  # path relative to the source folder, with forward slashes
    title: str
    text: str  # cleaned, NFC-normalised; every chunk offset points into this
    lang: str  # "en", "ar", ... or "und"
    date: str | None  # ISO date (YYYY-MM-DD) when the text states one
    source: str | None  # outlet, when the text states one
    content_hash: str  # sha256 of the raw file bytes
    removed: tuple[str, ...] = ()  # boilerplate lines taken out, kept for inspection
    url: str | None = None  # the original page: canonical URL, or the address it was fetched from
    author: str | None = None  # as the page names them ("A; B" for several)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk of an article; `text == article.text[start:end]`."""

    doc_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    lang: str
    date: str | None
    source: str | None
    chunk_id: int = -1
    url: str | None = None
    author: str | None = None

    def __str__(self) -> str:
        meta = ", ".join(x for x in (self.source, self.author, self.date, self.doc_id, self.url) if x)
        return f"{self.title} ({meta})\n{self.text}"


@dataclass(frozen=True)
class BuildReport:
    """What one build did, by article id."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (id, id it duplicates)
    chunks: int = 0  # chunks in the index after the build
    embedded: int = 0  # chunks embedded by this build
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # what the user should know (e.g. English-only)

    def __str__(self) -> str:
        lines = [
            f"added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)}, "
            f"unchanged {len(self.unchanged)}, skipped {len(self.skipped)}; "
            f"{self.embedded} chunks embedded, {self.chunks} in the index ({self.seconds:.1f}s)"
        ]
        for label, ids in (("added", self.added), ("updated", self.updated), ("removed", self.removed)):
            lines += [f"  {label}: {i}" for i in ids]
        lines += [f"  skipped: {p} ({why})" for p, why in self.skipped]
        lines += [f"  duplicate: {a} is the same article as {b}" for a, b in self.duplicates]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class Answer:
    """An extractive answer: `text` carries [n] markers, `citations[n-1]` is what [n] cites."""

    question: str
    text: str
    citations: list[Passage]
    answered: bool
    # Passages that were retrieved but not cited; shown as "closest passages" on abstention.
    related: list[Passage] = field(default_factory=list)
    # (sentence, [citation numbers]) in answer order, for renderers that highlight.
    sentences: list[tuple[str, list[int]]] = field(default_factory=list)
    # Written by a language model (qa/written.py) and checked against its citations; False for
    # the extractive answer, including the fallback when a written one was asked for.
    generated: bool = False
    # Written sentences the check removed, each with why; shown on request, never as claims.
    dropped: list[str] = field(default_factory=list)
    model: str | None = None  # the language model that wrote it
    notice: str | None = None  # one line on why a written answer was asked for and not given

    def __str__(self) -> str:
        out = [f"({self.notice})"] if self.notice else []
        if self.generated:
            out.append(f"(written by {self.model}, every sentence checked against its sources)")
        out.append(self.text)
        if self.citations:
            out.append("\nSources:")
            for n, p in enumerate(self.citations, 1):
                meta = ", ".join(x for x in (p.source, p.author, p.date, p.doc_id, p.url) if x)
                out.append(f"[{n}] {p.title} ({meta})\n    {p.text}")
        if self.dropped:
            out.append("\nDropped by the check (not supported by the cited passages):")
            out += [f"  - {d}" for d in self.dropped]
        return "\n".join(out)
