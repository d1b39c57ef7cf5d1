"""The web app: a conversation over the index with numbered, checkable sources.

`create_app(index)` builds the Gradio Blocks without launching them (tests drive it directly);
`serve()` is `qa serve`: it builds the index on first start, loads the model once, and
launches on 127.0.0.1 unless told otherwise. Rendering lives in ui/render.py, uploads in
ui/uploads.py, pages and feeds added from the web in ui/adding.py; this module only wires them
to components.
"""
import os

# Before gradio is imported: the app runs offline and must not call home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import functools  # noqa: E402
import queue  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402

import qa  # noqa: E402
from qa.answer import ask  # noqa: E402
from qa.settings import Settings, from_env  # noqa: E402
from qa.validation import validate_request  # noqa: E402

from . import adding, mcp_auth, render, uploads  # noqa: E402

EXAMPLES = [
    "What has Egypt co-produced with Türkiye?",
    "مع أي شركة تركية بدأ إنتاج المركبات الأرضية المسيرة؟",
    "What did Egypt and Pakistan discuss in the Cairo defence meetings?",
    "Where will Egyptian officers be trained under the deal with Russia?",
]
MODES = ["hybrid", "dense", "lexical"]
ANY_LANGUAGE = "any"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Two answers at a time: each is a few hundred milliseconds of CPU (embedding on one torch
# thread), so on a 2-core machine more parallel requests only slow every one of them down;
# the rest wait in Gradio's queue instead of piling up threads.
CONCURRENCY = 2
# After an answer arrives, scroll the chat to the start of the new question rather than the end
# of its sources (the chatbot's own autoscroll would show the last source card, not the answer).
SCROLL_TO_LATEST = """() => setTimeout(() => {
  const asked = document.querySelectorAll('#qa-chat .qa-question');
  const last = asked[asked.length - 1];
  let box = last && last.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight && /auto|scroll/.test(getComputedStyle(box).overflowY)))
    box = box.parentElement;
  if (box) box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
}, 250)"""


@dataclass(frozen=True)
class Conversation:
    """What one browser session has said: chat messages (HTML) and the turns handed to ask()."""

    messages: tuple = ()
    turns: tuple = ()  # (question, answer text) pairs: the `history` of the next question


def create_app(index: qa.Index, source_dir: str | Path = "seeds", *, examples: list[str] | None = None,
               max_upload_bytes: int | None = None, settings: Settings | None = None) -> gr.Blocks:
    """The app over an open `index`; uploads and pages added by link are saved under
    `source_dir` and indexed into it. `settings` (default: from QA_* variables) decide what
    may be fetched: `fetch_private`, `fetch_allow`, and the fetch limits."""
    source = Path(source_dir)
    settings = from_env() if settings is None else settings
    limit = uploads.max_upload_bytes() if max_upload_bytes is None else max_upload_bytes
    examples = EXAMPLES if examples is None else examples

    def article_text(doc_id: str) -> str | None:
        try:
            return index.article(doc_id).text
        except KeyError:
            return None

    def respond(question, conversation, k, mode, lang, date_from, date_to, written=False):
        """A generator: a written answer is shown as it streams in, then replaced by the
        checked one with its sources; an extractive answer comes in one step."""
        try:
            checked = validate_request(question or "", k=_slider_value(k), mode=mode,
                                       where=_where(lang, date_from, date_to), history=list(conversation.turns))
            request = dict(history=checked.history, k=checked.k, mode=checked.mode, where=checked.where)
            if written and settings.llm_configured:
                asked = ({"role": "user", "content": render.render_question(checked.question)},)
                answer = None
                for answer, draft in streamed(checked.question, request):
                    if answer is None:
                        drafting = {"role": "assistant", "content": render.render_draft(draft, settings.llm_model)}
                        yield "", list(conversation.messages + asked) + [drafting], conversation, ""
            else:
                answer = ask(checked.question, index, **request)
        except qa.EmptyQueryError:
            yield question, gr.skip(), conversation, render.render_hint(render.EMPTY_HINT)
            return
        except qa.QAError as exc:
            # Shown under the question box, where the reader can mend it (a date typed wrong).
            log_refusal("chat", exc)
            yield question, gr.skip(), conversation, render.render_hint(str(exc))
            return
        turn = len(conversation.turns) + 1
        messages = conversation.messages + (
            {"role": "user", "content": render.render_question(answer.question)},
            {"role": "assistant", "content": render.render_answer(answer, turn, article_text)},
        )
        conversation = Conversation(messages, conversation.turns + ((answer.question, answer.text),))
        yield "", list(messages), conversation, ""

    def streamed(question, request):
        """(None, text so far) while the model writes, then (checked answer, None). The answer
        is computed in a thread; its QAError is raised here."""
        updates: queue.Queue = queue.Queue()
        outcome: dict = {}

        def work():
            try:
                outcome["answer"] = ask(question, index, generate=True, settings=settings,
                                        on_text=updates.put, **request)
            except BaseException as exc:  # handed to the request's own thread
                outcome["error"] = exc
            finally:
                updates.put(None)

        threading.Thread(target=work, daemon=True, name="qa-written-answer").start()
        while True:
            text = updates.get()
            while text is not None and not updates.empty():
                text = updates.get()  # only the newest draft is worth drawing
            if text is None:
                break
            yield None, text
        if "error" in outcome:
            raise outcome["error"]
        yield outcome["answer"], None

    def add_files(files, progress=gr.Progress()):
        pairs = [(Path(f), Path(f).name) for f in (files or [])]
        outcomes = uploads.add_uploads(pairs, source, index, max_bytes=limit,
                                       progress=lambda stage, done, total: progress((done, total), desc=stage))
        lines = [(o.ok, o.message) for o in outcomes]
        return None, render.render_upload_results(lines), render.render_status(index.info()), \
            gr.update(choices=_languages(index))

    def status():
        index.refresh()  # a `qa build` from the terminal shows up on reload
        return render.render_status(index.info())

    with gr.Blocks(title="qa: answers with cited passages", analytics_enabled=False) as app:
        conversation = gr.State(Conversation())
        gr.HTML('<h1 class="qa-heading">Ask the news articles</h1>'
                '<p>Every sentence of an answer is quoted from an article and numbered; '
                'the numbered sources under it show where.</p>')
        status_box = gr.HTML(render.render_status(index.info()), elem_id="qa-status-box")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation", elem_id="qa-chat", height=640, autoscroll=False,
                    # Messages are HTML built by ui/render.py with every piece of text escaped;
                    # no Markdown or LaTeX pass may turn article text back into markup.
                    render_markdown=False, sanitize_html=True, latex_delimiters=[],
                    feedback_options=None, allow_file_downloads=False, buttons=[],
                    placeholder="Ask a question about the articles; answers cite their sources.")
                with gr.Row():
                    question = gr.Textbox(show_label=False, placeholder="Ask a question…", scale=5,
                                          elem_id="qa-question", autofocus=True)
                    ask_button = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
                # Shown only when a language model is configured (QA_LLM_URL, QA_LLM_MODEL).
                written = gr.Checkbox(value=False, visible=settings.llm_configured, elem_id="qa-written",
                                      label=f"Written answer by {settings.llm_model or 'a language model'}, "
                                            f"checked against its sources")
                hint = gr.HTML("", elem_id="qa-hint")
                example_list = gr.Dataset(components=[question], samples=[[q] for q in examples],
                                          label="Examples (click to ask)", elem_id="qa-examples")
                new_chat = gr.Button("New conversation", size="sm", elem_id="qa-new")
            with gr.Column(scale=1, min_width=280):
                with gr.Accordion("Settings", open=False, elem_id="qa-settings"):
                    k = gr.Slider(1, 10, value=5, step=1, label="Passages to draw the answer from")
                    mode = gr.Radio(MODES, value="hybrid", label="Search mode",
                                    info="hybrid = meaning + words; dense = meaning; lexical = words")
                    lang = gr.Dropdown(_languages(index), value=ANY_LANGUAGE, label="Language of articles")
                    date_from = gr.Textbox(label="Articles dated from", placeholder="YYYY-MM-DD")
                    date_to = gr.Textbox(label="Articles dated until", placeholder="YYYY-MM-DD")
                gr.HTML(f"<h3>Add articles</h3><p class='qa-hint'>{', '.join(uploads.ALLOWED_SUFFIXES)} "
                        f"files up to {limit / 1e6:g} MB; added to the index at once.</p>")
                upload = gr.File(label="Article files", file_count="multiple",
                                 file_types=list(uploads.ALLOWED_SUFFIXES), elem_id="qa-upload")
                upload_result = gr.HTML("", elem_id="qa-upload-result")
                adding.panel(index, source, settings, [status_box, lang], lambda: (
                    render.render_status(index.info()), gr.update(choices=_languages(index))))

        chat_inputs = [question, conversation, k, mode, lang, date_from, date_to, written]
        chat_outputs = [question, chatbot, conversation, hint]
        gr.on([question.submit, ask_button.click], respond, chat_inputs, chat_outputs,
              api_visibility="private", show_progress="minimal") \
            .then(None, js=SCROLL_TO_LATEST, api_visibility="private")
        example_list.click(lambda sample: sample[0], example_list, question, api_visibility="private") \
            .then(respond, chat_inputs, chat_outputs, api_visibility="private", show_progress="minimal") \
            .then(None, js=SCROLL_TO_LATEST, api_visibility="private")
        new_chat.click(lambda: ([], Conversation(), ""), None, [chatbot, conversation, hint],
                       api_visibility="private")
        chatbot.clear(lambda: Conversation(), None, conversation, api_visibility="private")
        # One build at a time (with the pages added by link): builds lock the index folder and
        # use every core.
        upload.upload(add_files, upload, [upload, upload_result, status_box, lang], concurrency_limit=1,
                      concurrency_id=uploads.BUILD_QUEUE, api_visibility="private")
        app.load(status, None, status_box, api_visibility="private")

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
    return app.queue(default_concurrency_limit=CONCURRENCY)


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


