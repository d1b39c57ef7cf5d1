"""`qa add` and `qa refresh` as a newcomer types them, against real pages and feeds served on
127.0.0.1, with the real bundled model: a page added by URL is answered from and cited with
its id and URL; a refresh embeds only the new entry; failures leave everything as it was."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.cli import main

from corpus import ROOT
from webserver import web_server  # noqa: F401  (pytest fixture)


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args) -> dict:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def chunks_of(index: Path, doc_id: str) -> int:
    generation = json.loads((index / "CURRENT").read_text())["generation"]
    conn = sqlite3.connect(f"file:{index / generation / 'store.sqlite'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM chunks WHERE doc_id = ?", (doc_id,)).fetchone()[0]
    finally:
        conn.close()


def snapshot(*folders: Path) -> dict:
    """Every file under the folders, with its bytes: what 'left as it was' means."""
    return {p: p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def site(web_server, tmp_path_factory):
    """A source folder with one page added by `qa add`, and its index."""
    folder = tmp_path_factory.mktemp("web-add")
    source, index = folder / "articles", folder / "index"
    url = web_server.url("/pages/cnn_article.html")
    assert main(["add", url, "--source", str(source), "--index", str(index)]) == 0
    return source, index, url


def test_a_page_added_by_url_answers_with_a_citation_of_that_page(site, web_server, capsys):
    source, index, url = site
    doc_id = f"web/127.0.0.1_{web_server.port}/pages-cnn-article.html"
    assert (source / doc_id).is_file()
    answer = run_json(capsys, "ask", "How many Americans did AAA expect to travel over Thanksgiving?",
                      "--index", index)
    assert answer["answered"] and "43 million" in answer["text"]
    cited = answer["citations"][0]
    assert cited["doc_id"] == doc_id
    # The link to the original: the URL it was fetched from, or the page's own canonical URL.
    assert cited["url"] in (url, "http://www.cnn.com/2013/11/27/travel/weather-thanksgiving/index.html")


def test_adding_the_same_url_again_saves_nothing_new(site, capsys):
    source, index, url = site
    before = snapshot(source, index)
    code, out, _ = run(capsys, "add", url, "--source", source, "--index", index)
    assert code == 0
    assert "saved 0, already there 1, failed 0" in out and "0 chunks embedded" in out
    assert "nothing new" in out
    assert snapshot(source, index) == before


@pytest.mark.parametrize("path, reason", [
    ("/status/404", "HTTP 404 Not Found"),
    ("/slow", "timed out after 1 s"),
    ("/big", "response is over the limit of 100,000 bytes"),
    ("/big-chunked", "response is over the limit of 100,000 bytes"),
    ("/loop", "redirect loop"),
    ("/image.png", "content type image/png is not a web page"),
])
def test_a_failed_add_says_why_in_one_line_and_changes_nothing(site, web_server, capsys, monkeypatch, path, reason):
    source, index, _ = site
    monkeypatch.setenv("QA_FETCH_TIMEOUT", "1")
    monkeypatch.setenv("QA_MAX_FETCH_BYTES", "100000")
    before = snapshot(source, index)
    url = web_server.url(path)
    code, out, err = run(capsys, "add", url, "--source", source, "--index", index)
    assert code == 1  # every URL failed
    (line,) = [line for line in out.splitlines() if line.startswith("  failed: ")]
    assert line.startswith(f"  failed: {url}: {reason}")
    assert "Traceback" not in out + err
    assert snapshot(source, index) == before


def test_one_bad_url_among_good_ones_is_reported_and_the_rest_indexed(web_server, tmp_path, capsys):
    source, index = tmp_path / "articles", tmp_path / "index"
    good, bad = web_server.url("/pages/yna_co_kr.html"), web_server.url("/status/404")
    report = run_json(capsys, "add", bad, good, "--source", source, "--index", index)
    assert [u for u, _ in report["fetch"]["saved"]] == [good]
    assert report["fetch"]["failed"] == [[bad, f"{bad}: HTTP 404 Not Found"]]
    assert report["build"]["added"] == [f"web/127.0.0.1_{web_server.port}/pages-yna-co-kr.html"]


def test_refresh_saves_and_embeds_only_the_new_entry(web_server, tmp_path, capsys):
    source, index = tmp_path / "articles", tmp_path / "index"
    web_server.feeds["cli"] = ["/pages/time_001.html", "/pages/yna_co_kr.html"]
    feed = web_server.url("/feeds/cli.rss")
    first = run_json(capsys, "add", "--feed", feed, "--source", source, "--index", index)
    assert first["feeds"][0]["title"] == "Test news (cli)" and first["feeds"][0]["added"]
    assert len(first["fetch"]["saved"]) == 2 and len(first["build"]["added"]) == 2

    again = run_json(capsys, "refresh", "--source", source, "--index", index)
    assert again["fetch"] == {"saved": [], "unchanged": [], "failed": [], "later": []}
    assert again["build"] is None  # nothing fetched, nothing to build

    web_server.feeds["cli"].append("/pages/arabic_article.html")
    second = run_json(capsys, "refresh", "--source", source, "--index", index)
    new_id = f"web/127.0.0.1_{web_server.port}/pages-arabic-article.html"
    assert second["fetch"]["saved"] == [[web_server.url("/pages/arabic_article.html"), new_id]]
    assert second["build"]["added"] == [new_id] and second["build"]["updated"] == []
    assert sorted(second["build"]["unchanged"]) == sorted(first["build"]["added"])
    assert second["build"]["embedded"] == chunks_of(index, new_id) > 0

    code, out, _ = run(capsys, "refresh", "--source", source, "--index", index)
    assert code == 0 and "nothing new" in out


def test_the_command_line_as_typed(tmp_path):
    """A new process, as a newcomer runs it: one-line errors, the documented exit codes."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("QA_TRACEBACK", None)

    def qa(*args):
        return subprocess.run([sys.executable, "-m", "qa.cli", *map(str, args)], capture_output=True, text=True,
                              cwd=ROOT, env=env, timeout=60)

    done = qa("refresh", "--source", tmp_path / "nothing-here")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == (f"qa: error: no feeds recorded in {tmp_path / 'nothing-here'}; add one with "
                                   f"`qa add --feed URL --source {tmp_path / 'nothing-here'}`")
    done = qa("add")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "give at least one URL" in done.stderr
    assert "--feed" in qa("add", "--help").stdout


