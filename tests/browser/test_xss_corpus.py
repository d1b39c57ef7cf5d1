"""A corpus of XSS payloads inside articles (plain text and Markdown), added through the upload
control: every payload must show as inert text. No dialog, no navigation, no request leaving
this machine, and each payload readable literally in the article view. A web page whose
canonical URL carries markup gets a link to it that stays a plain link."""
import pytest

from pages import ANSWER_TIMEOUT, CHROMIUM

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing")

PAYLOADS = [
    "<script>alert('xss-1')</script>",
    "<img src=x onerror=\"alert('xss-2')\">",
    "<svg onload=alert('xss-3')>",
    "<svg><script>alert('xss-4')</script></svg>",
    "<iframe srcdoc=\"<script>alert('xss-5')</script>\"></iframe>",
    "<iframe src=\"javascript:alert('xss-6')\"></iframe>",
    "<a href=\"javascript:alert('xss-7')\">open</a>",
    "[open](javascript:alert('xss-8'))",
    "![tracker](http://evil.example/pixel.png)",
    "[more](http://evil.example/page)",
    "<body onload=alert('xss-9')>",
    "<details open ontoggle=alert('xss-10')>",
    "<input autofocus onfocus=alert('xss-11')>",
    "<object data=\"javascript:alert('xss-12')\"></object>",
    "<embed src=\"http://evil.example/x.swf\">",
    "<link rel=stylesheet href=\"http://evil.example/x.css\">",
    "<style>@import 'http://evil.example/x.css';</style>",
    "<meta http-equiv=\"refresh\" content=\"0;url=http://evil.example/\">",
    "<base href=\"http://evil.example/\">",
    "\"><script>alert('xss-13')</script>",
    "<video><source onerror=\"alert('xss-14')\"></video>",
    "<math><mi xlink:href=\"javascript:alert('xss-15')\">x</mi></math>",
    "<form action=\"http://evil.example/\"><button>go</button></form>",
    "<a href=\"data:text/html,<script>alert('xss-16')</script>\">data</a>",
]


def article(kind: str) -> str:
    lines = [f"Kilimanjaro coffee growers report a record harvest ({kind} edition)", ""]
    for n, payload in enumerate(PAYLOADS, 1):
        lines.append(f"Kilimanjaro coffee growers in cooperative {n} said {payload} the harvest rose sharply.")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("suffix", ["txt", "md"])
def test_xss_payloads_in_articles_are_inert(session, tmp_path, suffix):
    page = session.page
    start_url = page.url
    path = tmp_path / f"kilimanjaro_coffee_{suffix}.{suffix}"
    path.write_text(article(suffix), encoding="utf-8")
    page.locator("#qa-upload input[type=file]").set_input_files(str(path))
    page.locator("#qa-upload-result").filter(has_text=f"added as uploads/{path.name}").wait_for(timeout=ANSWER_TIMEOUT)

    answer = session.ask(f"What did Kilimanjaro coffee growers report in the {suffix} edition?")
    card = answer.locator(".qa-source, .qa-related-source").filter(has_text=f"uploads/{path.name}").first
    card.wait_for()
    card.locator("summary").click()
    page.wait_for_timeout(1000)  # time for anything that would run, load or navigate to do so
    shown = card.locator(".qa-article").inner_text()
    literal = [p for p in PAYLOADS if p in shown]
    executed = len(session.dialogs)
    print(f"XSS payloads ({suffix}): executed {executed}/{len(PAYLOADS)}, shown literally {len(literal)}/{len(PAYLOADS)}, "
          f"outside requests {len(session.outside_requests)}")
    if suffix == "md":
        # Markdown's own link and image markup is not article text: the reader keeps a link's
        # text and drops an image (qa/cleaning.py), so those three are not there to show.
        markdown = [p for p in PAYLOADS if p.startswith(("[", "!["))]
        assert len(markdown) == 3 and "cooperative 8 said open the harvest" in shown
        assert literal == [p for p in PAYLOADS if p not in markdown]
    else:
        assert literal == PAYLOADS
    assert page.url.split("#")[0] == start_url.split("#")[0], "the page navigated"
    dangerous = "iframe, object, embed, svg, math, video, form, input, base, meta[http-equiv], link[href*='evil'], " \
                "a[href^='javascript'], a[href^='data'], a[href*='evil'], img[src*='evil'], [onerror], [onload], " \
                "[onfocus], [ontoggle]"
    assert page.locator(f".qa-answer :is({dangerous})").count() == 0
    # session fixture asserts: no dialogs, no requests off this machine


HOSTILE_URL = "https://evil.example/x\"onmouseover=\"alert('xss-url-1')\"><script>alert('xss-url-2')</script>"


def test_a_hostile_canonical_url_stays_a_plain_link(session, tmp_path):
    page = session.page
    story = "".join(f"<p>Coffee cooperative {n} near Moshi replanted its oldest arabica trees with rust-resistant "
                    f"seedlings from the Lyamungu research station, its chairman said on Tuesday.</p>" for n in range(5))
    path = tmp_path / "moshi_coffee.html"
    path.write_text(f"<html><head><title>Moshi coffee growers replant</title><link rel='canonical' "
                    f"href='{HOSTILE_URL}'></head><body><article><h1>Moshi coffee growers replant</h1>{story}"
                    f"</article></body></html>", encoding="utf-8")
    page.locator("#qa-upload input[type=file]").set_input_files(str(path))
    page.locator("#qa-upload-result").filter(has_text="added as uploads/moshi_coffee.html").wait_for(timeout=ANSWER_TIMEOUT)

    answer = session.ask("What did the coffee cooperatives near Moshi replant their oldest trees with?")
    card = answer.locator(".qa-source").filter(has_text="uploads/moshi_coffee.html").first
    card.wait_for()
    link = card.locator("a.qa-original")
    assert link.count() == 1 and link.inner_text() == "evil.example"
    href = link.get_attribute("href")
    assert href.startswith("https://evil.example/") and not any(ch in href for ch in "\"'<> ")
    names = link.evaluate("a => a.getAttributeNames()")
    assert not [n for n in names if n.startswith("on")], names
    link.hover()
    page.wait_for_timeout(500)  # time for a handler to run, if one had got in
    assert page.locator(".qa-answer script").count() == 0
    # session fixture asserts: no dialogs, no requests off this machine
