"""The `qa` command. Heavy libraries load inside the commands, so `qa --help` stays fast.
Any error, whatever the input, is one line on stderr (`qa: error: ...`), never a traceback:
library errors and bad input exit 1, a malformed command line exits 2."""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict

from .errors import FetchError, QAError

MODES = ("hybrid", "dense", "lexical")  # qa.validation.MODES; not imported, to keep `qa --help` light


def main(argv: list[str] | None = None) -> int:
    _printable_streams()
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        _error(exc)
        return 2
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return args.run(args) or 0
    except QAError as exc:
        _error(exc)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a folder we may not read or write, a full disk, ...
        _error(exc)
        return 1
    except Exception as exc:
        if os.environ.get("QA_TRACEBACK"):
            raise
        _error(f"unexpected {type(exc).__name__}: {exc} (set QA_TRACEBACK=1 to see where)")
        return 1


def _error(message) -> None:
    print(f"qa: error: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


def _printable_streams() -> None:
    """Undecodable bytes in arguments or file names reach Python as lone surrogates, which a
    strict stream refuses to print: escape them instead of failing mid-output."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass  # a replaced stream (tests, pipes wrapped by other tools) keeps its own rules


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with its errors as one line (argparse prints the usage, then exits)."""

    def error(self, message):
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def _whole_number(text: str):
    """-k as typed: an int when it is one, else the text, which the shared checks refuse
    with the same message as the Python API and the web app."""
    try:
        return int(text)
    except ValueError:
        return text


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="qa", description="Question answering with cited passages over news articles.")
    sub = p.add_subparsers(metavar="COMMAND")

    b = sub.add_parser("build", help="index the articles of a folder (incremental)")
    b.add_argument("source", nargs="?", default="seeds", help="folder of articles (default: seeds)")
    _index_arg(b)
    b.add_argument("--model", help="sentence-transformers model name or path (default: bundled all-MiniLM-L6-v2)")
    b.add_argument("--model-languages", help="languages the model covers, e.g. en or en,ar or * (default: inferred)")
    b.add_argument("--rebuild", action="store_true", help="start a fresh index instead of updating")
    b.add_argument("--ray", nargs="?", const=True, metavar="ADDRESS",
                   help="read and embed on Ray: alone starts a local Ray (or joins RAY_ADDRESS); "
                        "with an address (host:port) joins that cluster. Needs pip install 'qa[ray]'")
    b.add_argument("--json", action="store_true", help="print the report as JSON")
    b.set_defaults(run=_build)

    s = sub.add_parser("search", help="the passages that best match a query")
    s.add_argument("query")
    _index_arg(s)
    s.add_argument("-k", type=_whole_number, default=5, help="number of passages (default: 5)")
    _mode_arg(s)
    _filter_args(s)
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(run=_search)

    a = sub.add_parser("ask", help="answer a question with cited passages")
    a.add_argument("question")
    _index_arg(a)
    a.add_argument("-k", type=_whole_number, default=5, help="passages to draw the answer from (default: 5)")
    _mode_arg(a)
    _filter_args(a)
    a.add_argument("--llm", action="store_true",
                   help="a language model writes the answer, every sentence checked against its citations "
                        "(QA_LLM_URL, QA_LLM_MODEL, QA_LLM_API_KEY: any OpenAI-compatible endpoint)")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(run=_ask)

    i = sub.add_parser("info", help="what the index holds")
    _index_arg(i)
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(run=_info)

    e = sub.add_parser("eval", help="score retrieval and answers on a labelled question file (JSONL)")
    e.add_argument("questions")
    _index_arg(e)
    e.add_argument("--mode", choices=["hybrid", "dense", "lexical", "all"], default="all")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.set_defaults(run=_eval)

    d = sub.add_parser("add", help="save web pages (or record a feed) into the source folder, then index them")
    d.add_argument("urls", nargs="*", metavar="URL", help="web pages to save (http:// or https://)")
    d.add_argument("--feed", action="append", metavar="URL",
                   help="record an RSS or Atom feed and fetch its entries (qa refresh fetches new ones later)")
    d.add_argument("--source", default="seeds", help="folder the pages are saved in (default: seeds)")
    _index_arg(d)
    d.add_argument("--json", action="store_true", help="print the reports as JSON")
    d.set_defaults(run=_add)

    r = sub.add_parser("refresh", help="fetch the new entries of the recorded feeds, then index them")
    r.add_argument("--source", default="seeds", help="folder the feeds were added to (default: seeds)")
    _index_arg(r)
    r.add_argument("--json", action="store_true", help="print the reports as JSON")
    r.set_defaults(run=_refresh)

    v = sub.add_parser("serve", help="start the web app (builds the index first if there is none)")
    _index_arg(v)
    v.add_argument("--source", default="seeds", help="folder of articles (default: seeds)")
    v.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    v.add_argument("--port", type=int, default=7860)
    v.add_argument("--auth", help="user:password required to open the app (or QA_AUTH)")
    v.add_argument("--mcp", action="store_true",
                   help="also serve the search and ask tools to agents over MCP, at /gradio_api/mcp/ "
                        "(needs pip install 'qa[mcp]')")
    v.set_defaults(run=_serve)
    return p


def _index_arg(p):
    p.add_argument("--index", default="index", help="index folder (default: index)")


def _mode_arg(p):
    # Checked with the other inputs (qa.validation), so a bad mode reads as everywhere else.
    p.add_argument("--mode", default="hybrid", metavar="{" + ",".join(MODES) + "}",
                   help="hybrid = meaning + words; dense = meaning; lexical = words (default: hybrid)")


