"""ui/render.py: answers and passages as HTML. Article text must come out as inert text, cited
sentences marked, every [n] linked to source card n, Arabic right-to-left, abstention plain."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

import qa
from qa.answer import ask
from ui import render

from corpus import PAKISTAN, TURKEY_AR, TURKEY_EN

HOSTILE = ('Markets rallied <script>alert(1)</script> and <img src=x onerror=alert(2)> then '
           '<img src="http://example.com/x.png"> ![x](http://example.com/y.png) [click](javascript:alert(3)) '
           '**bold** `code` $$x^2$$ <a href="http://evil.example">evil</a> & "quotes"')
# The only markup render.py writes itself.
OWN_TAGS = {"div", "p", "span", "a", "ol", "li", "blockquote", "mark", "details", "summary", "code", "strong",
            "br", "b", "ul"}


class _Page(HTMLParser):
    """Tags, attributes and visible text of a rendered fragment, as a browser would parse it."""

    def __init__(self, fragment: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.text, self.marks = [], [], [], []
        self._in_mark = 0
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.append((tag, dict(attrs)))
        if tag == "mark":
            self._in_mark += 1
            self.marks.append("")

    def handle_endtag(self, tag):
        if tag == "mark":
            self._in_mark -= 1

    def handle_data(self, data):
        self.text.append(data)
        if self._in_mark:
            self.marks[-1] += data

    @property
    def visible(self) -> str:
        return "".join(self.text)

    def with_attr(self, name: str) -> list[tuple[str, dict]]:
        return [(t, a) for t, a in self.attrs if name in a]


def passage(text: str, doc_id: str = "a.txt", lang: str = "en", start: int = 0, chunk_id: int = 1,
            title: str = "A title", url: str | None = None, author: str | None = None) -> qa.Passage:
    return qa.Passage(doc_id=doc_id, title=title, text=text, start=start, end=start + len(text), score=1.0,
                      lang=lang, date="2025-10-24", source="Outlet", chunk_id=chunk_id, url=url, author=author)


def answer_citing(p: qa.Passage, sentence: str, question: str = "What happened?") -> qa.Answer:
    return qa.Answer(question=question, text=f"{sentence} [1]", citations=[p], answered=True,
                     sentences=[(sentence, [1])])


def test_hostile_article_text_is_shown_literally_and_adds_no_markup():
    p = passage(HOSTILE, title='<b onmouseover="x()">Title</b> [t](javascript:1)')
    html = render.render_answer(answer_citing(p, HOSTILE), turn=1, article_text=lambda _: HOSTILE)
    page = _Page(html)
    assert set(page.tags) <= OWN_TAGS
    assert not any(name.startswith("on") for _, attrs in page.attrs for name in attrs)
    assert all(a["href"].startswith("#") for t, a in page.with_attr("href"))
    assert "img" not in page.tags and "script" not in page.tags
    for literal in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "![x](http://example.com/y.png)",
                    "[click](javascript:alert(3))", '<b onmouseover="x()">Title</b>', "$$x^2$$", '& "quotes"'):
        assert literal in page.visible


def test_escape_leaves_no_character_markdown_could_act_on():
    escaped = render.escape(HOSTILE)
    for ch in "<>[]()!*`$:\\":
        assert ch not in escaped.replace("<br>", "")
    assert _Page(escaped).visible == HOSTILE


def test_line_breaks_of_article_text_survive():
    assert render.escape("one\ntwo\r\nthree") == "one<br>two<br>three"


def test_cited_sentence_is_highlighted_in_its_passage():
    cited = "Production began through a partnership between Havelsan and Kader Factory."
    p = passage(f"Talks were held in Cairo. {cited} Further meetings are planned.")
    page = _Page(render.render_answer(answer_citing(p, cited), turn=1))
    assert page.marks == [cited]


def test_highlight_marks_every_span_and_escapes_between():
    text = "a <b> c <d> e"
    assert render.highlight(text, render.cited_spans(text, ["<b>", "<d>"])) == \
        'a <mark class="qa-hl">&#60;b&#62;</mark> c <mark class="qa-hl">&#60;d&#62;</mark> e'


def test_overlapping_sentences_merge_into_one_mark():
    assert render.cited_spans("abcdef", ["abcd", "cdef"]) == [(0, 6)]


def test_citation_markers_link_to_numbered_source_cards():
    p1, p2 = passage("First fact here.", chunk_id=1), passage("Second fact here.", doc_id="b.txt", chunk_id=2)
    answer = qa.Answer(question="q", text="First fact here. [1][2] Second fact here. [2]", citations=[p1, p2],
                       answered=True, sentences=[("First fact here.", [1, 2]), ("Second fact here.", [2])])
    page = _Page(render.render_answer(answer, turn=7))
    hrefs = [a["href"] for t, a in page.attrs if t == "a"]
    ids = [a["id"] for t, a in page.attrs if t == "li"]
    assert hrefs == ["#qa-t7-s1", "#qa-t7-s2", "#qa-t7-s2"]
    assert ids == ["qa-t7-s1", "qa-t7-s2"]
    assert "First fact here. [1][2] Second fact here. [2]" in page.visible


def test_a_bracketed_number_inside_a_quoted_sentence_stays_text():
    sentence = "The report [3] says so."
    page = _Page(render.render_answer(answer_citing(passage(sentence), sentence), turn=1))
    assert [a["href"] for t, a in page.attrs if t == "a"] == ["#qa-t1-s1"]


def test_arabic_answer_and_passage_are_right_to_left_and_english_ones_left_to_right():
    ar = "بدأ إنتاج المركبات الأرضية المسيّرة بشراكة بين شركة هافيلسان ومصنع قادر."
    en = "Production began through a partnership between Havelsan and Kader Factory."
    answer = qa.Answer(question="س", text=f"{ar} [1][2]", citations=[passage(ar, lang="ar", chunk_id=1),
                                                                    passage(en, doc_id="b.txt", chunk_id=2)],
                       answered=True, sentences=[(ar, [1]), (en, [2])])
    page = _Page(render.render_answer(answer, turn=1))
    answer_div = next(a for t, a in page.attrs if "qa-answer" in a.get("class", ""))
    passages = [a for t, a in page.attrs if t == "blockquote"]
    assert answer_div["dir"] == "rtl"
    assert [(q["lang"], q["dir"]) for q in passages] == [("ar", "rtl"), ("en", "ltr")]


def test_direction_goes_by_majority_of_letters():
    assert render.direction("CNN: قالت الحكومة المصرية إن المحادثات مستمرة") == "rtl"
    assert render.direction("Egypt said «مصر» today") == "ltr"
    assert render.direction("2025 — 42") == "auto"


def test_abstention_says_so_and_marks_closest_passages_as_not_answering():
    near = passage("The football season starts in August.")
    answer = qa.Answer(question="Who won the 2022 World Cup?", text="The articles do not answer this question.",
                       citations=[], answered=False, related=[near])
    page = _Page(render.render_answer(answer, turn=2))
    assert "The articles do not answer this question." in page.visible
    assert f"Closest passages found, {render.NOT_ANSWERING}" in page.visible
    assert page.visible.count(render.NOT_ANSWERING) == 2  # the heading and the passage's own flag
    assert "a" not in page.tags and page.marks == []
    assert [a["id"] for t, a in page.attrs if t == "li"] == ["qa-t2-r1"]


def test_abstention_with_nothing_near():
    answer = qa.Answer(question="q", text="لا تجيب المقالات عن هذا السؤال.", citations=[], answered=False)
    html = render.render_answer(answer, turn=1)
    assert 'dir="rtl"' in html and "No passage came close." in html


def test_source_card_shows_title_outlet_date_language_and_id():
    page = _Page(render.render_passage(passage("Text.", doc_id="dir/x.txt"), 3, 1, []))
    for fact in ("[3]", "A title", "Outlet", "2025-10-24", "English", "dir/x.txt"):
        assert fact in page.visible


# -- links to the original page ------------------------------------------------------------

LINK_ATTRS = {"class", "href", "target", "rel", "dir", "title"}


def links_off_the_page(page: _Page) -> list[dict]:
    return [a for t, a in page.attrs if t == "a" and not a["href"].startswith("#")]


def test_web_source_card_names_the_author_and_links_to_the_original_page():
    url = "https://www.example.com/world/2025/10/24/story.html?id=7&ref=rss#top"
    page = _Page(render.render_passage(passage("Text.", doc_id="web/www.example.com/story.html", url=url,
                                               author="Jane Doe; Ahmed Ali"), 1, 1, []))
    [link] = links_off_the_page(page)
    assert link["href"] == url  # the parser decodes &amp; back: the browser follows this exact URL
    assert link["target"] == "_blank" and link["rel"] == "noopener noreferrer nofollow"
    assert set(link) == LINK_ATTRS
    assert "www.example.com" in page.visible and "by Jane Doe; Ahmed Ali" in page.visible
    assert "Outlet · by Jane Doe; Ahmed Ali · 2025-10-24 · English" in page.visible


def test_a_card_without_a_url_has_no_link_and_no_author_line():
    page = _Page(render.render_passage(passage("Text."), 1, 1, []))
    assert links_off_the_page(page) == [] and "by " not in page.visible


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(document.domain)", " javascript:alert(1)", "java\tscript:alert(1)",
    "java\nscript:alert(1)", "javascript://example.com/%0aalert(1)", "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file:///etc/passwd", "/relative/page.html", "page.html", "//evil.example/x", "http:evil.example",
    "https:///nohost", "http://[::1", "http://example.com:99999/", "https://exa‮mple.com/",
    "http://example.com/a b", "ftp://example.com/file", "",
])
def test_a_url_that_is_not_plain_http_never_becomes_a_link(url):
    html = render.render_passage(passage("Text.", url=url), 1, 1, [])
    page = _Page(html)
    assert links_off_the_page(page) == []
    assert set(page.tags) <= OWN_TAGS and "javascript" not in html.lower() and "data:" not in html


@pytest.mark.parametrize("url", [
    'https://example.com/a"><script>alert(1)</script><a/href="x',
    "https://example.com/x'onmouseover='alert(1)'",
    "https://example.com/<img/src=x/onerror=alert(1)>",
    'https://example.com/`"\\"`&lt;b&gt;',
    "https://user:pw@example.com:8443/p?q=<b>",
])
def test_a_hostile_http_url_stays_inside_its_href(url):
    page = _Page(render.render_passage(passage("Text.", url=url, author='<img src=x onerror=alert(2)>'), 1, 1, []))
    [link] = links_off_the_page(page)
    assert set(link) == LINK_ATTRS and link["target"] == "_blank"
    assert not any(ch in link["href"] for ch in '"\'<>` \\')
    assert link["href"].startswith("https://example.com") or link["href"].startswith("https://user:pw@example.com")
    assert set(page.tags) <= OWN_TAGS and "script" not in page.tags and "img" not in page.tags
    assert not any(name.startswith("on") for _, attrs in page.attrs for name in attrs)
    assert "<img src=x onerror=alert(2)>" in page.visible  # the author, shown as text
    assert page.visible.count("example.com") == 1  # the host as the link text, no userinfo


def test_link_text_is_the_host_with_its_port():
    page = _Page(render.original_link("http://127.0.0.1:8123/news/story.html"))
    assert page.visible == "127.0.0.1:8123"
    assert _Page(render.original_link("http://[::1]:80/x")).visible == "[::1]:80"


def test_arabic_web_card_keeps_its_direction():
    text = "بدأ إنتاج المركبات الأرضية المسيّرة بشراكة بين شركة هافيلسان ومصنع قادر."
    p = passage(text, lang="ar", url="https://arabic.cnn.com/middleeast/2013/08/03/egypt", author="محمد علي",
                title="مصر وتركيا")
    page = _Page(render.render_passage(p, 1, 1, []))
    card = next(a for t, a in page.attrs if t == "li")
    quote = next(a for t, a in page.attrs if t == "blockquote")
    author = next(a for t, a in page.attrs if "qa-author" in a.get("class", ""))
    [link] = links_off_the_page(page)
    assert card["dir"] == "ltr" and (quote["dir"], quote["lang"]) == ("rtl", "ar")
    assert author["dir"] == "auto" and link["dir"] == "ltr"
    assert "محمد علي" in page.visible and "arabic.cnn.com" in page.visible


def test_article_context_highlights_the_passage_inside_the_article():
    article = "Before. " + "Cited sentence here. Rest of passage." + " After."
    p = passage("Cited sentence here. Rest of passage.", start=8)
    page = _Page(render.render_passage(p, 1, 1, [(0, 20)], article_text=lambda _: article))
    assert "details" in page.tags and "summary" in page.tags
    assert page.visible.count("Before.") == 1 and "After." in page.visible
    assert page.marks == ["Cited sentence here."] * 2  # in the passage and in the article


def test_long_article_is_cut_to_a_window_around_the_passage():
    filler = "x" * (render.FULL_ARTICLE_CHARS * 2)
    article = filler + "THE PASSAGE" + filler
    p = passage("THE PASSAGE", start=len(filler))
    html = render.render_passage(p, 1, 1, [], article_text=lambda _: article)
    assert len(html) < 2 * render.CONTEXT_CHARS + 2_000
    assert "around this passage" in html


def test_no_context_when_the_article_changed_since_the_answer():
    html = render.render_passage(passage("Old text.", start=0), 1, 1, [], article_text=lambda _: "New text!")
    assert "<details" not in html


def test_status_and_upload_results_escape_what_they_show():
    status = render.render_status({"articles": 5, "chunks": 30, "model": "<m>", "last_build": "2025",
                                   "languages": {"en": 4, "ar": 1}})
    assert "<m>" not in status and "&#60;m&#62;" in status and "<b>5</b> articles" in status
    results = render.render_upload_results([(False, "<script>x</script>.txt: not added")])
    assert "<script>" not in results


def test_real_answer_renders_with_marks_and_rtl_arabic_source(index):
    answer = ask("What has Egypt co-produced with Türkiye?", index)
    page = _Page(render.render_answer(answer, 1, lambda d: index.article(d).text))
    assert any("Havelsan" in m or "vertical takeoff" in m for m in page.marks)
    docs = {p.doc_id: p.lang for p in answer.citations}
    assert TURKEY_EN in docs
    if TURKEY_AR in docs:
        assert ("ar", "rtl") in [(a["lang"], a["dir"]) for t, a in page.attrs if t == "blockquote"]
    assert PAKISTAN not in docs


@pytest.mark.parametrize("lang,expected", [("ar", "rtl"), ("en", "ltr"), ("und", "auto"), (None, "auto")])
def test_lang_direction(lang, expected):
    assert render.lang_direction(lang, "") == expected


def test_escape_round_trips_every_special_character():
    """Escaping happens in one pass: no entity is escaped twice (an apostrophe once showed as &#x27;)."""
    import html as stdlib_html

    from ui.render import escape

    text = "O'Neil said \"<b>5 & 6</b>\" [x](y) ![i](http://e/p.png) #tag *bold* `code` $x$ @me {a}|b~c"
    assert stdlib_html.unescape(escape(text).replace("<br>", "\n")) == text
    assert "<" not in escape(text).replace("<br>", "")


def test_an_arabic_sentence_in_an_english_answer_keeps_its_direction_and_says_its_language():
    arabic = "قام قائد القوات الجوية التركية بجولة تفقدية لعدد من وحدات القوات الجوية المصرية."
    p = qa.Passage(doc_id="ar.txt", title="محادثات", text=arabic, start=0, end=len(arabic), score=1.0,
                   lang="ar", date=None, source=None, chunk_id=3)
    answer = qa.Answer(question="What did the Turkish air force commander inspect?", text=f"{arabic} [1] (in Arabic)",
                       citations=[p], answered=True, sentences=[(arabic, [1])])
    html = render.render_answer(answer, turn=0)
    assert html.startswith('<div class="qa-answer" dir="ltr">')  # the question's language
    assert f'<span dir="rtl">{arabic}</span>' in html
    assert '<span class="qa-lang-note" dir="ltr">(in Arabic)</span>' in html
    assert 'href="#' in html  # the [1] marker is still a link to its source card
