"""Fetching pages and feeds from a real HTTP server on 127.0.0.1: limits, one-line reasons, and
the SSRF rules (refused addresses are refused before any connection, after DNS and after every
redirect; the address checked is the address connected to). No model is loaded here."""
from __future__ import annotations

import ipaddress
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import http.server
from urllib.parse import quote

import pytest

import qa
import qa.fetch
from qa import registry
from qa.fetch import fetch, refusal
from qa.settings import Settings, from_env
from qa.web import add_feed, poll_feeds, save_pages

from webserver import PAGES, other_server, web_server  # noqa: F401  (pytest fixtures)

FAST = Settings(fetch_timeout=1, max_fetch_bytes=100_000, max_redirects=3)


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    """Every TCP connection qa.fetch opens, as (address, port); any address outside 127.0.0.0/8
    fails the test before a packet is sent (these tests never reach beyond this machine)."""
    opened = []
    real = qa.fetch._open_socket

    def open_socket(address, port, timeout):
        opened.append((address, port))
        if not ipaddress.ip_address(address).is_loopback:
            raise AssertionError(f"qa.fetch tried to connect to {address}:{port}")
        return real(address, port, timeout)

    monkeypatch.setattr(qa.fetch, "_open_socket", open_socket)
    return opened


def fake_dns(monkeypatch, *answers):
    """Name lookups answer `answers` in turn (one list of addresses per lookup); a lookup of an
    address (which a second resolution before connecting would be) fails the test."""
    lookups = []

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            raise AssertionError(f"{host} looked up again")
        lookups.append(host)
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in answers[min(len(lookups), len(answers)) - 1]]

    monkeypatch.setattr(qa.fetch.socket, "getaddrinfo", getaddrinfo)
    return lookups


def refused(url, settings=FAST, **kwargs) -> str:
    with pytest.raises(qa.FetchError) as info:
        fetch(url, settings, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- a page, and what goes wrong -------------------------------------------------------------

def test_fetches_a_real_page_as_sent(web_server, connections):
    page = fetch(web_server.url("/pages/cnn_article.html"), Settings(), allow_private=True)
    assert page.status == 200 and page.content_type == "text/html" and page.charset == "utf-8"
    assert page.body == (PAGES / "cnn_article.html").read_bytes()
    assert page.url == web_server.url("/pages/cnn_article.html")
    assert web_server.agents[-1] == "qa/0.1 (+news question answering)"
    assert connections == [("127.0.0.1", web_server.port)]


def test_follows_a_redirect_and_reports_the_final_url(web_server):
    page = fetch(web_server.url("/redirect?to=/pages/time_001.html"), Settings(), allow_private=True)
    assert page.url == web_server.url("/pages/time_001.html")
    assert page.body == (PAGES / "time_001.html").read_bytes()


@pytest.mark.parametrize("path, reason", [
    ("/status/404", "HTTP 404 Not Found"),
    ("/status/500", "HTTP 500 Internal Server Error"),
    ("/big", "response is over the limit of 100,000 bytes"),          # Content-Length says so
    ("/big-chunked", "response is over the limit of 100,000 bytes"),  # no Content-Length
    ("/gzip-bomb", "response is over the limit of 100,000 bytes"),    # 20 MB once inflated
    ("/loop", "redirect loop"),
    ("/image.png", "content type image/png is not a web page"),
])
def test_each_failure_is_one_line_naming_the_url(web_server, path, reason):
    started = time.monotonic()
    message = refused(web_server.url(path), allow_private=True)
    assert message.startswith(web_server.url(path) + ": ") and reason in message
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("path", ["/slow", "/trickle"])
def test_a_slow_server_times_out_on_the_total_time(web_server, path):
    # /trickle sends a byte every 0.2 s: each read is quick, the whole is not.
    started = time.monotonic()
    message = refused(web_server.url(path), allow_private=True)
    assert message == f"{web_server.url(path)}: timed out after 1 s"
    assert time.monotonic() - started < 2.5


def test_too_many_redirects(web_server):
    url = "/pages/cnn_article.html"
    for _ in range(4):  # four hops, three allowed
        url = "/redirect?to=" + quote(url, safe="")
    assert "too many redirects (more than 3)" in refused(web_server.url(url), allow_private=True)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "javascript:alert(1)",
                                 "example.org/news", "http://", "http://example.org:99999/"])
