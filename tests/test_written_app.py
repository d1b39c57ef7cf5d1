"""Written answers through the web app's API and through MCP: a real launched app on 127.0.0.1
over the seed index, a scripted OpenAI-compatible server for the model, and the `mcp` client
over streamable HTTP listing and calling the tools of an app launched as `qa serve --mcp` does."""
from __future__ import annotations

import asyncio
import socket
from ast import literal_eval
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client

from qa.settings import from_env
from ui import app as ui_app
from ui import serving as ui_serving

from corpus import SEEDS
from scripted_llm import ScriptedLLM, number_of

QUESTION = "What has Egypt co-produced with Türkiye?"
DRONES = "jointly produce vertical takeoff"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llm():
    server = ScriptedLLM()
    yield server
    server.close()


@pytest.fixture(scope="module")
def app_url(index, llm):
    settings = from_env(llm_url=llm.url, llm_model="scripted-model")
    app = ui_app.create_app(index, source_dir=SEEDS, settings=settings)
    app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
               mcp_server=True, **ui_serving.launch_options())
    try:
        yield app.local_url.rstrip("/")
    finally:
        app.close()


def _drones_reply(body):
    n = number_of(body, DRONES)
    return (f"Egypt and Türkiye agreed last August to jointly produce vertical takeoff and landing drones [{n}]. "
            f"The deal is worth 7 billion dollars [{n}].")


def test_the_ask_api_writes_and_checks_when_asked_to(app_url, llm):
    llm.script(_drones_reply)
    client = Client(app_url, verbose=False)
    out = client.predict(QUESTION, None, 5, "hybrid", None, True, api_name="/ask")
    assert out["generated"] is True and out["model"] == "scripted-model"
    assert out["text"].endswith("drones. [1]") and DRONES in out["citations"][0]["text"]
    assert len(out["dropped"]) == 1 and "7 billion" in out["dropped"][0]
    plain = client.predict(QUESTION, None, 5, "hybrid", None, False, api_name="/ask")
    assert plain["generated"] is False and plain["dropped"] == [] and plain["notice"] is None


def test_mcp_lists_search_and_ask_and_answers_with_citations(app_url, llm):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    llm.script(_drones_reply)

    async def talk():
        async with streamablehttp_client(f"{app_url}/gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = {t.name: t for t in (await session.list_tools()).tools}
                asked = await session.call_tool("ask", {"question": QUESTION})
                written = await session.call_tool("ask", {"question": QUESTION, "generate": True})
                found = await session.call_tool("search", {"query": "Havelsan Kader Factory", "k": 3})
                return tools, asked, written, found

    # In a thread of its own: when the browser tests ran first, Playwright's sync API keeps an
    # event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        tools, asked, written, found = pool.submit(asyncio.run, talk()).result(timeout=300)
    assert {"ask", "search"} <= set(tools)
    assert "cited" in tools["ask"].description and "citations" in tools["ask"].description
    assert "Passages" in tools["search"].description
    assert set(tools["ask"].inputSchema["properties"]) >= {"question", "k", "mode", "where", "generate"}

    answer = literal_eval(asked.content[0].text)  # Gradio's MCP server sends str() of what a tool returns
    assert not asked.isError and answer["answered"] and answer["generated"] is False
    assert "[1]" in answer["text"] and answer["citations"][0]["n"] == 1 and answer["citations"][0]["doc_id"]
    answer = literal_eval(written.content[0].text)
    assert answer["generated"] is True and "7 billion" in answer["dropped"][0]
    passages = literal_eval(found.content[0].text)
    assert len(passages) == 3 and "Havelsan" in passages[0]["text"]
    assert {"doc_id", "start", "end", "date", "text"} <= set(passages[0])


def test_behind_a_password_mcp_needs_it_and_then_calls_the_tools(index):
    # The same user:password as the app, as HTTP Basic auth: without it nothing is listed.
    import base64

    import httpx
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    from ui import mcp_auth

    credentials = ("ann", "s3cret:x")
    app = ui_app.create_app(index, source_dir=SEEDS)
    app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
               mcp_server=True, auth=credentials, app_kwargs=mcp_auth.guarded(credentials), **ui_serving.launch_options())
    url = app.local_url.rstrip("/") + "/gradio_api/mcp/"
    try:
        listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        for auth in (None, ("ann", "wrong"), ("bob", "s3cret:x")):
            refused = httpx.post(url, json=listing, auth=auth, headers={"Accept": "application/json, text/event-stream"})
            assert refused.status_code == 401 and "ask" not in refused.text and "jsonrpc" not in refused.text
        good = {"Authorization": "Basic " + base64.b64encode(b"ann:s3cret:x").decode()}

        async def talk():
            async with streamablehttp_client(url, headers=good) as (read, write, _):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    names = {t.name for t in (await session.list_tools()).tools}
                    return names, await session.call_tool("ask", {"question": QUESTION})

        with ThreadPoolExecutor(1) as pool:
            names, asked = pool.submit(asyncio.run, talk()).result(timeout=300)
        assert {"ask", "search"} <= names
        answer = literal_eval(asked.content[0].text)
        assert not asked.isError and answer["answered"] and "[1]" in answer["text"]
    finally:
        app.close()
