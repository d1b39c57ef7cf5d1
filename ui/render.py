"""Answers and passages as HTML for the web app: plain functions, no Gradio.

Article text is data, never markup. Every piece of document text goes through `escape`, which
HTML-escapes it and also turns the characters Markdown acts on into numeric entities, so that
no later Markdown pass (the chatbot renders Markdown when asked to) can make `![x](http://...)`
into an image or `[a](javascript:...)` into a link. The only tags in the output are the ones
written here. The links are `#` anchors from a citation marker to its source card and, on a
card whose article came from the web, one link to the original page: only for an http(s) URL
(any other scheme, javascript: and data: included, is not shown), percent-encoded and escaped
so it cannot leave its attribute, opened in a new tab with `rel="noopener noreferrer nofollow"`
(the chat's sanitizer in the browser keeps the link and rewrites rel to "noopener noreferrer").
"""
from __future__ import annotations

import html
import re
import unicodedata
from typing import Callable
from urllib.parse import quote, urlsplit

from qa.types import Answer, Passage

# Characters HTML and Markdown (and the chatbot's LaTeX pass) give meaning to. As numeric
# entities they display the same but no parser reads them as syntax; `:` and `@` also stop URL
# autolinking. One table, applied once: escaping in two passes would escape the first pass's
# entities ("'" -> "&#x27;" -> "&&#35;x27;", shown as "&#x27;").
_INERT = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'\\`*_[]()!#|~:$@{}"})
RTL_LANGS = {"ar", "fa", "he", "ur", "ps", "yi"}
LANG_NAMES = {"en": "English", "ar": "Arabic", "und": "unknown language"}
# Articles up to this size are shown whole under a source; longer ones as a window around the
# passage, so a message stays small enough to resend with every turn of the conversation.
FULL_ARTICLE_CHARS = 8_000
CONTEXT_CHARS = 3_000
EMPTY_HINT = ("Type a question about the articles first, for example: "
              "“What has Egypt co-produced with Türkiye?”")
NOT_ANSWERING = "not answering the question"
MAX_RELATED = 3  # closest passages shown with an abstention: enough to see what is there

# Characters an href keeps as they are (RFC 3986 unreserved and reserved but "'", and "%" of
# existing escapes); quotes, angle brackets, backslashes, backticks and non-ASCII are
# percent-encoded, so no parser along the way can read the end of an attribute into a URL.
_URL_SAFE = "-._~:/?#[]@!$&()*+,;=%"
LINK_REL = "noopener noreferrer nofollow"

ArticleText = Callable[[str], "str | None"]  # doc_id -> cleaned article text, None if gone


def escape(text: str) -> str:
    """Text as inert HTML: markup and Markdown both shown literally; line breaks kept."""
    escaped = text.translate(_INERT)
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def direction(text: str) -> str:
    """"rtl" when right-to-left letters outnumber left-to-right ones, else "ltr"; "auto" when
    the text has no letters. Majority, not first letter: an Arabic sentence that opens with a
    Latin name is still right-to-left."""
    rtl = ltr = 0
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            rtl += 1
        elif kind == "L":
            ltr += 1
    if not rtl and not ltr:
        return "auto"
    return "rtl" if rtl > ltr else "ltr"


def lang_direction(lang: str | None, text: str = "") -> str:
    if lang in RTL_LANGS:
        return "rtl"
    if lang and lang != "und":
        return "ltr"
    return direction(text[:2000])


def anchor(turn: int, n: int, kind: str = "s") -> str:
    """Element id of source card n of answer `turn`; unique in the page."""
    return f"qa-t{turn}-{kind}{n}"


def cited_spans(passage_text: str, sentences: list[str]) -> list[tuple[int, int]]:
    """Where the cited sentences occur in the passage, merged and in order."""
    spans = []
    for sentence in sentences:
        sentence = sentence.strip()
        if not sentence:
            continue
        at = passage_text.find(sentence)
        while at >= 0:
            spans.append((at, at + len(sentence)))
            at = passage_text.find(sentence, at + len(sentence))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, spans: list[tuple[int, int]]) -> str:
    """Escaped text with each (start, end) span inside <mark>."""
    out, pos = [], 0
    for start, end in spans:
        out.append(escape(text[pos:start]))
        out.append(f'<mark class="qa-hl">{escape(text[start:end])}</mark>')
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def render_question(question: str) -> str:
    return f'<div class="qa-question" dir="{direction(question)}">{escape(question)}</div>'


