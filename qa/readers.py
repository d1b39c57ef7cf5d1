"""Reading article files into text: decoding (HTML by its declared charset first), PDF. Never
raises on bad files: `read_file` returns text or a reason to skip. HTML is returned as markup;
qa.webpage takes the article out of it."""
from __future__ import annotations

import codecs
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}


@dataclass(frozen=True)
class RawText:
    text: str
    encoding: str


class Skip(Exception):
    """A file that is not indexed, with the reason shown to the user."""


def walk(source: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Article files under `source`, recursively, and (path, reason) for what is passed over.

    Symbolic links are not followed: an article folder must not pull in files from elsewhere.
    """
    files, skipped = [], []
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        base = Path(dirpath)
        for d in sorted(dirnames):
            if (base / d).is_symlink():
                skipped.append((_rel(base / d, source), "symbolic link, not followed"))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not (base / d).is_symlink())
        for name in sorted(filenames):
            path = base / name
            rel = _rel(path, source)
            if name.startswith("."):
                continue
            if path.is_symlink():
                skipped.append((rel, "symbolic link, not followed"))
            elif path.suffix.lower() not in SUFFIXES:
                skipped.append((rel, f"unsupported file type {path.suffix or '(none)'}; "
                                     f"supported: {', '.join(sorted(SUFFIXES))}"))
            else:
                files.append(path)
    return files, skipped


def _rel(path: Path, source: Path) -> str:
    return path.relative_to(source).as_posix()


def read_file(path: Path, max_bytes: int, charset: str | None = None) -> tuple[bytes, str]:
    """Raw bytes and decoded text of one article file (NFC-normalised unless it is HTML
    markup). Raises Skip."""
    size = path.stat().st_size
    if size > max_bytes:
        raise Skip(f"file is {size:,} bytes, over the limit of {max_bytes:,}")
    if size == 0:
        raise Skip("empty file")
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text = _pdf_text(data)
    elif suffix in (".html", ".htm"):
        # Markup stays as written (normalising megabytes of it would cost more than extracting
        # from it): qa.articles normalises the text taken out of it.
        text = decode_html(data, charset).text
    else:
        text = unicodedata.normalize("NFC", decode(data).text)
    if not text.strip():
        raise Skip("no text (empty or only white space)")
    return data, text


def decode(data: bytes) -> RawText:
    """UTF-8 (with or without BOM) first, UTF-16 by BOM, else charset detection.

    Refuses binary data instead of guessing, so no article is indexed as mojibake.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return RawText(_strict(data[3:], "utf-8"), "utf-8-sig")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return RawText(_strict(data, "utf-16"), "utf-16")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        _refuse_binary(text)
        return RawText(text, "utf-8")
    if _looks_utf16_without_bom(data):
        enc = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        return RawText(_strict(data, enc), enc)
    if b"\x00" in data:
        raise Skip("binary file (contains NUL bytes)")
    import charset_normalizer  # only for files that are not UTF-8

    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        raise Skip("undecodable: not UTF-8 and no text encoding fits")
    # Among equally clean readings prefer a Windows code page: web text is rarely Mac-encoded.
    tied = [m for m in matches if m.chaos <= matches[0].chaos + 0.01]
    match = next((m for m in tied if m.encoding.startswith("cp125")), matches[0])
    text = str(match)
    if _only_latin_letters(text):
        # Western text fits many Latin code pages equally well (cp1250, cp775, ...) and the
        # detector cannot tell them apart; windows-1252 is by far the most common on the web
        # (browsers read Latin-1 as 1252 too). Cyrillic, Greek, ... guesses are kept.
        try:
            text = data.decode("cp1252")
            _refuse_binary(text)
            return RawText(text, "cp1252")
        except UnicodeDecodeError:
            pass
    _refuse_binary(text)
    return RawText(text, match.encoding)


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def decode_html(data: bytes, charset: str | None = None) -> RawText:
    """A page that is not UTF-8 is decoded as its server (`charset`, from the HTTP header) or
    its <meta charset> says (Arabic sites still use windows-1256), before any guessing."""
    if not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            m = _META_CHARSET.search(data[:8192])
            if charset or m:
                declared = (charset or m.group(1).decode("ascii")).strip().lower()
                try:
                    codecs.lookup(declared)
                except LookupError:
                    pass
                else:
                    if declared in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"):
                        declared = "cp1252"  # what browsers do with these labels
                    text = data.decode(declared, errors="replace")
                    _refuse_binary(text)
                    return RawText(text, declared)
        else:
            _refuse_binary(text)
            return RawText(text, "utf-8")
    return decode(data)


def _only_latin_letters(text: str) -> bool:
    return all(ord(ch) < 0x250 or 0x1E00 <= ord(ch) <= 0x1EFF for ch in text if ch.isalpha())


def _strict(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Skip(f"undecodable as {encoding}: {exc.reason} at byte {exc.start}") from None
    _refuse_binary(text)
    return text


def _looks_utf16_without_bom(data: bytes) -> bool:
    sample = data[:4000]
    if len(sample) < 4:
        return False
    zeros_even = sample[0::2].count(0) / (len(sample) / 2)
    zeros_odd = sample[1::2].count(0) / (len(sample) / 2)
    return max(zeros_even, zeros_odd) > 0.3 and min(zeros_even, zeros_odd) < 0.05


# Unicode category Cc (C0, DEL, C1) less the white space controls; a regex, not a per-character
# category lookup: a 2 MB news page is checked in microseconds.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _refuse_binary(text: str) -> None:
    if "\x00" in text:
        raise Skip("binary file (contains NUL characters)")
    sample = text[:20000]
    controls = len(_CONTROL.findall(sample))
    if controls > max(8, len(sample) // 100):
        raise Skip(f"binary file ({controls} control characters in the first {len(sample)})")


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise Skip(f"unreadable PDF: {exc}") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())
