"""ui/app.py and ui/uploads.py: the app builds without launching, the `ask` API endpoint answers
through gradio_client, and uploads are saved safely and indexed at once (real index, real model)."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError

import qa
from qa.answer import ask
from ui import app as ui_app
from ui import serving as ui_serving
from ui import render, uploads

from corpus import PAKISTAN, ROOT, SEEDS, TURKEY_EN

ZANZIBAR = ("Zanzibar spice festival draws record crowds\n"
            "The Zanzibar spice festival in Stone Town drew forty thousand visitors this year.\n"
            "Clove farmers from Pemba showed new drying methods that cut their losses by a third.\n")


@pytest.fixture
def workspace(tmp_path, seed_index_dir):
    """A private copy of the seed articles and of their index, for tests that add articles."""
    source, index_dir = tmp_path / "articles", tmp_path / "index"
    shutil.copytree(SEEDS, source)
    shutil.copytree(seed_index_dir, index_dir)
    return source, qa.load_index(index_dir)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def client(index):
    app = ui_app.create_app(index, source_dir=SEEDS)
    app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
               **ui_serving.launch_options())
    try:
        yield Client(app.local_url, verbose=False)
    finally:
        app.close()


def test_create_app_builds_blocks_without_launching(index):
    app = ui_app.create_app(index, source_dir=SEEDS)
    assert isinstance(app, gr.Blocks)
    assert not app.is_running
    public = [fn.api_name for fn in app.fns.values() if fn.api_visibility == "public"]
    assert public == ["ask", "search"]  # the chat's own events stay private
    assert app._queue.default_concurrency_limit == ui_app.CONCURRENCY


def test_ask_endpoint_returns_answer_and_citations_as_json(client, index):
    result = client.predict("What has Egypt co-produced with Türkiye?", api_name="/ask")
    assert result["answered"] and "[1]" in result["text"]
    first = result["citations"][0]
    assert first["n"] == 1 and first["doc_id"] == TURKEY_EN
    assert index.article(first["doc_id"]).text[first["start"]:first["end"]] == first["text"]
    assert "Havelsan" in result["text"] or "vertical takeoff" in result["text"]


def test_ask_endpoint_takes_history_for_follow_ups(client):
    first = client.predict("What has Egypt co-produced with Türkiye?", api_name="/ask")
    follow = client.predict("And with Pakistan?", [["What has Egypt co-produced with Türkiye?", first["text"]]],
                            3, "hybrid", api_name="/ask")
    assert follow["answered"]
    assert follow["citations"][0]["doc_id"] == PAKISTAN


def test_ask_endpoint_applies_filters(client):
    result = client.predict("مع أي شركة تركية بدأ إنتاج المركبات الأرضية المسيرة؟", None, 5, "lexical",
                            {"lang": "ar"}, api_name="/ask")
    assert result["answered"] and result["citations"][0]["lang"] == "ar"
    future = client.predict("What has Egypt co-produced with Türkiye?", None, 5, "hybrid",
                            {"date_from": "2099-01-01"}, api_name="/ask")
    assert not future["answered"] and future["related"] == []


def test_empty_question_returns_the_hint(client):
    result = client.predict("   ", api_name="/ask")
    assert result["hint"] and not result["answered"]
    assert result["text"] == render.EMPTY_HINT and result["citations"] == []


def test_bad_input_is_a_clear_error(client):
    with pytest.raises(AppError, match="limit is 2,000"):
        client.predict("x" * 3000, api_name="/ask")
    with pytest.raises(AppError, match="unknown search mode"):
        client.predict("Egypt", None, 5, "fuzzy", api_name="/ask")


def test_unanswerable_question_abstains_through_the_api(client):
    result = client.predict("Who won the 2022 football World Cup?", api_name="/ask")
    assert not result["answered"] and result["text"] == "The articles do not answer this question."
    assert result["citations"] == []


def test_password_protected_app_needs_the_password(index):
    app = ui_app.create_app(index, source_dir=SEEDS)
    app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
               auth=ui_serving.parse_auth("ann:s3cret"), **ui_serving.launch_options())
    try:
        with pytest.raises(AuthenticationError):
            Client(app.local_url, verbose=False).predict("Egypt", api_name="/ask")
        client = Client(app.local_url, auth=("ann", "s3cret"), verbose=False)
        assert client.predict("What has Egypt co-produced with Türkiye?", api_name="/ask")["answered"]
    finally:
        app.close()


# -- uploads ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,expected", [
    ("report.txt", "report.txt"), ("../../etc/passwd.txt", "passwd.txt"), ("..\\..\\x.MD", "x.md"),
    (".hidden.txt", "hidden.txt"), ("a b<>|?.html", "a_b.html"), ("تقرير مصر.txt", "تقرير_مصر.txt"),
    ("....txt", "article.txt"), ("noext", "noext"),
])
def test_safe_name(name, expected):
    assert uploads.safe_name(name) == expected


def upload(tmp_path, name: str, data: bytes | str):
    path = tmp_path / "incoming" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path, name


def test_uploaded_article_is_indexed_and_answerable_at_once(workspace, tmp_path):
    source, index = workspace
    before = index.info()["articles"]
    [outcome] = uploads.add_uploads([upload(tmp_path, "zanzibar.txt", ZANZIBAR)], source, index)
    assert outcome.ok and outcome.doc_id == "uploads/zanzibar.txt", outcome.message
    assert (source / "uploads" / "zanzibar.txt").read_text() == ZANZIBAR
    assert index.info()["articles"] == before + 1  # the open index moved to the new generation
    answer = ask("What did clove farmers from Pemba show?", index)
    assert answer.answered and answer.citations[0].doc_id == "uploads/zanzibar.txt"


def test_oversized_and_unsupported_uploads_change_nothing(workspace, tmp_path):
    source, index = workspace
    generation = index.generation
    outcomes = uploads.add_uploads([upload(tmp_path, "big.txt", "x" * 200), upload(tmp_path, "tool.exe", "MZ"),
                                    upload(tmp_path, "page.py", "print(1)")], source, index, max_bytes=100)
    assert [o.ok for o in outcomes] == [False, False, False]
    assert "limit is 100" in outcomes[0].message and "allowed: .txt" in outcomes[1].message
    assert not (source / "uploads").exists() or not any((source / "uploads").iterdir())
    assert index.generation == generation


def test_upload_the_build_skips_is_removed_again_with_the_reason(workspace, tmp_path):
    source, index = workspace
    [outcome] = uploads.add_uploads([upload(tmp_path, "blank.txt", b"")], source, index)
    assert not outcome.ok and "empty" in outcome.message
    assert not (source / "uploads" / "blank.txt").exists()
    assert "uploads/blank.txt" not in index.articles()


def test_same_name_never_overwrites_a_different_file(workspace, tmp_path):
    source, index = workspace
    (source / "uploads").mkdir()
    (source / "uploads" / "zanzibar.txt").write_text("An older, different article about the Pemba clove harvest.\n")
    [outcome] = uploads.add_uploads([upload(tmp_path, "zanzibar.txt", ZANZIBAR)], source, index)
    assert outcome.ok and outcome.doc_id == "uploads/zanzibar-2.txt"
    assert "older" in (source / "uploads" / "zanzibar.txt").read_text()
    again = uploads.add_uploads([upload(tmp_path, "zanzibar.txt", ZANZIBAR)], source, index)
    assert [(o.ok, o.doc_id) for o in again] == [(True, "uploads/zanzibar-2.txt")]  # already there
    assert sorted(p.name for p in (source / "uploads").iterdir()) == ["zanzibar-2.txt", "zanzibar.txt"]


def test_upload_repeating_an_indexed_article_is_not_kept(workspace, tmp_path):
    source, index = workspace
    [outcome] = uploads.add_uploads([upload(tmp_path, "copy.txt", (SEEDS / PAKISTAN).read_bytes())], source, index)
    assert not outcome.ok and PAKISTAN in outcome.message
    assert not (source / "uploads" / "copy.txt").exists()


def test_upload_refused_when_the_index_was_built_from_another_folder(workspace, tmp_path):
    _, index = workspace
    other = tmp_path / "other-articles"
    other.mkdir()
    [outcome] = uploads.add_uploads([upload(tmp_path, "zanzibar.txt", ZANZIBAR)], other, index)
    assert not outcome.ok and "--source" in outcome.message
    assert not (other / "uploads").exists() and len(index.articles()) == 5


def test_uploads_are_not_written_through_a_linked_folder(workspace, tmp_path):
    source, index = workspace
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (source / "uploads").symlink_to(elsewhere)
    [outcome] = uploads.add_uploads([upload(tmp_path, "zanzibar.txt", ZANZIBAR)], source, index)
    assert not outcome.ok and not any(elsewhere.iterdir())


# -- serve -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [(None, None), ("", None), ("ann:s3cret", ("ann", "s3cret")),
                                            ("ann:pa:ss", ("ann", "pa:ss"))])
def test_parse_auth(value, expected):
    assert ui_serving.parse_auth(value) == expected


@pytest.mark.parametrize("value", ["nopassword", ":x", "ann:"])
def test_bad_auth_is_refused(value):
    with pytest.raises(qa.QAError, match="user:password"):
        ui_serving.parse_auth(value)


def test_binding_beyond_this_machine_warns():
    assert ui_serving.host_warning("127.0.0.1", False) is None
    assert "add --auth" in ui_serving.host_warning("0.0.0.0", False)
    assert "reachable from other machines" in ui_serving.host_warning("0.0.0.0", True)
    assert "add --auth" not in ui_serving.host_warning("0.0.0.0", True)


def test_serve_with_bad_auth_exits_with_one_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "ui", "--index", str(tmp_path / "i"), "--auth", "nopassword"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == ["qa: error: --auth and QA_AUTH take user:password, both parts non-empty"]
    assert not (tmp_path / "i").exists()
