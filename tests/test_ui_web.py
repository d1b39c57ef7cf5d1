"""The web app's "Add by link" and feeds (ui/adding.py, wired in ui/app.py): real pages served by a
real HTTP server on 127.0.0.1 (tests/webserver.py), the real model and index, the app's own
handlers, and its `ask` endpoint through gradio_client against the launched app.

The app is a server, so with its default settings it must refuse to fetch this machine and its
network (SSRF): 127.0.0.1, 10.0.0.1, the cloud metadata address 169.254.169.254, and a redirect
from an allowed server to any of them. Refused means: a clear line, nothing saved, nothing
indexed, no request reaching the address. The tests that fetch the local server say so with
`fetch_private=True` or by allow-listing its host:port."""
from __future__ import annotations

import shutil
import socket
from html.parser import HTMLParser

import pytest
from gradio_client import Client

import qa
from qa import registry
from qa.settings import Settings
from ui import app as ui_app
from ui import serving as ui_serving
from ui.app import Conversation

from corpus import SEEDS
from webserver import PAGES, other_server, web_server  # noqa: F401  (pytest fixtures)

CNN = "/pages/cnn_article.html"
CNN_CANONICAL = "http://www.cnn.com/2013/11/27/travel/weather-thanksgiving/index.html"
QUESTION = "How many Americans did AAA expect to travel over the Thanksgiving holiday weekend?"


@pytest.fixture
def workspace(tmp_path, seed_index_dir):
    """A private copy of the seed articles and of their index, for tests that add articles."""
    source, index_dir = tmp_path / "articles", tmp_path / "index"
    shutil.copytree(SEEDS, source)
    shutil.copytree(seed_index_dir, index_dir)
    return source, qa.load_index(index_dir)


@pytest.fixture
def no_fetch_env(monkeypatch):
    for name in ("QA_FETCH_PRIVATE", "QA_FETCH_ALLOW"):
        monkeypatch.delenv(name, raising=False)


def handler(app, name: str):
    """A function the app runs for an event (a button, the question box), to call as the event would."""
    return next(f.fn for f in app.fns.values() if f.name == name)


class _Lines(HTMLParser):
    """(class, text) of each result line, and the links of a fragment."""

    def __init__(self, fragment: str):
        super().__init__(convert_charrefs=True)
        self.lines, self.links, self._open = [], [], None
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "li" and attrs.get("class") in ("qa-ok", "qa-bad"):
            self._open = [attrs["class"], ""]
            self.lines.append(self._open)
        if tag == "a" and not attrs.get("href", "#").startswith("#"):
            self.links.append(attrs)

    def handle_endtag(self, tag):
        if tag == "li":
            self._open = None

    def handle_data(self, data):
        if self._open:
            self._open[1] += data


def lines(fragment: str) -> list[tuple[str, str]]:
    return [tuple(line) for line in _Lines(fragment).lines]


def nothing_saved(source) -> bool:
    return not (source / "web").exists() and not registry.load(source)["pages"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_page_added_by_link_is_answerable_and_its_card_links_to_the_original_page(workspace, web_server):
    source, index = workspace
    app = ui_app.create_app(index, source_dir=source, settings=Settings(fetch_private=True))
    url = web_server.url(CNN)
    retry, result, status, _ = handler(app, "on_links")(f"  {url}  \n\n")
    doc_id = f"web/127.0.0.1_{web_server.port}/pages-cnn-article.html"
    assert lines(result) == [("qa-ok", f"{url}: added as {doc_id}; you can ask about it now")]
    assert retry == "" and "<b>6</b> articles" in status
    assert (source / doc_id).read_bytes() == (PAGES / "cnn_article.html").read_bytes()

    app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
               **ui_serving.launch_options())
    try:
        answer = Client(app.local_url, verbose=False).predict(QUESTION, api_name="/ask")
    finally:
        app.close()
    assert answer["answered"] and "43 million" in answer["text"]
    cited = answer["citations"][0]
    assert (cited["doc_id"], cited["url"], cited["source"]) == (doc_id, CNN_CANONICAL, "CNN")

    # The chat shows the same answer with a source card linking to the original page.
    # respond is a generator (a written answer streams); an extractive one is its one and last step.
    steps = list(handler(app, "respond")(QUESTION, Conversation(), 5, "hybrid", "any", "", ""))
    assert len(steps) == 1
    _, messages, _, _ = steps[-1]
    card_links = _Lines(messages[-1]["content"]).links
    assert card_links and {a["href"] for a in card_links} == {CNN_CANONICAL}
    assert all(a["rel"] == "noopener noreferrer nofollow" and a["target"] == "_blank" for a in card_links)

    # The same link again: nothing fetched into a second file, nothing rebuilt.
    generation = index.generation
    _, again, _, _ = handler(app, "on_links")(url)
    assert lines(again) == [("qa-ok", f"{url}: already in the index as {doc_id}")]
    assert index.generation == generation
    assert [p.name for p in (source / "web").rglob("*.html")] == ["pages-cnn-article.html"]


