"""A real HTTP server on 127.0.0.1 for the tests that fetch: the news pages in
tests/data/pages/, RSS and Atom feeds listing them, and endpoints that misbehave.

Use it from a test module with

    from webserver import web_server  # noqa: F401  (the pytest fixture)

    def test_something(web_server):
        url = web_server.url("/pages/cnn_article.html")

One server runs per test session, however many modules import the fixture; it is shut down at
the end. Nothing here ever connects anywhere: redirects to 10.0.0.1 or 169.254.169.254 are
only *sent* to the client under test, which must refuse them.

Endpoints (GET):
    /pages/<file>             a page of tests/data/pages/ as text/html
    /feeds/<name>.rss         RSS 2.0 listing `server.feeds[name]` (a list of page paths, changeable)
    /feeds/<name>.atom        the same as Atom
    /status/<code>            that status with a short HTML body (404, 500, ...)
    /slow                     waits `server.slow_seconds` before answering
    /trickle                  sends its body one byte every 0.2 s
    /big, /big-chunked        `server.big_bytes` of HTML, with and without Content-Length
    /gzip-bomb                gzip that inflates to 20 MB of HTML
    /loop                     redirects to /loop2, which redirects back
    /redirect?to=URL          302 to URL (an absolute URL or a path)
    /image.png                a small PNG (image/png)
    /empty                    200 text/html with no body
    /changing                 a page whose text is `server.changing_text`
    /windows-1256             an Arabic page in windows-1256, its charset only in the HTTP header
"""
from __future__ import annotations

import gzip
import html
import http.server
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

PAGES = Path(__file__).parent / "data" / "pages"
PAGE_FILES = ("cnn_article.html", "time_001.html", "yna_co_kr.html", "arabic_article.html")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
       b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


LEGACY_ARABIC = (
    "اتفقت مصر وباكستان يوم الثلاثاء على إنشاء مصنع لناقلات الجند المدرعة قرب الإسكندرية، وفق بيان مشترك.",
    "وسينتج المصنع مئة وعشرين مركبة في العام اعتبارا من عام ألفين وسبعة وعشرين، مع تدريب العمال المصريين.",
)


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "qa-test/1"

    def log_message(self, *args):  # quiet: pytest shows failures, not access logs
        pass

    def do_GET(self):
        srv: NewsServer = self.server.owner
        srv.hits.append(self.path)
        srv.agents.append(self.headers.get("User-Agent", ""))
        path, query = urlsplit(self.path).path, parse_qs(urlsplit(self.path).query)
        try:
            self._route(srv, path, query)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client under test gave up, as it should

    def _route(self, srv, path, query):
        if path.startswith("/pages/") and path[7:] in PAGE_FILES:
            self._send(200, (PAGES / path[7:]).read_bytes(), "text/html; charset=utf-8")
        elif path.startswith("/feeds/") and path.endswith((".rss", ".atom")):
            name, kind = path[7:].rsplit(".", 1)
            if name not in srv.feeds:
                return self._send(404, b"<h1>no such feed</h1>", "text/html")
            body = srv.feed_xml(name, kind)
            self._send(200, body, "application/rss+xml" if kind == "rss" else "application/atom+xml")
        elif path.startswith("/status/"):
            code = int(path[8:])
            self._send(code, f"<h1>{code}</h1>".encode(), "text/html")
        elif path == "/slow":
            time.sleep(srv.slow_seconds)
            self._send(200, b"<p>late</p>", "text/html")
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        elif path == "/big":
            self._send(200, b"<p>" + b"a" * srv.big_bytes, "text/html")
        elif path == "/big-chunked":  # no Content-Length: the end is when the server closes
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Connection", "close")
            self.end_headers()
            sent = 0
            while sent < srv.big_bytes + 10:
                self.wfile.write(b"<p>" + b"b" * 9997)
                sent += 10000
        elif path == "/gzip-bomb":
            self._send(200, srv.bomb, "text/html", extra={"Content-Encoding": "gzip"})
        elif path == "/loop":
            self._redirect("/loop2")
        elif path == "/loop2":
            self._redirect("/loop")
        elif path == "/redirect":
            self._redirect(query.get("to", ["/"])[0])
        elif path == "/image.png":
            self._send(200, PNG, "image/png")
        elif path == "/empty":
            self._send(200, b"", "text/html")
        elif path == "/changing":
            text = html.escape(srv.changing_text)
            self._send(200, f"<html><head><title>Changing</title></head><body><article><p>{text}</p>"
                            f"</article></body></html>".encode(), "text/html; charset=utf-8")
        elif path == "/windows-1256":
            paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in LEGACY_ARABIC)
            body = f"<html><head><title>مصنع مدرعات</title></head><body><article>{paragraphs}</article></body></html>"
            self._send(200, body.encode("cp1256"), "text/html; charset=windows-1256")
        else:
            self._send(404, b"<h1>Not Found</h1>", "text/html")

    def _send(self, code, body, content_type, extra=None):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


