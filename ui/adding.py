"""Articles added from the web: pages by link, and the new entries of recorded news feeds.

Nothing here opens a connection. Pages and feeds are fetched by `qa.save_pages`,
`qa.add_feed` and `qa.poll_feeds`, always with `allow_private=settings.fetch_private`: the app
is a server, and a link typed into it must not make it request loopback, private, link-local
or cloud-metadata addresses (SSRF), before DNS, after it, or after any redirect. Off by default;
`QA_FETCH_PRIVATE=1` turns it on, `QA_FETCH_ALLOW=host:port,...` trusts named hosts.

What they save (the raw HTML under `<source>/web/<host>/`) is indexed incrementally like an
upload, under the same lock, and the open index moves to the new generation. The result is one
line per URL: added, already there, or why not.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import gradio as gr

import qa
from qa.settings import Settings
from qa.web import feeds as recorded_feeds

from . import render, uploads

MAX_LINKS = 20  # per click: each link is a fetch of up to fetch_timeout seconds on the server
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class WebOutcome:
    url: str
    ok: bool
    message: str
    doc_id: str | None = None  # the article id, when it is in the index


def parse_links(text: str | None) -> list[str]:
    """The links in a textbox: one per line (any whitespace separates them), in order, once each."""
    return list(dict.fromkeys((text or "").split()))


def add_links(text: str | None, source: Path, index: qa.Index, settings: Settings,
              progress: Progress | None = None) -> list[WebOutcome]:
    """Fetch and save each link in `text`, then index what was saved."""
    urls = parse_links(text)
    if not urls:
        return [WebOutcome("", False, "Paste a link to a news page (http:// or https://), one per line.")]
    extra = [WebOutcome(u, False, f"{u}: not fetched, at most {MAX_LINKS} links at a time") for u in urls[MAX_LINKS:]]
    return _fetch_and_index(lambda: qa.save_pages(urls[:MAX_LINKS], source, settings=settings,
                                                  allow_private=settings.fetch_private, progress=progress),
                            source, index, progress) + extra


def check_feeds(source: Path, index: qa.Index, settings: Settings,
                progress: Progress | None = None) -> list[WebOutcome]:
    """Save the entries of the recorded feeds not seen before, then index them."""
    try:
        recorded = len(recorded_feeds(source))
    except qa.QAError as exc:
        return [WebOutcome("", False, str(exc))]
    if not recorded:
        return [WebOutcome("", False, "No feeds are recorded yet: add one by its address first.")]
    outcomes = _fetch_and_index(lambda: qa.poll_feeds(source, settings=settings, allow_private=settings.fetch_private,
                                                      progress=progress), source, index, progress)
    if not outcomes:
        return [WebOutcome("", True, f"Nothing new in {recorded} feed{'s' if recorded > 1 else ''}.")]
    return outcomes


def record_feed(url: str | None, source: Path, index: qa.Index, settings: Settings,
                progress: Progress | None = None) -> list[WebOutcome]:
    """Check and record a feed, then fetch and index its entries (a newcomer expects the feed's
    articles now, not at the next check, as with `qa add --feed`)."""
    url = (url or "").strip()
    if not url:
        return [WebOutcome("", False, "Paste the address of an RSS or Atom feed.")]
    try:
        uploads.check_source_matches(index, source)
        feed = qa.add_feed(url, source, settings=settings, allow_private=settings.fetch_private)
    except qa.QAError as exc:
        return [WebOutcome(url, False, _failure(url, " ".join(str(exc).split())))]
    state = "Feed recorded" if feed.added else "Feed already recorded"
    listed = f"{feed.entries} entr{'y' if feed.entries == 1 else 'ies'}"
    first = WebOutcome(feed.url, True, f"{state}: {feed.title} ({feed.url}), {listed} listed")
    entries = _fetch_and_index(lambda: qa.poll_feeds(source, settings=settings, allow_private=settings.fetch_private,
                                                     progress=progress, only=[feed.url]), source, index, progress)
    return [first] + (entries or [WebOutcome(feed.url, True, "Nothing new in it: its articles are already here.")])


def _fetch_and_index(fetch: Callable[[], "qa.SaveReport"], source: Path, index: qa.Index,
                     progress: Progress | None) -> list[WebOutcome]:
    source = Path(source)
    try:
        uploads.check_source_matches(index, source)
        report = fetch()
    except qa.QAError as exc:  # the record of fetched pages is damaged, the index is another folder's
        return [WebOutcome("", False, " ".join(str(exc).split()))]
    notes = [WebOutcome(url, False, _failure(url, reason)) for url, reason in report.failed]
    notes += [WebOutcome(feed, True, f"{feed}: {n} more entr{'y' if n == 1 else 'ies'} left for the next check")
              for feed, n in report.later]
    kept = report.saved + report.unchanged
    if not kept:
        return notes
    known = set(index.articles())
    built = None
    if report.saved or any(doc_id and doc_id not in known for _, doc_id in report.unchanged):
        try:
            built = uploads.rebuild(source, index, progress)
        except qa.QAError as exc:
            return notes + [WebOutcome(url, False, f"{url}: saved as {doc_id}, not indexed: {exc}")
                            for url, doc_id in kept]
    known = set(index.articles())
    return [_outcome(url, doc_id, built, known) for url, doc_id in kept] + notes


def _outcome(url: str, doc_id: str, built: qa.BuildReport | None, known: set[str]) -> WebOutcome:
    skipped = dict(built.skipped) if built else {}
    duplicates = dict(built.duplicates) if built else {}
    if not doc_id:
        return WebOutcome(url, True, f"{url}: already seen (the same article came through another link)")
    if doc_id in skipped:
        return WebOutcome(url, False, f"{url}: saved as {doc_id}, not indexed: {skipped[doc_id]}")
    if doc_id in duplicates:
        return WebOutcome(url, False, f"{url}: saved as {doc_id}, not indexed: it has the same text as "
                                      f"{duplicates[doc_id]}, which is already in the index")
    if built and doc_id in built.added + built.updated:
        return WebOutcome(url, True, f"{url}: added as {doc_id}; you can ask about it now", doc_id)
    if doc_id in known:
        return WebOutcome(url, True, f"{url}: already in the index as {doc_id}", doc_id)
    return WebOutcome(url, False, f"{url}: saved as {doc_id}, not indexed (the build did not take it)")


def _failure(url: str, reason: str) -> str:
    """"URL: not added, <why>", the URL said once (the fetcher's reasons start with it)."""
    if reason.startswith(f"{url}: "):
        reason = reason[len(url) + 2:]
    elif reason.startswith(f"{url} -> "):
        reason = "redirected to " + reason[len(url) + 4:]
    return f"{url}: not added, {reason}"


def panel(index: qa.Index, source: Path, settings: Settings, refreshed: list, after: Callable[[], tuple]) -> None:
    """The "Add by link" and feed controls, inside the current Blocks. `refreshed` are the
    components (index status, language choices) that `after()` returns new values for."""
    access = "" if settings.fetch_private else " Addresses on this machine or its network are refused" + \
        (" unless the administrator allowed them." if settings.fetch_allow else ".")
    gr.HTML(f"<h3>Add by link</h3><p class='qa-hint'>Links to news pages, one per line; each page is "
            f"fetched, saved under the source folder and indexed.{access}</p>")
    links = gr.Textbox(show_label=False, lines=2, max_lines=8, elem_id="qa-links",
                       placeholder="https://www.example.com/news/story.html")
    add = gr.Button("Add by link", size="sm", elem_id="qa-add-links")
    links_result = gr.HTML("", elem_id="qa-links-result")
    gr.HTML("<h3>News feeds</h3><p class='qa-hint'>Record an RSS or Atom feed; its new articles are "
            "added whenever you check.</p>")
    feed = gr.Textbox(show_label=False, elem_id="qa-feed", placeholder="https://www.example.com/rss.xml")
    with gr.Row():
        record = gr.Button("Record feed", size="sm", elem_id="qa-add-feed")
        check = gr.Button("Check feeds for new articles", size="sm", elem_id="qa-check-feeds")
    feeds_result = gr.HTML("", elem_id="qa-feeds-result")

    def shown(outcomes: list[WebOutcome]) -> str:
        return render.render_upload_results([(o.ok, o.message) for o in outcomes])

    def on_links(text, progress=gr.Progress()):
        outcomes = add_links(text, source, index, settings, _gradio_progress(progress))
        retry = "\n".join(o.url for o in outcomes if not o.ok and o.url)  # the ones to mend and try again
        return (retry, shown(outcomes), *after())

    def on_record(url, progress=gr.Progress()):
        outcomes = record_feed(url, source, index, settings, _gradio_progress(progress))
        return ("" if outcomes[0].ok else url, shown(outcomes), *after())

    def on_check(progress=gr.Progress()):
        return (shown(check_feeds(source, index, settings, _gradio_progress(progress))), *after())

    # One build at a time, uploads included: builds lock the index folder and use every core.
    queue = {"concurrency_limit": 1, "concurrency_id": uploads.BUILD_QUEUE, "api_visibility": "private"}
    add.click(on_links, links, [links, links_result, *refreshed], **queue)
    gr.on([record.click, feed.submit], on_record, feed, [feed, feeds_result, *refreshed], **queue)
    check.click(on_check, None, [feeds_result, *refreshed], **queue)


def _gradio_progress(progress) -> Progress:
    return lambda stage, done, total: progress((done, total), desc=stage)
