"""`qa serve`: build the index on first start, load the model once, launch the app (ui/app.py)
on 127.0.0.1 unless told otherwise, with a password (HTTP Basic auth) and MCP when asked."""
import os
import sys
import time
from pathlib import Path

import gradio as gr

import qa
from qa.answer import ask
from qa.settings import from_env

from . import mcp_auth, render, uploads
from .app import EXAMPLES, create_app

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def launch_options(max_upload_bytes: int | None = None) -> dict:
    """Keyword arguments for Blocks.launch that the page needs (Gradio 6 takes theme and CSS
    at launch): the styles of ui/render.py, no server-side rendering (no Node), no share link."""
    return {
        "theme": gr.themes.Default(), "css": render.CSS, "share": False, "ssr_mode": False,
        "max_file_size": uploads.max_upload_bytes() if max_upload_bytes is None else max_upload_bytes,
        "footer_links": ["api", "settings"], "show_error": True,
    }


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