def test_only_http_and_https_urls(url, connections):
    message = refused(url, allow_private=True)
    assert message.startswith(url) and connections == []


def test_a_feed_type_is_not_a_page_and_a_page_type_is_not_refused_as_a_feed(web_server):
    assert "content type application/rss+xml is not a web page" in refused(
        web_server.url("/feeds/news.rss"), allow_private=True)
    feed = fetch(web_server.url("/feeds/news.rss"), FAST, allow_private=True, types=qa.fetch.FEED_TYPES)
    assert feed.body.startswith(b"<?xml")


# -- SSRF ------------------------------------------------------------------------------------

@pytest.mark.parametrize("make_url, why", [
    (lambda port: f"http://127.0.0.1:{port}/pages/cnn_article.html", "127.0.0.1 is a loopback address"),
    (lambda port: "http://10.0.0.1/", "10.0.0.1 is a private address"),
    (lambda port: "http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    (lambda port: f"http://localhost:{port}/", "localhost is a name for this machine"),
    (lambda port: f"http://[::1]:{port}/", "::1 is a loopback address"),
    (lambda port: f"http://[::ffff:127.0.0.1]:{port}/", "is a loopback address"),
    (lambda port: "http://[fd00::1]/", "is a private address"),
    (lambda port: "http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT address"),
    (lambda port: f"http://0.0.0.0:{port}/", "is an unspecified address"),
    (lambda port: f"http://2130706433:{port}/", "2130706433 (127.0.0.1) is a loopback address"),  # 127.0.0.1 as a number
])
def test_private_addresses_are_refused_before_connecting(web_server, connections, make_url, why):
    url = make_url(web_server.port)
    started = time.monotonic()
    message = refused(url, allow_private=False)
    assert message.startswith(f"{url}: refused: ") and why in message
    assert connections == []  # refused before any connection: no connect timeout to wait for
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("target", ["http://127.0.0.1:{other}/pages/cnn_article.html", "http://10.0.0.1/admin",
                                    "http://169.254.169.254/latest/meta-data/", "http://localhost:{other}/",
                                    "http://[::1]:{other}/"])
def test_a_redirect_from_an_allowed_server_to_a_private_address_is_refused(web_server, other_server,
                                                                          connections, target):
    target = target.format(other=other_server.port)
    settings = FAST.replace(fetch_allow=[f"127.0.0.1:{web_server.port}"])
    url = web_server.url("/redirect?to=" + quote(target, safe=""))
    message = refused(url, settings, allow_private=False)
    assert message.startswith(f"{url} -> {target}: refused: ")
    assert other_server.hits == []
    assert connections == [("127.0.0.1", web_server.port)]  # only the allowed server was reached


def test_the_allow_list_admits_a_trusted_host_and_port(web_server):
    url = web_server.url("/pages/yna_co_kr.html")
    for entry in (f"127.0.0.1:{web_server.port}", "127.0.0.1"):
        assert fetch(url, FAST.replace(fetch_allow=[entry]), allow_private=False).status == 200
    assert "refused" in refused(url, FAST.replace(fetch_allow=[f"127.0.0.1:{web_server.port + 1}"]),
                                allow_private=False)


def test_every_address_a_name_resolves_to_is_checked(monkeypatch, connections):
    fake_dns(monkeypatch, ["93.184.216.34", "10.1.2.3"])
    message = refused("http://news.example/story", allow_private=False)
    assert message == "http://news.example/story: refused: news.example (10.1.2.3) is a private address"
    assert connections == []


def test_the_name_is_resolved_once_and_the_checked_address_is_the_one_connected(web_server, monkeypatch,
                                                                                 connections):
    """DNS rebinding: a second lookup would answer 10.0.0.1; there is no second lookup."""
    lookups = fake_dns(monkeypatch, ["127.0.0.1"], ["10.0.0.1"])
    settings = FAST.replace(fetch_allow=[f"intranet.test:{web_server.port}"])
    page = fetch(f"http://intranet.test:{web_server.port}/pages/cnn_article.html", settings, allow_private=False)
    assert page.status == 200 and lookups == ["intranet.test"]
    assert connections == [("127.0.0.1", web_server.port)]


@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("2606:4700::1111", True), ("64:ff9b::808:808", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("172.16.5.4", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("240.0.0.1", False), ("255.255.255.255", False), ("::1", False), ("::", False), ("fc00::1", False),
    ("fe80::1", False), ("ff02::1", False), ("::ffff:10.0.0.1", False), ("::ffff:169.254.169.254", False),
    ("64:ff9b::a00:1", False), ("2002:a00:1::", False),  # NAT64 and 6to4 forms of 10.0.0.1
])
def test_which_addresses_are_public(address, public):
    assert (refusal(ipaddress.ip_address(address)) is None) == public


def test_the_allow_list_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("QA_FETCH_ALLOW", "news.corp, 10.1.2.3:8080")
    assert from_env().fetch_allow == ("news.corp", "10.1.2.3:8080")


# -- HTTPS: the certificate is checked against the real name while connecting to the address --

@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=news.test", "-addext", "subjectAltName=DNS:news.test", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = f"<p>hello {self.headers['Host']}</p>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], cert
    httpd.shutdown()
    httpd.server_close()


