"""Browser fixtures: one `qa serve` subprocess per session (it builds its index on first start
from a temporary copy of the seeds) and one Chromium; each test gets a fresh tab.

The app may fetch from the tests' news server on 127.0.0.1 (tests/webserver.py) because that
one host:port is allow-listed (QA_FETCH_ALLOW), as an administrator would trust an intranet
server; every other private address stays refused."""
from __future__ import annotations

import shutil
import sys
from urllib.parse import urlparse

import pytest

from corpus import ROOT, SEEDS
from pages import CHROMIUM, CHROMIUM_ARGS, LOCAL, START_TIMEOUT, Server, Session
from scripted_llm import ScriptedLLM
from webserver import web_server  # noqa: F401  (pytest fixture)

sys.path.insert(0, str(ROOT / "bench"))
from serving import running_server  # noqa: E402


@pytest.fixture(scope="session")
def scripted_llm():
    """The app's language model for written answers: a scripted OpenAI-compatible server on
    127.0.0.1 (the switch for written answers is shown only when one is configured)."""
    server = ScriptedLLM()
    yield server
    server.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory, web_server, scripted_llm):
    work = tmp_path_factory.mktemp("serve")
    source, index_dir, log = work / "articles", work / "index", work / "serve.log"
    shutil.copytree(SEEDS, source)
    env = {"QA_FETCH_PRIVATE": "0", "QA_FETCH_ALLOW": f"127.0.0.1:{web_server.port}",
           "QA_LLM_URL": scripted_llm.url, "QA_LLM_MODEL": "scripted-model"}
    try:
        with running_server(index_dir, source, log, "--mcp", timeout=START_TIMEOUT, env=env) as url:
            yield Server(url, source, index_dir, log)
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # A default launch uses a fresh, temporary profile.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def session(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    tab = Session(page)

    def on_dialog(dialog):
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_request(request):
        parsed = urlparse(request.url)
        if parsed.scheme not in ("data", "blob", "about") and parsed.hostname not in LOCAL:
            tab.outside_requests.append(request.url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.goto(server.url)
    page.locator("#qa-question textarea").wait_for(timeout=60_000)
    yield tab
    context.close()
    assert tab.dialogs == [], "the page opened dialogs"
    assert tab.outside_requests == [], "the page sent requests off this machine"