def _filter_args(p):
    p.add_argument("--lang", help="only articles in this language (en, ar, ...)")
    p.add_argument("--source-name", dest="source_name", help="only articles from this outlet")
    p.add_argument("--author", help="only articles by this author")
    p.add_argument("--date-from", help="only articles dated on or after (YYYY-MM-DD)")
    p.add_argument("--date-to", help="only articles dated on or before (YYYY-MM-DD)")


def _where(args) -> dict | None:
    where = {"lang": args.lang, "source": args.source_name, "author": args.author,
             "date_from": args.date_from, "date_to": args.date_to}
    where = {k: v for k, v in where.items() if v}
    return where or None


def _build(args) -> int:
    from .build import build_index
    from .settings import from_env

    settings = from_env(model=args.model, model_languages=args.model_languages)
    with _Progress() as progress:
        report = build_index(args.source, args.index, settings=settings, rebuild=args.rebuild, progress=progress,
                             ray=args.ray)
    print(json.dumps(asdict(report), ensure_ascii=False, indent=2) if args.json else report)
    return 0


def _search(args) -> int:
    from .index import load_index
    from .validation import validate_request

    # Checked before the index is opened: bad input is reported as such, even without an index.
    query, k, mode, where, _ = validate_request(args.query, k=args.k, mode=args.mode, where=_where(args))
    hits = load_index(args.index).search(query, k=k, mode=mode, where=where)
    if args.json:
        print(json.dumps([asdict(h) for h in hits], ensure_ascii=False, indent=2))
    else:
        if not hits:
            print("no passages found")
        for n, h in enumerate(hits, 1):
            print(f"[{n}] {h.score:.4f} {h}\n")
    return 0


def _ask(args) -> int:
    from .answer import ask
    from .index import load_index
    from .validation import validate_request

    _, k, mode, where, _ = validate_request(args.question, k=args.k, mode=args.mode, where=_where(args))
    answer = ask(args.question, load_index(args.index), k=k, mode=mode, where=where, generate=args.llm)
    if args.json:
        print(json.dumps(asdict(answer), ensure_ascii=False, indent=2))
    else:
        print(answer)
    return 0


def _info(args) -> int:
    from .index import load_index

    info = load_index(args.index).info()
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        for key, value in info.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k} {v}" for k, v in value.items())
            print(f"{key:16} {value}")
    return 0


def _eval(args) -> int:
    from .evaluate import evaluate, format_table
    from .index import load_index

    index = load_index(args.index)
    modes = ["dense", "lexical", "hybrid"] if args.mode == "all" else [args.mode]
    results = {mode: evaluate(args.questions, index, mode=mode) for mode in modes}
    print(json.dumps(results, indent=2) if args.json else format_table(results))
    return 0


def _add(args) -> int:
    from .settings import from_env
    from .web import SaveReport, add_feed, poll_feeds, save_pages

    if not args.urls and not args.feed:
        _error("give at least one URL to save, or --feed URL (see `qa add --help`)")
        return 2
    settings = from_env()
    # The command line runs as the user, on the user's machine: it may fetch private addresses.
    report, feeds = SaveReport(), []
    with _Progress() as progress:
        if args.urls:
            report = save_pages(args.urls, args.source, settings=settings, allow_private=True, progress=progress)
        for url in args.feed or []:
            try:
                feeds.append(add_feed(url, args.source, settings=settings, allow_private=True))
            except FetchError as exc:
                report.failed.append((url, str(exc)))
        if feeds:  # a newcomer expects the feed's articles now, not at the next refresh
            polled = poll_feeds(args.source, settings=settings, allow_private=True, progress=progress,
                                only=[f.url for f in feeds])
            report = SaveReport(saved=report.saved + polled.saved, unchanged=report.unchanged + polled.unchanged,
                                failed=report.failed + polled.failed)
    return _index_saved(args, settings, report, feeds)


def _refresh(args) -> int:
    from .settings import from_env
    from .web import feeds, poll_feeds

    if not feeds(args.source):
        raise QAError(f"no feeds recorded in {args.source}; add one with `qa add --feed URL --source {args.source}`")
    settings = from_env()
    with _Progress() as progress:
        report = poll_feeds(args.source, settings=settings, allow_private=True, progress=progress)
    return _index_saved(args, settings, report, [])


def _index_saved(args, settings, report, feeds) -> int:
    """Print what was fetched, build when anything is there to index, and say when nothing changed."""
    from .build import build_index

    built = None
    if report.saved or report.unchanged:
        with _Progress() as progress:
            built = build_index(args.source, args.index, settings=settings, progress=progress)
    if args.json:
        print(json.dumps({"feeds": [asdict(f) for f in feeds], "fetch": asdict(report),
                          "build": asdict(built) if built else None}, ensure_ascii=False, indent=2))
    else:
        for feed in feeds:
            print(feed)
        print(report)
        if built is not None:
            print(built)
        if not report.saved and (built is None or not (built.added or built.updated or built.removed)):
            print("nothing new: no page was saved and the index did not change")
    everything_failed = report.failed and not report.saved and not report.unchanged
    return 1 if everything_failed else 0


def _serve(args) -> int:
    from ui.serving import serve

    return serve(index=args.index, source=args.source, host=args.host, port=args.port, auth=args.auth,
                 mcp=args.mcp)


class _Progress:
    """Progress bars on stderr for the stages of a build."""

    def __enter__(self):
        self.bars = {}
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total <= 1 and stage not in ("embedding", "multilingual"):
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            unit = {"embedding": "chunk", "terms": "chunk", "fetching": "page", "feeds": "feed"}.get(stage, "file")
            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit=unit,
                                          file=sys.stderr, leave=False)
        bar.update(done - bar.n)

    def __exit__(self, *exc):
        for bar in self.bars.values():
            bar.close()


if __name__ == "__main__":
    sys.exit(main())
