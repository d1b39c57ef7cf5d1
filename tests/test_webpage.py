"""Web pages: the article's text and metadata out of real pages and of the page shapes that
used to lose it (teaser cards, a page-wide form, paragraphs as divs, related-story blocks)."""
import json
from pathlib import Path

import pytest

import qa
from qa.articles import load_article
from qa.cleaning import clean
from qa.readers import Skip
from qa.webpage import extract_page, strip_site_name

PAGES = Path(__file__).parent / "data" / "pages"

STORY = [
    "Egypt and Pakistan agreed on Tuesday to build a factory for armoured personnel carriers near Alexandria, "
    "the defence ministries of both countries said in a joint statement.",
    "The plant will assemble 120 vehicles a year from 2027, with Pakistani engineers training an Egyptian "
    "workforce of about 900 people during the first three years of production.",
    "Officials said the agreement followed two years of talks between the state-owned companies that make "
    "the vehicles, and that parts would be sourced locally wherever possible.",
    "Analysts in Cairo described the deal as the largest industrial defence project the two countries have "
    "undertaken together, although its cost was not disclosed by either government.",
    "A second phase, still under discussion, would add maintenance workshops for the Egyptian army's older "
    "fleet of tracked vehicles, according to a person familiar with the negotiations.",
]
TEASERS = ["Football club signs new striker for record fee", "Ten recipes for a quick summer dinner",
           "Stock markets close lower after a volatile week", "Weather: heavy rain expected this weekend"]


def _page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"


def _head(title="Egypt and Pakistan to build armoured vehicle plant | Desert Herald") -> str:
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Egypt and Pakistan to build armoured vehicle plant",
          "datePublished": "2025-03-11T08:30:00+02:00", "author": {"@type": "Person", "name": "Mona Salem"}}
    return (f"<title>{title}</title><meta property='og:site_name' content='Desert Herald'>"
            "<link rel='canonical' href='https://desertherald.example/defence/egypt-pakistan-plant'>"
            f"<script type='application/ld+json'>{json.dumps(ld)}</script>")


def _teaser_cards(n=10) -> str:
    return "".join(f"<article class='card'><h3><a href='/s/{i}'>{TEASERS[i % len(TEASERS)]}</a></h3>"
                   f"<p>{TEASERS[(i + 1) % len(TEASERS)]}.</p></article>" for i in range(n))


def _assert_story(text: str):
    for sentence in STORY:
        assert sentence in text
    for teaser in TEASERS:
        assert teaser not in text


def test_story_between_many_teaser_articles():
    body = (f"<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>{_teaser_cards(6)}"
            f"<div class='story'><h1>Egypt and Pakistan to build armoured vehicle plant</h1>"
            + "".join(f"<p>{s}</p>" for s in STORY) + f"</div>{_teaser_cards(6)}<footer>© Desert Herald</footer>")
    page = extract_page(_page(body, _head()))
    _assert_story(page.text)
    assert page.title == "Egypt and Pakistan to build armoured vehicle plant"
    assert page.date == "2025-03-11"
    assert page.source == "Desert Herald"
    assert page.author == "Mona Salem"
    assert page.url == "https://desertherald.example/defence/egypt-pakistan-plant"


def test_page_wrapped_in_one_form_keeps_its_article():
    # ASP.NET sites put the whole page inside a single <form>.
    body = ("<form method='post' action='./story.aspx' id='aspnetForm'><input type='hidden' name='__VIEWSTATE' "
            "value='abc'><div id='header'>Desert Herald</div><div id='content'><h1>Plant deal</h1>"
            + "".join(f"<p>{s}</p>" for s in STORY) + "</div></form>")
    _assert_story(extract_page(_page(body, _head())).text)


def test_paragraphs_as_divs_and_line_breaks_are_kept():
    body = ("<div class='main'><h1>Plant deal</h1><div class='txt'>" + "<br><br>".join(STORY[:3]) + "</div>"
            + "".join(f"<div class='para'>{s}</div>" for s in STORY[3:]) + "</div>")
    _assert_story(extract_page(_page(body, _head())).text)


def test_related_and_most_popular_blocks_stay_out():
    popular = "".join(f"<li><a href='/p/{i}'>{t}</a></li>" for i, t in enumerate(TEASERS))
    body = ("<main></main><div class='article-body'><h1>Plant deal</h1>" + "".join(f"<p>{s}</p>" for s in STORY)
            + f"</div><aside><h2>Most popular</h2><ol>{popular}</ol></aside>"
            f"<section class='related'><h2>Related stories</h2><ul>{popular}</ul></section>")
    _assert_story(extract_page(_page(body, _head())).text)