def render_hint(message: str) -> str:
    return f'<p class="qa-hint" dir="{direction(message)}">{escape(message)}</p>' if message else ""


def render_answer(answer: Answer, turn: int, article_text: ArticleText | None = None) -> str:
    """One assistant message: the answer with linked [n] markers and its numbered sources, or
    the abstention with the closest passages marked as not answering."""
    if not answer.answered:
        return _render_abstention(answer, turn, article_text)
    body = _linked_answer_text(answer, turn)
    cards = []
    for n, passage in enumerate(answer.citations, 1):
        # A written sentence is not in its passage word for word: nothing to highlight there.
        sentences = [] if answer.generated else [s for s, numbers in answer.sentences if n in numbers]
        cards.append(render_passage(passage, n, turn, cited_spans(passage.text, sentences), article_text))
    return (f'<div class="qa-answer{" qa-written" if answer.generated else ""}" '
            f'dir="{direction(answer.question or answer.text)}">{_provenance(answer)}'
            f'<p class="qa-answer-text">{body}</p>'
            f'<p class="qa-sources-label" dir="ltr">Sources</p>'
            f'<ol class="qa-sources">{"".join(cards)}</ol>{_dropped(answer)}</div>')


def _provenance(answer: Answer) -> str:
    """Who wrote the answer: a written one names its model and says it was checked; a fallback
    says why the extractive answer is shown instead."""
    if answer.generated:
        return (f'<p class="qa-written-label" dir="ltr">Written by {escape(answer.model or "a language model")}; '
                f'every sentence checked against the sources it cites.</p>')
    if answer.notice:
        return f'<p class="qa-notice" dir="ltr">{escape(answer.notice[:1].upper() + answer.notice[1:])}.</p>'
    return ""


def _dropped(answer: Answer) -> str:
    if not answer.dropped:
        return ""
    items = "".join(f'<li dir="{direction(d)}">{escape(d)}</li>' for d in answer.dropped)
    n = len(answer.dropped)
    return (f'<details class="qa-dropped"><summary dir="ltr">{n} written sentence{"s" if n > 1 else ""} '
            f'dropped: not stated by the passages cited</summary><ul>{items}</ul></details>')


def render_draft(text: str, model: str | None) -> str:
    """A written answer as it streams in: plain escaped text, marked as not yet checked."""
    return (f'<div class="qa-answer qa-draft" dir="{direction(text)}">'
            f'<p class="qa-written-label" dir="ltr">{escape(model or "The language model")} is writing; '
            f'the answer is checked against its sources before it is shown with them.</p>'
            f'<p class="qa-answer-text qa-draft-text">{escape(text)}</p></div>')


def _render_abstention(answer: Answer, turn: int, article_text: ArticleText | None) -> str:
    cards = "".join(render_passage(p, n, turn, [], article_text, related=True)
                    for n, p in enumerate(answer.related[:MAX_RELATED], 1))
    nearby = (f'<p class="qa-sources-label" dir="ltr">Closest passages found, {NOT_ANSWERING}:</p>'
              f'<ol class="qa-sources qa-related">{cards}</ol>') if cards else \
        '<p class="qa-sources-label" dir="ltr">No passage came close.</p>'
    return (f'<div class="qa-answer qa-abstained" dir="{direction(answer.text)}">'
            f'<p class="qa-answer-text"><strong class="qa-abstain-flag" dir="ltr">No answer.</strong> '
            f'<span dir="{direction(answer.text)}">{escape(answer.text)}</span></p>{nearby}</div>')