def launch_options(max_upload_bytes: int | None = None) -> dict:
    """Keyword arguments for Blocks.launch that the page needs (Gradio 6 takes theme and CSS
    at launch): the styles of ui/render.py, no server-side rendering (no Node), no share link."""
    return {
        "theme": gr.themes.Default(), "css": render.CSS, "share": False, "ssr_mode": False,
        "max_file_size": uploads.max_upload_bytes() if max_upload_bytes is None else max_upload_bytes,
        "footer_links": ["api", "settings"], "show_error": True,
    }


def log_refusal(endpoint: str, exc: qa.QAError, out=None) -> None:
    """One line in the server's terminal per refused request (Gradio would print a traceback)."""
    message = " ".join(str(exc).split())
    print(f"qa: {endpoint} refused: {type(exc).__name__}: {message}", file=out or sys.stderr, flush=True)


def _slider_value(k):
    """The slider sends 5.0 for 5; anything else goes to the shared checks as it came."""
    return int(k) if isinstance(k, float) and k.is_integer() else k


def _where(lang, date_from, date_to) -> dict | None:
    where = {"lang": lang if lang and lang != ANY_LANGUAGE else None,
             "date_from": (date_from or "").strip() or None, "date_to": (date_to or "").strip() or None}
    return {k: v for k, v in where.items() if v} or None