def test_a_page_that_is_only_a_headline_is_a_skip_reason(tmp_path):
    path = tmp_path / "shell.html"
    path.write_text(_page("<article><h1>Egypt and Pakistan to build armoured vehicle plant</h1></article>",
                          _head()), encoding="utf-8")
    with pytest.raises(Skip, match="no article text"):
        load_article(path, "shell.html", 10_000_000)


@pytest.mark.parametrize("name, date, source, title_start, sentence", [
    ("cnn_article.html", "2013-11-27", "CNN", "After storm, forecasters see smooth sailing",
     "The Pennsylvania official was just talking about one area"),
    ("time_001.html", "2023-11-02", "TIME", "We Need Geoengineering",
     "James Hansen first warned Congress of the threat from climate change in 1988."),
    ("yna_co_kr.html", "2019-08-20", "Yonhap News Agency", "N. Korea slams S. Korea for joint military drill",
     "North Korea's official newspaper blasted South Korea on Tuesday"),
    # No date in the page's metadata: the dateline under the headline ("28 آب/اغسطس 2013").
    ("arabic_article.html", "2013-08-28", "CNNArabic", "معارضون يسيطرون على مخازن للصواريخ",
     "تمكنت من السيطرة على مستودعات للأسلحة بريف دمشق"),
])
def test_real_pages(name, date, source, title_start, sentence):
    article = load_article(PAGES / name, name, 10_000_000)
    assert article.date == date
    assert article.source == source
    assert article.title.startswith(title_start) and "|" not in article.title
    assert sentence in article.text
    assert article.url.startswith("http")
    assert article.lang == ("ar" if name.startswith("arabic") else "en")


def test_site_suffixes_leave_titles_but_headline_words_stay():
    assert strip_site_name("Egypt signs deal - CNNPolitics", "CNN", None) == "Egypt signs deal"
    assert strip_site_name("Egypt news | East Africa Monitor", "East Africa Monitor", None) == "Egypt news"
    assert strip_site_name("Egypt: army signs deal", "Egypt Today", "https://egypttoday.com/x") == \
        "Egypt: army signs deal"


def test_arabic_markdown_loses_markup_and_furniture_like_english():
    raw = ("# محادثات عسكرية مصرية تركية لتعزيز الشراكة والتعاون\n"
           "![قائد القوات الجوية](https://example.com/a.jpg)\n"
           "شارك هذا المقال\n"
           "ناقشت محادثات عسكرية **مصرية تركية** تعزيز الشراكة، وفق [المتحدث العسكري](https://example.com/s).\n"
           "الصورة: رويترز\n"
           "جميع الحقوق محفوظة © 2025\n")
    cleaned = clean(raw, markdown=True)
    assert cleaned.title == "محادثات عسكرية مصرية تركية لتعزيز الشراكة والتعاون"
    assert "ناقشت محادثات عسكرية مصرية تركية تعزيز الشراكة، وفق المتحدث العسكري." in cleaned.text
    for gone in ("#", "![", "](", "**", "شارك هذا المقال", "الصورة: رويترز", "جميع الحقوق محفوظة"):
        assert gone not in cleaned.text
    english = clean("# Egypt and Türkiye hold military talks in Cairo\n![Air force](https://e.com/a.jpg)\n"
                    "Share this article\nEgypt and Türkiye discussed their partnership, said [the spokesman]"
                    "(https://e.com/s).\nPhoto: Reuters\n© 2025 All rights reserved\n", markdown=True)
    assert english.title == "Egypt and Türkiye hold military talks in Cairo"
    assert english.text.endswith("Egypt and Türkiye discussed their partnership, said the spokesman.")


def test_web_metadata_reaches_search_results_and_filters(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("time_001.html", "yna_co_kr.html"):
        (src / name).write_bytes((PAGES / name).read_bytes())
    qa.build_index(src, tmp_path / "index")
    index = qa.load_index(tmp_path / "index")
    hits = index.search("Hansen geoengineering warning", k=3)
    top = hits[0]
    assert top.doc_id == "time_001.html" and top.author == "Alejandro de la Garza"
    assert top.url == "https://time.com/6330957/james-hansen-climate-warning-geoengineering-study/"
    assert top.date == "2023-11-02" and top.source == "TIME"
    by_author = index.search("military drill", k=5, where={"author": "de la Garza"})
    assert by_author and {h.doc_id for h in by_author} == {"time_001.html"}
    dated = index.search("military drill", k=5, where={"date_from": "2019-08-01", "date_to": "2019-08-31"})
    assert {h.doc_id for h in dated} == {"yna_co_kr.html"}
    assert index.article("yna_co_kr.html").url == "https://en.yna.co.kr/view/AEN20190820002300325"
