"""A written answer in the browser: the switch (shown because the server has a model
configured), the answer appearing as it is written, then replaced by the checked one with its
sources, its model named, and the dropped sentence listed, escaped like everything else."""
from __future__ import annotations

from pages import ANSWER_TIMEOUT
from scripted_llm import number_of, passages_of

QUESTION = "What has Egypt co-produced with Türkiye?"
DRONES = "jointly produce vertical takeoff"


def test_written_answer_streams_then_shows_checked_with_sources(session, scripted_llm):
    def reply(body):
        n = number_of(body, DRONES)
        return (f"Egypt and Türkiye agreed last August to jointly produce vertical takeoff and landing drones [{n}]. "
                f"They also built <b>9 submarines</b> together [{n}].")
    scripted_llm.script(reply, chunk_delay=0.15)  # about 20 pieces: three seconds of writing
    page = session.page
    switch = page.locator("#qa-written input[type=checkbox]")
    assert "scripted-model" in page.locator("#qa-written").inner_text()
    switch.check()
    page.locator("#qa-question textarea").fill(QUESTION)
    page.locator("#qa-ask").click()
    draft = page.locator(".qa-draft")
    draft.wait_for(timeout=ANSWER_TIMEOUT)
    assert "is writing" in draft.inner_text()
    written = page.locator(".qa-answer.qa-written")
    written.wait_for(timeout=ANSWER_TIMEOUT)
    assert page.locator(".qa-draft").count() == 0  # replaced by the checked answer
    assert "Written by scripted-model" in written.locator(".qa-written-label").inner_text()
    text = written.locator(".qa-answer-text").inner_text()
    assert text.startswith("Egypt and Türkiye agreed last August") and "submarines" not in text
    assert written.locator(".qa-source").count() == 1 and DRONES in written.locator(".qa-source").inner_text()
    dropped = written.locator(".qa-dropped")
    assert "1 written sentence dropped" in dropped.locator("summary").inner_text()
    dropped.locator("summary").click()
    assert "<b>9 submarines</b>" in dropped.inner_text()  # shown as text, never as markup
    assert written.locator(".qa-dropped b").count() == 0
    switch.uncheck()


def test_a_question_sent_while_one_is_written_waits_its_turn(session, scripted_llm):
    def reply(body):  # the first sentence of passage [1], quoted: a checkable answer to anything
        return passages_of(body)[0]["text"].split(". ")[0].rstrip(".") + ". [1]"
    scripted_llm.script(reply, chunk_delay=0.3)  # a few seconds of writing per answer
    page = session.page
    switch = page.locator("#qa-written input[type=checkbox]")
    switch.check()
    box = page.locator("#qa-question textarea")
    box.fill(QUESTION)
    page.locator("#qa-ask").click()
    page.locator(".qa-draft").wait_for(timeout=ANSWER_TIMEOUT)
    box.fill("And with Pakistan?")  # typed while the first answer is still being written
    page.wait_for_timeout(1000)
    assert box.input_value() == "And with Pakistan?"  # the drafts do not wipe it
    page.locator("#qa-ask").click()  # sent before the first answer is done: not dropped
    page.wait_for_function("document.querySelectorAll('.qa-answer').length >= 2", timeout=ANSWER_TIMEOUT)
    assert page.locator(".qa-question").all_inner_texts() == [QUESTION, "And with Pakistan?"]
    assert box.input_value() == ""
    switch.uncheck()


def test_an_mcp_client_lists_and_calls_the_tools_of_qa_serve_mcp(server, scripted_llm):
    # The session's app is `qa serve --mcp`: the same process the browser talks to.
    import asyncio
    from ast import literal_eval
    from concurrent.futures import ThreadPoolExecutor

    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    scripted_llm.script(lambda body: f"Egypt and Türkiye agreed to jointly produce vertical takeoff and landing "
                                     f"drones [{number_of(body, DRONES)}].")

    async def talk():
        async with streamablehttp_client(server.url.rstrip("/") + "/gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as mcp:
                await mcp.initialize()
                names = {t.name for t in (await mcp.list_tools()).tools}
                answer = await mcp.call_tool("ask", {"question": QUESTION, "generate": True})
                passages = await mcp.call_tool("search", {"query": "Aselsan regional office", "k": 2})
                return names, answer, passages

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        names, answer, passages = pool.submit(asyncio.run, talk()).result(timeout=300)
    assert {"ask", "search"} <= names
    answer = literal_eval(answer.content[0].text)
    assert answer["generated"] and answer["model"] == "scripted-model" and answer["text"].endswith("[1]")
    assert DRONES in answer["citations"][0]["text"] and answer["dropped"] == []
    passages = literal_eval(passages.content[0].text)
    assert len(passages) == 2 and "Aselsan" in passages[0]["text"]
    assert "qa: MCP tools search and ask at" in server.log.read_text()