def test_https_checks_the_certificate_for_the_real_name(tls_server, monkeypatch, connections):
    port, cert = tls_server
    fake_dns(monkeypatch, ["127.0.0.1"])
    settings = FAST.replace(fetch_allow=["news.test", "other.test"])
    # Not trusted by the system: refused, so verification is on.
    assert "certificate is not valid" in refused(f"https://news.test:{port}/", settings, allow_private=False)
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(qa.fetch.ssl, "create_default_context", lambda: trusting)
    page = fetch(f"https://news.test:{port}/", settings, allow_private=False)
    assert page.body == f"<p>hello news.test:{port}</p>".encode()  # SNI and Host carry the name, not the IP
    assert "certificate is not valid" in refused(f"https://other.test:{port}/", settings, allow_private=False)
    assert set(connections) == {("127.0.0.1", port)}


# -- saving pages into a source folder (no index) --------------------------------------------

def test_saving_is_stable_and_never_overwrites_another_file(web_server, tmp_path):
    url = web_server.url("/pages/cnn_article.html")
    folder = f"web/127.0.0.1_{web_server.port}"
    mine = tmp_path / folder / "pages-cnn-article.html"
    mine.parent.mkdir(parents=True)
    mine.write_text("my own notes")  # a file that is not the URL's own
    first = save_pages([url], tmp_path)
    (doc_id,) = [d for _, d in first.saved]
    assert doc_id.startswith(f"{folder}/pages-cnn-article-") and doc_id.endswith(".html")
    assert mine.read_text() == "my own notes"
    assert (tmp_path / doc_id).read_bytes() == (PAGES / "cnn_article.html").read_bytes()
    again = save_pages([url, url + "#comments"], tmp_path)
    assert again.saved == [] and again.unchanged == [(url, doc_id)]
    assert registry.page_urls(tmp_path) == {doc_id: url}


def test_changed_content_replaces_the_urls_own_file(web_server, tmp_path):
    url = web_server.url("/changing")
    web_server.changing_text = "The first version of this story."
    (first,) = save_pages([url], tmp_path).saved
    web_server.changing_text = "The story, corrected."
    (second,) = save_pages([url], tmp_path).saved
    assert first == second
    assert b"corrected" in (tmp_path / first[1]).read_bytes()
    assert len(list((tmp_path / "web").rglob("*.html"))) == 1


def test_one_failure_never_stops_the_others(web_server, tmp_path):
    urls = [web_server.url("/status/404"), web_server.url("/pages/yna_co_kr.html"), "ftp://x/y",
            web_server.url("/empty")]
    report = save_pages(urls, tmp_path, settings=FAST.replace(max_fetch_bytes=5_000_000))
    assert [u for u, _ in report.saved] == [web_server.url("/pages/yna_co_kr.html")]
    assert [r for _, r in report.failed] == [
        f"{urls[0]}: HTTP 404 Not Found", "ftp://x/y: only http:// and https:// addresses can be fetched, not ftp:",
        f"{urls[3]}: the page is empty"]
    assert "saved 1, already there 0, failed 3" in str(report)


