"""Token-measured chunking with exact character offsets.

Chunks are sized in the embedding model's own word pieces so that nothing is silently
truncated at embedding time, and split at paragraph, line and sentence boundaries
(English and Arabic punctuation) before falling back to words.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

# Sentence and clause ends, English and Arabic; tried in order, coarsest first.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "؟ ", "; ", "؛ ", "، ", ", ", " ", ""]
# Scripts the tokenizer maps to [UNK] can make a huge chunk look tiny in tokens; this caps
# characters per token so a chunk stays readable as a cited passage.
CHARS_PER_TOKEN_CAP = 8


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int
    text: str
    tokens: int


def chunk_text(text: str, count_tokens: Callable[[str], int], size: int, overlap: int) -> list[Chunk]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    def length(piece: str) -> int:
        return max(count_tokens(piece), math.ceil(len(piece) / CHARS_PER_TOKEN_CAP))

    splitter = RecursiveCharacterTextSplitter(
        separators=SEPARATORS, keep_separator="end", chunk_size=size, chunk_overlap=overlap,
        length_function=length, strip_whitespace=True, add_start_index=False)
    chunks: list[Chunk] = []
    cursor = 0
    for piece in splitter.split_text(text):
        start = _locate(text, piece, cursor, chunks)
        if start < 0:
            continue  # cannot happen for a substring splitter; never store a wrong offset
        end = start + len(piece)
        for sub_start, sub_end in _enforce_limit(text, start, end, length, size):
            sub = text[sub_start:sub_end]
            chunks.append(Chunk(sub_start, sub_end, sub, count_tokens(sub)))
        cursor = start + 1
    return chunks


def _locate(text: str, piece: str, cursor: int, chunks: list[Chunk]) -> int:
    # Overlap means a chunk may start before the previous chunk's end, never before its start.
    lower = chunks[-1].start + 1 if chunks else 0
    found = text.find(piece, max(lower, 0))
    if found < 0:
        found = text.find(piece)
    return found


def _enforce_limit(text: str, start: int, end: int, length, size: int):
    """Split a chunk that still measures over `size` (merging can exceed the sum of parts)."""
    if length(text[start:end]) <= size:
        return [(start, end)]
    middle = (start + end) // 2
    space = text.rfind(" ", start + 1, middle + 1)
    cut = space if space > start else middle
    left = _enforce_limit(text, start, cut, length, size)
    right_start = cut + 1 if text[cut:cut + 1] == " " else cut
    return left + _enforce_limit(text, right_start, end, length, size)


# A sentence ends at . ! ? ؟ (plus closing quotes/brackets) followed by white space, or at a
# line break; "3.5" and "U.S.-led" do not end one.
_BOUNDARY = re.compile(r"(?<=[.!?؟])[\"'”’»)\]]*(?=\s)|\n")


def sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text` (used to build extractive answers)."""
    spans = []
    begin = 0
    for m in _BOUNDARY.finditer(text):
        spans.append((begin, m.end()))
        begin = m.end()
    spans.append((begin, len(text)))
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return _merge_abbreviations(text, trimmed)


_ABBREVIATION = re.compile(r"(\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Maj|St|U\.S|U\.K|H\.E|No|vs|etc|e\.g|i\.e))\.$")


# A lone Arabic letter and a full stop is an initial ("م. ثيو كيرني", "فريديريك و. موت"), as
# "M." is in English, except after a year, where م. / هـ. are the era (570 م.) and may end it.
_AR_INITIAL = re.compile(r"(?:^|\s)[\u0621-\u064a]\.$")


def _arabic_initial(sentence: str) -> bool:
    m = _AR_INITIAL.search(sentence)
    if not m:
        return False
    before = sentence[:m.start()].split()
    return not (before and before[-1].strip("(،,").isdigit())


def _merge_abbreviations(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged:
            ps, pe = merged[-1]
            gap = text[pe:s]
            if "\n" not in gap and (_ABBREVIATION.search(text[ps:pe]) or _arabic_initial(text[ps:pe])
                                     or text[s:s + 1].islower()):
                merged[-1] = (ps, e)
                continue
        merged.append((s, e))
    return merged
