"""The app's two API endpoints, /ask and /search: JSON for scripts (gradio_client) and, with
`qa serve --mcp`, the MCP tools of the same names (their docstrings describe the tools).
ui/app.py registers them inside its Blocks; they share the chat's limit on concurrent answers."""
import functools
import sys
import threading
from dataclasses import asdict

import gradio as gr

import qa
from qa.answer import ask
from qa.settings import Settings
from qa.validation import validate_request

from . import render

# Two answers at a time: each is a few hundred milliseconds of CPU (embedding on one torch
# thread), so on a 2-core machine more parallel requests only slow every one of them down;
# the rest wait in Gradio's queue instead of piling up threads.
CONCURRENCY = 2


def register(index: qa.Index, settings: Settings) -> None:
    """Add /ask and /search to the Blocks being built (call inside its `with`)."""
    def ask_api(question: str, history: list[list[str]] | None = None, k: int = 5, mode: str = "hybrid",
                where: dict[str, str] | None = None, generate: bool = False) -> dict:
        """Answer a question from the indexed news articles, with every sentence cited.

        Args:
            question: the question, in English or Arabic.
            history: earlier turns of the conversation as [question, answer] pairs (for follow-ups).
            k: how many passages to draw the answer from (1-50).
            mode: "hybrid" (meaning and words), "dense" (meaning) or "lexical" (words).
            where: filters, e.g. {"lang": "ar", "date_from": "2025-01-01", "date_to": "2025-12-31"}.
            generate: a language model writes the answer (only where the server has one configured);
                every written sentence is checked against the passages it cites.

        Returns:
            {"text": answer with [n] markers, "answered": false when the articles do not answer,
            "citations": [{"n", "doc_id", "title", "text", "start", "end", "date", "source", "url",
            "lang"}, ...] where citations[n-1] is what [n] cites and text == article[start:end],
            "sentences": [[sentence, [n, ...]], ...], "generated": written by a model,
            "model", "dropped": written sentences the check removed, "notice": why a written answer
            was asked for and not given, "related": other passages retrieved}.
        """
        try:
            checked = validate_request(question or "", k=k, mode=mode, where=where, history=history)
            if generate and not settings.llm_configured:
                raise qa.SettingsError("this server has no language model configured for written answers "
                                       "(QA_LLM_URL, QA_LLM_MODEL); ask without generate")
            return answer_json(ask(checked.question, index, history=checked.history, k=checked.k,
                                   mode=checked.mode, where=checked.where, generate=generate, settings=settings))
        except qa.EmptyQueryError:
            return {"question": "", "text": render.EMPTY_HINT, "answered": False, "hint": True,
                    "citations": [], "related": [], "sentences": [], "generated": False, "dropped": [],
                    "model": None, "notice": None}
        except qa.QAError as exc:
            log_refusal("/ask", exc)
            # print_exception=False: the line above is the server's whole record of it.
            raise gr.Error(str(exc), print_exception=False) from None

    def search_api(query: str, k: int = 5, mode: str = "hybrid", where: dict[str, str] | None = None) -> list:
        """Search the indexed news articles for the passages that best match a query.

        Args:
            query: what to look for, in English or Arabic.
            k: how many passages to return (1-50).
            mode: "hybrid" (meaning and words), "dense" (meaning) or "lexical" (words).
            where: filters, e.g. {"lang": "ar", "date_from": "2025-01-01", "doc_id": "000_x.txt"}.

        Returns:
            Passages, best first: [{"doc_id", "title", "text", "start", "end", "score", "lang", "date",
            "source", "url", "author", "chunk_id"}, ...]; text == the article's text[start:end].
        """
        try:
            checked = validate_request(query or "", k=k, mode=mode, where=where)
            return [asdict(p) for p in index.search(checked.question, k=checked.k, mode=checked.mode,
                                                    where=checked.where)]
        except qa.QAError as exc:
            log_refusal("/search", exc)
            raise gr.Error(str(exc), print_exception=False) from None

    # MCP names a tool by its function's __name__ (gradio/mcp.py), the docstring describes it.
    ask_api.__name__, search_api.__name__ = "ask", "search"
    # Unqueued, so that an MCP call runs in this process (Gradio sends a queued one through a
    # loopback client that has no password); a semaphore keeps CONCURRENCY answers at a time.
    gr.api(limited(ask_api), api_name="ask", queue=False)
    gr.api(limited(search_api), api_name="search", queue=False)


_running = threading.BoundedSemaphore(CONCURRENCY)


def limited(fn):
    """`fn` run at most CONCURRENCY at a time across the app (what Gradio's queue does for the
    chat), keeping its name, signature and docstring (the MCP tool's description)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with _running:
            return fn(*args, **kwargs)
    return run


def answer_json(answer: qa.Answer) -> dict:
    """An Answer as plain JSON: citations[n-1] is the passage that [n] in `text` cites."""
    return {"question": answer.question, "text": answer.text, "answered": answer.answered, "hint": False,
            "citations": [{"n": n, **asdict(p)} for n, p in enumerate(answer.citations, 1)],
            "related": [asdict(p) for p in answer.related],
            "sentences": [[s, list(numbers)] for s, numbers in answer.sentences],
            "generated": answer.generated, "dropped": list(answer.dropped), "model": answer.model,
            "notice": answer.notice}


def log_refusal(endpoint: str, exc: qa.QAError, out=None) -> None:
    """One line in the server's terminal per refused request (Gradio would print a traceback)."""
    message = " ".join(str(exc).split())
    print(f"qa: {endpoint} refused: {type(exc).__name__}: {message}", file=out or sys.stderr, flush=True)