def _linked_answer_text(answer: Answer, turn: int) -> str:
    """answer.text with each [n] made a link to source card n.

    Walks the answer sentence by sentence (each is followed by its markers), so a "[3]" that is
    part of a quoted article sentence stays text. Falls back to matching markers in whatever is
    left if the text does not have that shape."""
    text, pos, out = answer.text, 0, []
    for sentence, numbers in answer.sentences:
        markers = "".join(f"[{n}]" for n in numbers)
        expected = f"{sentence} {markers}"
        if not text.startswith(expected, pos):
            continue  # a corroborating sentence: highlighted in its passage, not in the answer
        # Each sentence keeps its own direction: an English answer may quote an Arabic one.
        out.append(f'<span dir="{direction(sentence)}">{escape(sentence)}</span> '
                   + "".join(_cite(turn, n) for n in numbers))
        pos += len(expected)
        note = _LANGUAGE_NOTE.match(text, pos)
        if note:  # "(in Arabic)" after a sentence quoted in another language than the question's
            out.append(f' <span class="qa-lang-note" dir="{direction(note.group(1))}">({escape(note.group(1))})</span>')
            pos = note.end()
        if text.startswith(" ", pos):
            out.append(" ")
            pos += 1
    rest = text[pos:]
    for part in re.split(r"(\[\d+\])", rest):
        number = part[1:-1] if re.fullmatch(r"\[\d+\]", part) else None
        if number and 1 <= int(number) <= len(answer.citations):
            out.append(_cite(turn, int(number)))
        else:
            out.append(escape(part))
    return "".join(out)


_LANGUAGE_NOTE = re.compile(r" \(([^()\[\]]{2,20})\)")


def _cite(turn: int, n: int) -> str:
    return f'<a class="qa-cite" href="#{anchor(turn, n)}" title="source {n}">&#91;{n}&#93;</a>'


def render_passage(passage: Passage, n: int, turn: int, spans: list[tuple[int, int]],
                   article_text: ArticleText | None = None, related: bool = False) -> str:
    """A numbered source card: metadata, the passage (cited sentences marked) and, folded away,
    the article around it."""
    kind = "r" if related else "s"
    text_dir = lang_direction(passage.lang, passage.text)
    meta = [f'<span class="qa-num">&#91;{n}&#93;</span>',
            f'<span class="qa-title" dir="auto">{escape(passage.title or passage.doc_id)}</span>']
    details = [escape(passage.source)] if passage.source else []
    if passage.author:
        details.append(f'<span class="qa-author" dir="auto">by {escape(passage.author)}</span>')
    if passage.date:
        details.append(escape(passage.date))
    details.append(escape(LANG_NAMES.get(passage.lang, passage.lang or "unknown language")))
    meta.append(f'<span class="qa-details">{" · ".join(details)}</span>')
    meta.append(f'<code class="qa-doc-id" dir="ltr">{escape(passage.doc_id)}</code>')
    link = original_link(passage.url)
    if link:
        meta.append(link)
    if related:
        meta.append(f'<span class="qa-flag">{NOT_ANSWERING}</span>')
    context = _article_context(passage, spans, article_text, text_dir)
    # The card's labels are English (left-to-right); only the article text takes its own direction.
    return (f'<li class="qa-source{" qa-related-source" if related else ""}" id="{anchor(turn, n, kind)}" dir="ltr">'
            f'<div class="qa-meta">{" ".join(meta)}</div>'
            f'<blockquote class="qa-passage" dir="{text_dir}" lang="{escape(passage.lang or "und")}">'
            f'{highlight(passage.text, spans)}</blockquote>{context}</li>')


def original_link(url: str | None) -> str:
    """A link to the page an article came from, or "" when `url` is not a plain http(s) URL.

    Whatever the page claimed as its URL is untrusted: a scheme other than http(s) (javascript:,
    data:, file:, a relative path) gives no link, and so does a URL with spaces, control or
    bidi-format characters, which browsers would read (or show) differently from this check.
    What is linked is the checked string, percent-encoded where HTML or a browser could read it
    otherwise; the host shown is the one that string leads to."""
    url = (url or "").strip()
    if not url or any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in url):
        return ""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # a malformed port or IPv6 address
        return ""
    if parts.scheme.lower() not in ("http", "https") or not host:
        return ""
    shown = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    href = html.escape(quote(url, safe=_URL_SAFE), quote=True)
    return (f'<a class="qa-original" href="{href}" target="_blank" rel="{LINK_REL}" dir="ltr" '
            f'title="Open the original page">{escape(shown)}</a>')


