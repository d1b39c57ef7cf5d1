"""The web app: a conversation over the index with numbered, checkable sources.

`create_app(index)` builds the Gradio Blocks without launching them (tests drive it directly).
Rendering lives in ui/render.py, uploads in ui/uploads.py, pages and feeds added from the web in
ui/adding.py, the /ask and /search endpoints (and MCP tools) in ui/api.py, and `qa serve` in
ui/serving.py; this module only wires them to components.
"""
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import gradio as gr  # ui/__init__.py has switched its analytics off

import qa
from qa.answer import ask
from qa.settings import Settings, from_env
from qa.validation import validate_request

from . import adding, api, render, uploads
from .api import CONCURRENCY, log_refusal

EXAMPLES = [
    "What has Egypt co-produced with Türkiye?",
    "مع أي شركة تركية بدأ إنتاج المركبات الأرضية المسيرة؟",
    "What did Egypt and Pakistan discuss in the Cairo defence meetings?",
    "Where will Egyptian officers be trained under the deal with Russia?",
]
MODES = ["hybrid", "dense", "lexical"]
ANY_LANGUAGE = "any"
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
                        yield gr.skip(), list(conversation.messages + asked) + [drafting], conversation, ""
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
        yield gr.skip(), list(messages), conversation, ""

    def take_question(text):
        return "", text

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

        # The question leaves its box the moment it is sent (`take_question`), so that the next
        # one can be typed while it is answered: outputs of `respond`, the box's included, are set
        # again when its event ends, after the answer is shown, and would wipe what was typed.
        # A question sent while the last is still being answered waits its turn ("always_last";
        # Gradio's default, "once", drops it without a word).
        sent = gr.State("")
        chat_inputs = [sent, conversation, k, mode, lang, date_from, date_to, written]
        chat_outputs = [question, chatbot, conversation, hint]
        answering = dict(api_visibility="private", show_progress="minimal", trigger_mode="always_last")
        gr.on([question.submit, ask_button.click], take_question, question, [question, sent], queue=False,
              api_visibility="private", show_progress="hidden") \
            .then(respond, chat_inputs, chat_outputs, **answering) \
            .then(None, js=SCROLL_TO_LATEST, api_visibility="private")
        example_list.click(lambda sample: ("", sample[0]), example_list, [question, sent], queue=False,
                           api_visibility="private", show_progress="hidden") \
            .then(respond, chat_inputs, chat_outputs, **answering) \
            .then(None, js=SCROLL_TO_LATEST, api_visibility="private")
        new_chat.click(lambda: ([], Conversation(), ""), None, [chatbot, conversation, hint],
                       api_visibility="private")
        chatbot.clear(lambda: Conversation(), None, conversation, api_visibility="private")
        # One build at a time (with the pages added by link): builds lock the index folder and
        # use every core.
        upload.upload(add_files, upload, [upload, upload_result, status_box, lang], concurrency_limit=1,
                      concurrency_id=uploads.BUILD_QUEUE, api_visibility="private")
        app.load(status, None, status_box, api_visibility="private")

        api.register(index, settings)
    return app.queue(default_concurrency_limit=CONCURRENCY)


def _slider_value(k):
    """The slider sends 5.0 for 5; anything else goes to the shared checks as it came."""
    return int(k) if isinstance(k, float) and k.is_integer() else k


def _where(lang, date_from, date_to) -> dict | None:
    where = {"lang": lang if lang and lang != ANY_LANGUAGE else None,
             "date_from": (date_from or "").strip() or None, "date_to": (date_to or "").strip() or None}
    return {k: v for k, v in where.items() if v} or None


def _languages(index: qa.Index) -> list[str]:
    return [ANY_LANGUAGE] + sorted(index.info().get("languages") or {})