def test_with_default_settings_this_machine_and_its_network_are_refused(workspace, web_server, no_fetch_env):
    source, index = workspace
    app = ui_app.create_app(index, source_dir=source)  # settings from the environment: the defaults
    generation, hits = index.generation, len(web_server.hits)
    urls = [web_server.url(CNN), f"http://localhost:{web_server.port}{CNN}", "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "file:///etc/passwd"]
    retry, result, status, _ = handler(app, "on_links")("\n".join(urls))
    shown = lines(result)
    assert [kind for kind, _ in shown] == ["qa-bad"] * len(urls)
    for url, (_, line) in zip(urls, shown):
        assert line.startswith(f"{url}: not added, ")
    assert "127.0.0.1 is a loopback address" in shown[0][1]
    assert "localhost is a name for this machine" in shown[1][1]
    assert "10.0.0.1 is a private address" in shown[2][1]
    assert "169.254.169.254 is a link-local address" in shown[3][1]
    assert "only http:// and https://" in shown[5][1]
    assert retry.split("\n") == urls  # left in the box, to mend
    assert "<b>5</b> articles" in status

    _, feed_result, _, _ = handler(app, "on_record")(web_server.url("/feeds/news.rss"))
    assert lines(feed_result) == [("qa-bad", f"{web_server.url('/feeds/news.rss')}: not added, refused: "
                                             "127.0.0.1 is a loopback address")]
    assert not registry.load(source)["feeds"]

    assert nothing_saved(source) and index.generation == generation and len(index.articles()) == 5
    assert len(web_server.hits) == hits  # no request reached the server


def test_a_redirect_from_an_allowed_server_to_a_private_address_is_refused(workspace, web_server, other_server,
                                                                          no_fetch_env):
    source, index = workspace
    settings = Settings(fetch_allow=(f"127.0.0.1:{web_server.port}",))
    app = ui_app.create_app(index, source_dir=source, settings=settings)
    generation, others = index.generation, len(other_server.hits)
    targets = ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", other_server.url(CNN)]
    urls = [web_server.url(f"/redirect?to={target}") for target in targets]
    _, result, _, _ = handler(app, "on_links")("\n".join(urls))
    shown = lines(result)
    assert [kind for kind, _ in shown] == ["qa-bad"] * 3
    for url, target, (_, line) in zip(urls, targets, shown):
        assert line.startswith(f"{url}: not added, redirected to {target}: refused: ")
    assert len(other_server.hits) == others
    assert nothing_saved(source) and index.generation == generation


def test_feed_recorded_then_checked_adds_only_new_entries(workspace, web_server, no_fetch_env):
    source, index = workspace
    # One entry per check, so the second entry waits for "Check feeds".
    settings = Settings(fetch_allow=(f"127.0.0.1:{web_server.port}",), max_feed_entries=1)
    app = ui_app.create_app(index, source_dir=source, settings=settings)
    feed_url = web_server.url("/feeds/ui-test.atom")
    web_server.feeds["ui-test"] = ["/pages/yna_co_kr.html", "/pages/time_001.html"]
    try:
        nothing, _, _ = handler(app, "on_check")()
        assert lines(nothing) == [("qa-bad", "No feeds are recorded yet: add one by its address first.")]

        box, recorded, status, _ = handler(app, "on_record")(feed_url)
        yna = f"web/127.0.0.1_{web_server.port}/pages-yna-co-kr.html"
        assert lines(recorded) == [
            ("qa-ok", f"Feed recorded: Test news (ui-test) ({feed_url}), 2 entries listed"),
            ("qa-ok", f"{web_server.url('/pages/yna_co_kr.html')}: added as {yna}; you can ask about it now"),
            ("qa-ok", f"{feed_url}: 1 more entry left for the next check")]
        assert box == "" and "<b>6</b> articles" in status

        hits = len(web_server.hits)
        checked, status, _ = handler(app, "on_check")()
        time_doc = f"web/127.0.0.1_{web_server.port}/pages-time-001.html"
        assert lines(checked) == [
            ("qa-ok", f"{web_server.url('/pages/time_001.html')}: added as {time_doc}; you can ask about it now")]
        assert "<b>7</b> articles" in status
        assert web_server.hits[hits:] == ["/feeds/ui-test.atom", "/pages/time_001.html"]  # only the new entry

        again, _, _ = handler(app, "on_check")()
        assert lines(again) == [("qa-ok", "Nothing new in 1 feed.")]
    finally:
        del web_server.feeds["ui-test"]


def test_empty_and_too_many_links(workspace, no_fetch_env):
    source, index = workspace
    app = ui_app.create_app(index, source_dir=source, settings=Settings())
    _, empty, _, _ = handler(app, "on_links")("  \n ")
    assert lines(empty) == [("qa-bad", "Paste a link to a news page (http:// or https://), one per line.")]
    many = [f"http://10.0.0.{n}/" for n in range(1, 23)]
    _, result, _, _ = handler(app, "on_links")("\n".join(many))
    shown = lines(result)
    assert len(shown) == 22 and all(kind == "qa-bad" for kind, _ in shown)
    assert shown[-1][1] == "http://10.0.0.22/: not fetched, at most 20 links at a time"
    assert nothing_saved(source)