def _article_context(passage: Passage, spans, article_text: ArticleText | None, text_dir: str) -> str:
    full = article_text(passage.doc_id) if article_text else None
    if not full or full[passage.start:passage.end] != passage.text:
        return ""  # the article changed since this answer (or is gone): show no stale context
    begin, end = 0, len(full)
    if len(full) > FULL_ARTICLE_CHARS:
        begin, end = max(0, passage.start - CONTEXT_CHARS), min(len(full), passage.end + CONTEXT_CHARS)
    before = ("… " if begin else "") + full[begin:passage.start]
    after = full[passage.end:end] + (" …" if end < len(full) else "")
    label = "Read the whole article" if (begin, end) == (0, len(full)) else "Read the article around this passage"
    return (f'<details class="qa-context"><summary>{label}</summary>'
            f'<div class="qa-article" dir="{text_dir}">{escape(before)}'
            f'<span class="qa-in-passage">{highlight(passage.text, spans)}</span>{escape(after)}</div></details>')


def render_status(info: dict) -> str:
    """The index facts shown at the top of the page."""
    languages = info.get("languages") or {}
    langs = ", ".join(f"{escape(str(k))} {v}" for k, v in sorted(languages.items()))
    parts = [f'<b>{info.get("articles", 0)}</b> articles', f'<b>{info.get("chunks", 0)}</b> passages',
             f'model <code>{escape(str(info.get("model", "?")))}</code>',
             f'last build {escape(str(info.get("last_build", "?")))}']
    if langs:
        parts.insert(2, f"languages: {langs}")
    return f'<div class="qa-status" id="qa-status">Index: {" · ".join(parts)}</div>'


def render_upload_results(lines: list[tuple[bool, str]]) -> str:
    """Outcome of an upload, one line per file: (ok, message)."""
    if not lines:
        return ""
    items = "".join(f'<li class="{"qa-ok" if ok else "qa-bad"}" dir="auto">{escape(msg)}</li>' for ok, msg in lines)
    return f'<ul class="qa-upload-results">{items}</ul>'


CSS = """
.qa-answer, .qa-question, .qa-passage, .qa-article { text-align: start; }
.qa-answer-text { margin: 0 0 .4em 0; line-height: 1.55; }
.qa-cite { font-weight: 600; text-decoration: none; padding: 0 1px; }
.qa-sources-label { margin: .6em 0 .2em 0; font-size: .85em; font-weight: 600; opacity: .8; }
.qa-sources { list-style: none; padding: 0 !important; margin: 0 !important; }
.qa-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .45em .7em;
             margin: .35em 0 !important; background: var(--background-fill-primary); }
.qa-source:target { outline: 2px solid var(--color-accent); }
.qa-related-source { border-style: dashed; }
.qa-related-source .qa-passage { max-height: 8em; overflow: auto; }
.qa-meta { font-size: .8em; display: flex; flex-wrap: wrap; gap: .15em .6em; align-items: baseline; }
.qa-num { font-weight: 700; }
.qa-title { font-weight: 600; }
.qa-doc-id { font-size: .95em; }
.qa-original { font-weight: 600; }
.qa-original::after { content: " ↗"; }
.qa-flag { color: #92400e; background: #fef3c7; border-radius: 4px; padding: 0 .4em; font-weight: 600; }
.qa-passage { margin: .35em 0 .2em 0 !important; padding: 0 0 0 .6em !important; border: 0 !important;
              border-inline-start: 3px solid var(--border-color-accent) !important; font-size: .92em; }
.qa-passage[dir="rtl"], .qa-article[dir="rtl"] { text-align: right; }
mark.qa-hl { background: #fde68a; color: #111; border-radius: 2px; padding: 0 1px; }
.qa-context summary { cursor: pointer; font-size: .8em; opacity: .85; }
.qa-article { max-height: 18em; overflow: auto; font-size: .88em; padding: .3em .5em;
              background: var(--background-fill-secondary); border-radius: 6px; }
.qa-in-passage { background: rgba(253, 230, 138, .25); }
.qa-abstain-flag { color: #b45309; }
.qa-written-label, .qa-notice { font-size: .8em; margin: 0 0 .3em 0; color: var(--body-text-color-subdued); }
.qa-draft-text { opacity: .75; white-space: pre-wrap; }
.qa-dropped { font-size: .85em; margin-top: .4em; }
.qa-dropped summary { cursor: pointer; color: #92400e; }
.qa-hint { color: var(--body-text-color-subdued); margin: .2em 0; }
.qa-status { font-size: .9em; }
.qa-upload-results { margin: .3em 0; padding-inline-start: 1.2em; font-size: .9em; }
.qa-upload-results .qa-bad { color: #b91c1c; }
"""
