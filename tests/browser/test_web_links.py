"""A page added by link in a real browser: the app fetches it from the tests' news server
(allow-listed for this session), indexes it, and the answer's source card links to the
original page: the page's canonical URL, opened in a new tab that has no handle on the app."""
import pytest

from pages import ANSWER_TIMEOUT, CHROMIUM, SCREENSHOTS

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing")

CANONICAL = "http://www.cnn.com/2013/11/27/travel/weather-thanksgiving/index.html"
QUESTION = "How many Americans did AAA expect to travel over the Thanksgiving holiday weekend?"


def test_source_card_of_a_web_page_links_to_the_original_page(session, server, web_server):
    page = session.page
    url = web_server.url("/pages/cnn_article.html")
    page.locator("#qa-links textarea").fill(url)
    page.locator("#qa-add-links").click()
    doc_id = f"web/127.0.0.1_{web_server.port}/pages-cnn-article.html"
    page.locator("#qa-links-result").filter(has_text=f"added as {doc_id}").wait_for(timeout=ANSWER_TIMEOUT)
    assert (server.source / doc_id).is_file()

    answer = session.ask(QUESTION)
    card = answer.locator(".qa-source").filter(has_text=doc_id).first
    card.wait_for()
    link = card.locator("a.qa-original")
    assert link.count() == 1
    assert link.get_attribute("href") == CANONICAL
    assert link.get_attribute("target") == "_blank"
    # ui/render.py writes "noopener noreferrer nofollow"; Gradio's sanitizer (on by default in
    # the chat) rewrites rel of every external link to "noopener noreferrer": the two that matter.
    assert {"noopener", "noreferrer"} <= set(link.get_attribute("rel").split())
    assert link.inner_text() == "www.cnn.com"
    assert "CNN" in card.locator(".qa-details").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "web-link.png"), full_page=True)

    # Clicking opens the original page in a new tab. Nothing leaves this machine: the tab's
    # request for the CNN address is answered here by the browser context.
    page.context.route(CANONICAL, lambda route: route.fulfill(
        status=200, content_type="text/html", body="<title>the original page</title>"))
    with page.context.expect_page() as opened:
        link.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url == CANONICAL and tab.title() == "the original page"
    assert tab.evaluate("window.opener") is None  # noopener: the page cannot reach back into the app
    assert page.url.split("#")[0] == server.url  # the app stayed where it was
