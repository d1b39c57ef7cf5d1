"""The web app in a real browser: Debian's Chromium driven by Playwright against a real
`qa serve` subprocess that builds its index on first start (from a temporary copy of the seeds).

Every page records the dialogs it opens and the requests it sends to hosts other than this
machine; both must stay empty. Screenshots go to test-output/screenshots/.
"""
import pytest

from corpus import PAKISTAN
from pages import ANSWER_TIMEOUT, CHROMIUM, SCREENSHOTS, direction

HOSTILE = ("Zanzibar spice festival draws record crowds\n"
           "The Zanzibar spice festival in Stone Town drew forty thousand visitors, organisers said "
           "<script>alert(1)</script> on Sunday.\n"
           "Clove farmers from Pemba showed new drying methods <img src=x onerror=alert(2)> that cut losses by a third.\n"
           'A photo of the market <img src="http://example.com/x.png"> was shared widely, as was '
           "![x](http://example.com/y.png) a map of the stalls.\n"
           "Visitors could [click](javascript:alert(3)) to book tours of the clove plantations.\n")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: browser tests need "
                                "Debian's chromium package (scripts/install.sh --test installs it)")



def test_first_start_built_the_index(server):
    log = server.log.read_text()
    assert "building it from" in log and "added 5" in log
    assert (server.index / "CURRENT").exists()


def test_answer_shows_citations_and_highlighted_sources(session):
    answer = session.ask("What has Egypt co-produced with Türkiye?")
    text = answer.locator(".qa-answer-text").inner_text()
    assert "[1]" in text
    marks = answer.locator(".qa-passage mark").all_inner_texts()
    assert any("Havelsan" in m or "vertical takeoff" in m for m in marks), marks
    # [1] in the answer links to source card [1]
    first = answer.locator("a.qa-cite").first
    target = first.get_attribute("href")
    card = answer.locator(f"li{target}")
    assert card.count() == 1 and card.locator(".qa-num").inner_text() == "[1]"
    page = session.page
    page.locator("#qa-status-box").filter(has_text="5 articles").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "answer.png"), full_page=True)
    first.click()  # the marker is a link to its source card
    assert page.url.endswith(target)
    card.locator("summary").click()  # the article around the passage opens, passage marked
    assert card.locator(".qa-article").is_visible()
    assert card.locator(".qa-article .qa-in-passage mark").count() >= 1


def test_follow_up_is_answered_in_context(session):
    session.ask("What has Egypt co-produced with Türkiye?")
    follow = session.ask("And with Pakistan?")
    sources = follow.locator(".qa-sources").inner_text()
    assert PAKISTAN in sources and "Pakistan" in sources
    assert "Pakistan" in follow.locator(".qa-answer-text").inner_text()


def test_arabic_answer_and_passages_are_right_to_left(session):
    answer = session.ask("مع أي شركة تركية بدأ إنتاج المركبات الأرضية المسيرة؟")
    assert direction(answer) == "rtl"
    assert direction(answer.locator(".qa-answer-text")) == "rtl"
    arabic = answer.locator('.qa-passage[lang="ar"]')
    assert arabic.count() >= 1
    for i in range(arabic.count()):
        passage = arabic.nth(i)
        assert direction(passage) == "rtl"
        assert passage.evaluate("e => getComputedStyle(e).textAlign") in ("right", "start")
    assert all(direction(p) == "ltr" for p in answer.locator('.qa-passage[lang="en"]').all())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    session.page.screenshot(path=str(SCREENSHOTS / "arabic.png"), full_page=True)


def test_uploaded_hostile_article_is_inert_text_and_answerable(session, server, tmp_path):
    page = session.page
    article = tmp_path / "zanzibar_spices.txt"
    article.write_text(HOSTILE, encoding="utf-8")
    page.locator("#qa-upload input[type=file]").set_input_files(str(article))
    page.locator("#qa-upload-result").filter(has_text="added as uploads/zanzibar_spices.txt").wait_for(
        timeout=ANSWER_TIMEOUT)
    page.locator("#qa-status-box").filter(has_text="6 articles").wait_for()
    assert (server.source / "uploads" / "zanzibar_spices.txt").read_text(encoding="utf-8") == HOSTILE

    answer = session.ask("What did clove farmers from Pemba show at the Zanzibar spice festival?")
    card = answer.locator(".qa-source").filter(has_text="uploads/zanzibar_spices.txt").first
    card.wait_for()
    card.locator("summary").click()
    page.wait_for_timeout(500)  # time for anything that would load or run to do so
    shown = card.locator(".qa-article").inner_text()
    for literal in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>",
                    '<img src="http://example.com/x.png">', "![x](http://example.com/y.png)",
                    "[click](javascript:alert(3))"):
        assert literal in shown
    assert page.locator(".qa-answer img, .qa-answer script").count() == 0
    assert page.locator('img[src*="example.com"], a[href^="javascript"]').count() == 0
    hrefs = answer.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs and all(h.startswith("#qa-") for h in hrefs)  # only links from [n] to source cards


def test_unanswerable_question_shows_the_abstention(session):
    answer = session.ask("Who won the 2022 football World Cup?")
    assert "The articles do not answer this question." in answer.inner_text()
    assert answer.locator("a.qa-cite").count() == 0
    related = answer.locator(".qa-related-source")
    assert all("not answering the question" in r.inner_text().lower() for r in related.all())


def test_empty_question_gets_a_hint_not_an_error(session):
    page = session.page
    page.locator("#qa-ask").click()
    page.locator("#qa-hint").filter(has_text="Type a question").wait_for(timeout=30_000)
    assert page.locator(".qa-answer").count() == 0