def test_the_web_app_setting_refuses_private_addresses(web_server, tmp_path):
    report = save_pages([web_server.url("/pages/yna_co_kr.html")], tmp_path, allow_private=False)
    assert report.saved == [] and "refused: 127.0.0.1 is a loopback address" in report.failed[0][1]
    assert not (tmp_path / "web").exists()


def test_a_damaged_registry_never_stops_a_build_and_is_never_overwritten(web_server, tmp_path):
    path = tmp_path / ".qa" / "web.json"
    path.parent.mkdir()
    path.write_text('{"format": 1, "pages": [')
    assert registry.page_urls(tmp_path) == {}
    with pytest.raises(registry.RegistryError, match=str(path)):
        save_pages([web_server.url("/pages/yna_co_kr.html")], tmp_path)
    assert path.read_text() == '{"format": 1, "pages": [' and not (tmp_path / "web").exists()


# -- feeds -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_a_feed_is_recorded_and_polled_for_new_entries_only(web_server, tmp_path, kind):
    name = f"fetch-{kind}"
    web_server.feeds[name] = ["/pages/cnn_article.html", "/pages/cnn_article.html?ref=rss"]
    feed = add_feed(web_server.url(f"/feeds/{name}.{kind}"), tmp_path)
    assert feed.added and feed.title == f"Test news ({name})" and feed.entries == 2
    assert registry.load(tmp_path)["feeds"][feed.url]["seen_links"] == []  # entries wait for a poll
    first = poll_feeds(tmp_path)
    assert [u for u, _ in first.saved] == [web_server.url("/pages/cnn_article.html")]
    # The same article under another link is recognised by its content.
    assert first.unchanged == [(web_server.url("/pages/cnn_article.html?ref=rss"), first.saved[0][1])]
    web_server.feeds[name].append("/pages/arabic_article.html")
    second = poll_feeds(tmp_path)
    assert [u for u, _ in second.saved] == [web_server.url("/pages/arabic_article.html")]
    assert second.unchanged == [] and second.failed == []
    assert poll_feeds(tmp_path).saved == []
    record = json.loads((tmp_path / ".qa" / "web.json").read_text())
    assert record["pages"][second.saved[0][1]]["feed"] == feed.url
    assert not add_feed(feed.url, tmp_path).added


def test_a_long_feed_is_fetched_a_few_entries_per_poll(web_server, tmp_path):
    web_server.feeds["fetch-long"] = ["/pages/time_001.html", "/pages/yna_co_kr.html", "/pages/arabic_article.html"]
    feed = add_feed(web_server.url("/feeds/fetch-long.rss"), tmp_path)
    two = Settings(max_feed_entries=2)
    first = poll_feeds(tmp_path, settings=two)
    assert len(first.saved) == 2 and first.later == [(feed.url, 1)]
    assert "1 more entries of" in str(first)
    second = poll_feeds(tmp_path, settings=two)
    assert [u for u, _ in second.saved] == [web_server.url("/pages/arabic_article.html")] and second.later == []


@pytest.mark.parametrize("path, reason", [
    # The page names its feed: the reason says where it is.
    ("/pages/cnn_article.html", "not an RSS or Atom feed (it is a web page; its feed is http://rss.cnn.com/rss/cnn_latest.rss)"),
    ("/pages/yna_co_kr.html", "not an RSS or Atom feed (it is a web page)"),
    ("/image.png", "content type image/png is not a feed"),
    ("/feeds/no-such-feed.rss", "HTTP 404"),
])
def test_what_is_not_a_feed_is_refused_with_a_reason(web_server, tmp_path, path, reason):
    with pytest.raises(qa.FetchError, match=re.escape(reason)):
        add_feed(web_server.url(path), tmp_path)
    assert registry.load(tmp_path)["feeds"] == {}