def test_the_author_filter_of_the_command_line(site, web_server, capsys):
    _, index, _ = site
    hits = run_json(capsys, "search", "forecast", "--author", "Dana A Ford", "--index", index)
    assert hits and {h["doc_id"] for h in hits} == {f"web/127.0.0.1_{web_server.port}/pages-cnn-article.html"}
    assert run_json(capsys, "search", "forecast", "--author", "Nobody Atall", "--index", index) == []


def test_a_page_whose_charset_only_the_server_states_is_read_in_it(web_server, tmp_path, capsys):
    # No <meta charset>: only the HTTP header says windows-1256, and guessing reads it as
    # Japanese. The build decodes the saved page with what the server declared.
    from webserver import LEGACY_ARABIC

    source, index = tmp_path / "articles", tmp_path / "index"
    code, out, err = run(capsys, "add", web_server.url("/windows-1256"), "--source", source, "--index", index)
    assert code == 0, err
    hits = run_json(capsys, "search", "مصنع ناقلات الجند المدرعة", "--index", index)
    assert LEGACY_ARABIC[0] in hits[0]["text"] and hits[0]["lang"] == "ar"


def test_the_readme_try_out_with_python_http_server(tmp_path):
    """README, "Adding web pages and feeds": the test pages served by `python -m http.server`
    (in its own process, as typed; a free port instead of 8000), a page and the feed added with
    `qa add`, a question answered from the feed's page, and a refresh that finds nothing new."""
    import re
    import socket

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("To try it without the internet", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    serve = commands[0].replace("8000", str(port)).split()
    assert serve[0] == "python"
    server = subprocess.Popen([sys.executable, *serve[1:]], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):  # until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        outputs = []
        for command in commands[1:]:
            args = [a.strip('"') for a in re.findall(r'"[^"]*"|\S+', command.replace("8000", str(port)))]
            assert args[0] == "qa"
            folders = {"news": str(tmp_path / "news"), "news-index": str(tmp_path / "news-index")}
            args = [folders.get(a, a) for a in args]
            done = subprocess.run([sys.executable, "-m", "qa.cli", *args[1:]], capture_output=True, text=True,
                                  cwd=ROOT, env=env, timeout=120)
            assert done.returncode == 0, (command, done.stderr)
            outputs.append(done.stdout)
    finally:
        server.terminate()
        server.wait(timeout=10)
    added_page, added_feed, answer, refreshed = outputs
    assert "arabic-article" in added_page
    assert added_feed.count("saved: ") == 3 and "recorded" in added_feed
    assert "43 million" in answer and f"127.0.0.1_{port}/cnn-article.html" in answer
    assert "nothing new" in refreshed