class NewsServer:
    """A ThreadingHTTPServer on 127.0.0.1 (port 0: any free port) and what it has been asked."""

    def __init__(self):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.hits: list[str] = []     # paths requested, in order
        self.agents: list[str] = []   # User-Agent of each request
        # Feeds by name: page paths in the order the feed lists them. Tests add their own.
        self.feeds: dict[str, list[str]] = {"news": [f"/pages/{f}" for f in PAGE_FILES]}
        self.slow_seconds = 4.0
        self.big_bytes = 300_000
        self.changing_text = "The first version of this story."
        self.bomb = gzip.compress(b"<p>" + b"0" * 20_000_000)
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)

    def start(self) -> "NewsServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def feed_xml(self, name: str, kind: str) -> bytes:
        items = []
        for n, path in enumerate(self.feeds[name]):
            link = html.escape(self.url(path))
            title = html.escape(f"Story {n + 1}: {Path(urlsplit(path).path).stem}")
            day = f"2024-01-{n + 1:02d}"
            if kind == "rss":
                items.append(f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
                             f"<pubDate>{_rfc822(day)}</pubDate></item>")
            else:
                items.append(f"<entry><title>{title}</title><link rel=\"alternate\" href=\"{link}\"/>"
                             f"<id>{link}</id><updated>{day}T00:00:00Z</updated></entry>")
        if kind == "rss":
            doc = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>"
                   f"<title>Test news ({name})</title><link>{self.url('/')}</link>"
                   f"<description>Local test feed</description>{''.join(items)}</channel></rss>")
        else:
            doc = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">"
                   f"<title>Test news ({name})</title><id>{self.url('/feeds/' + name)}</id>"
                   f"<updated>2024-01-31T00:00:00Z</updated>{''.join(items)}</feed>")
        return doc.encode("utf-8")


def _rfc822(day: str) -> str:
    import email.utils
    from datetime import datetime, timezone

    return email.utils.format_datetime(datetime.fromisoformat(day).replace(tzinfo=timezone.utc))


_lock = threading.Lock()
_shared: dict = {"server": None, "users": 0}


def start_shared() -> NewsServer:
    """The session's server, started on first use (several modules may import the fixture)."""
    with _lock:
        if _shared["server"] is None:
            _shared["server"] = NewsServer().start()
        _shared["users"] += 1
        return _shared["server"]


def stop_shared() -> None:
    with _lock:
        _shared["users"] -= 1
        if _shared["users"] == 0 and _shared["server"] is not None:
            _shared["server"].stop()
            _shared["server"] = None


@pytest.fixture(scope="session")
def web_server():
    server = start_shared()
    yield server
    stop_shared()


@pytest.fixture(scope="session")
def other_server():
    """A second server on another port of 127.0.0.1, which no refused redirect may reach."""
    server = NewsServer().start()
    yield server
    server.stop()