def _languages(index: qa.Index) -> list[str]:
    return [ANY_LANGUAGE] + sorted(index.info().get("languages") or {})


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """"user:password" (from --auth or QA_AUTH) as a pair; the password may contain ':'."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise qa.SettingsError("--auth and QA_AUTH take user:password, both parts non-empty")
    return user, password


def host_warning(host: str, has_auth: bool) -> str | None:
    """What to say when the app listens beyond this machine."""
    if host in LOCAL_HOSTS:
        return None
    return (f"qa: warning: listening on {host} makes the app reachable from other machines"
            + ("" if has_auth else "; anyone who can reach it can ask and upload (add --auth user:password)"))


class TerminalProgress:
    """Build progress as plain lines on stdout, at most about one per second per stage."""

    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.stage, self.last = None, 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != self.stage or done >= total or now - self.last >= 1.0:
            print(f"qa: {stage} {done}/{total}", file=self.out, flush=True)
            self.stage, self.last = stage, now


def open_or_build(index_dir: str | Path, source: str | Path) -> qa.Index:
    """The index at `index_dir`; on first start (no index there) built from `source`."""
    try:
        return qa.load_index(index_dir)
    except qa.IndexNotFoundError:
        pass
    print(f"qa: no index at {index_dir} yet; building it from {source} (first start)", flush=True)
    report = qa.build_index(source, index_dir, progress=TerminalProgress())
    print(report, flush=True)
    return qa.load_index(index_dir)


def warm_up(index: qa.Index) -> float:
    """Load the model and run one answer before the first visitor does; seconds it took."""
    started = time.perf_counter()
    try:
        ask(EXAMPLES[0], index)
    except qa.QAError:
        pass  # an index of other articles may have nothing to say; the model is loaded anyway
    return time.perf_counter() - started


def serve(index: str | Path = "index", source: str | Path = "seeds", host: str = "127.0.0.1", port: int = 7860,
          auth: str | None = None, mcp: bool = False) -> int:
    """`qa serve`: build on first start, load the model once, serve until interrupted. With
    `mcp`, the search and ask tools are also served to agents over MCP (streamable HTTP at
    /gradio_api/mcp/), behind the same address and password (HTTP Basic auth) as the app."""
    credentials = parse_auth(auth or os.environ.get("QA_AUTH"))
    if mcp:
        import importlib.util

        if importlib.util.find_spec("mcp") is None:  # gradio's MCP server needs it
            print("qa: error: --mcp needs the MCP server library: pip install 'qa[mcp]'", file=sys.stderr)
            return 2
    warning = host_warning(host, credentials is not None)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    opened = open_or_build(index, source)
    print(f"qa: model ready in {warm_up(opened):.1f}s; {opened.info()['articles']} articles", flush=True)
    settings = from_env()
    if settings.llm_configured:
        print(f"qa: written answers by {settings.llm_model} at {settings.llm_url}", flush=True)
    if settings.fetch_private:
        print("qa: warning: QA_FETCH_PRIVATE is on: \"Add by link\" may fetch addresses on this machine and its "
              "network", file=sys.stderr, flush=True)
    app = create_app(opened, source_dir=source, settings=settings)
    try:
        # quiet: Gradio's banner suggests share=True, which this app never uses.
        print(f"qa: serving on http://{'127.0.0.1' if host in LOCAL_HOSTS else host}:{port}/ (Ctrl+C to stop)",
              flush=True)
        if mcp:
            print(f"qa: MCP tools search and ask at http://{'127.0.0.1' if host in LOCAL_HOSTS else host}:{port}"
                  f"/gradio_api/mcp/", flush=True)
        # Behind a password, the MCP routes take the same user:password (ui/mcp_auth.py).
        app.launch(server_name=host, server_port=port, auth=credentials, quiet=True, mcp_server=mcp,
                   app_kwargs=mcp_auth.guarded(credentials if mcp else None), **launch_options())
    except OSError as exc:
        print(f"qa: error: cannot serve on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    return 0
