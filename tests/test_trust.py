"""Answers a reader can trust: a citation states the cited fact, a question about something no
article mentions is refused and says what, and the sentence quoted is of the kind asked for.

The corpus is templated news (one sentence pattern, other project ids, cities and amounts) with
re-worded wire copies of some items, as syndicated and market news is: word overlap cannot
tell those items apart, their facts can.
"""
import re

import pytest

import qa
from qa.facts import agree, facts_of

from corpus import PAKISTAN, RUSSIA, TURKEY_AR, TURKEY_EN

ITEMS = [  # id, goods, city, million dollars, jobs
    ("K101", "rail cars", "Zagazig", 384, 1200), ("K102", "rail cars", "Tanta", 512, 900),
    ("K103", "steel pipes", "Zagazig", 275, 1200), ("K104", "solar panels", "Assiut", 384, 650),
    ("K105", "tyres", "Sohag", 148, 2100), ("K106", "glass", "Minya", 733, 480),
    ("K107", "cement", "Suez", 96, 3000), ("K108", "cables", "Luxor", 421, 760),
]
WIRE = {"K101", "K105"}  # items with a re-worded wire copy


@pytest.fixture(scope="module")
def templated(tmp_path_factory):
    src = tmp_path_factory.mktemp("templated")
    for pid, goods, city, amount, jobs in ITEMS:
        (src / f"item_{pid}.txt").write_text(
            f"Investment approved for project {pid}\n\nProject {pid}, a {goods} plant in {city}, will receive an "
            f"investment of {amount} million dollars, the Ministry of Trade and Industry said on Sunday. The plant "
            f"is expected to create {jobs:,} jobs when it opens, with a yearly capacity of {jobs * 7:,} tonnes. "
            f"Officials said the project is part of a wider industrial plan.\n", encoding="utf-8")
        if pid in WIRE:
            (src / f"wire_{pid}.txt").write_text(
                f"Egypt backs {city} {goods} factory\n\nThe {city} factory for {goods}, listed as project {pid}, is "
                f"set to get ${amount}m in funding, according to the trade ministry. Some {jobs:,} people will be "
                f"employed there, the statement added.\n", encoding="utf-8")
    index_dir = src.parent / "templated-index"
    qa.build_index(src, index_dir)
    return qa.load_index(index_dir)


def item_of(doc_id: str) -> str:
    return re.search(r"K\d+", doc_id).group(0)


@pytest.mark.parametrize("pid", [i[0] for i in ITEMS])
def test_every_citation_states_the_quoted_fact(templated, pid):
    answer = qa.ask(f"How much investment will project {pid} receive?", templated)
    assert answer.answered
    amount = next(a for p, _, _, a, _ in ITEMS if p == pid)
    assert str(amount) in answer.text
    for sentence, numbers in answer.sentences:
        main = facts_of(sentence)
        for n in numbers:
            cited = answer.citations[n - 1]
            assert item_of(cited.doc_id) == item_of(answer.citations[numbers[0] - 1].doc_id), (sentence, cited.doc_id)
            stated = facts_of(cited.text)  # the passage states the sentence's figures and ids
            assert main.numbers <= stated.numbers and main.identifiers <= stated.identifiers


@pytest.mark.parametrize("pid", sorted(WIRE))
def test_a_reworded_wire_copy_is_cited_with_the_original(templated, pid):
    answer = qa.ask(f"How much investment will project {pid} receive?", templated)
    first = answer.sentences[0][1]
    assert {answer.citations[n - 1].doc_id for n in first} == {f"item_{pid}.txt", f"wire_{pid}.txt"}


def test_same_template_other_figures_is_not_corroboration(templated):
    # K101 and K104 share their amount (384 million) but not their id, city or goods.
    answer = qa.ask("How much investment will project K104 receive?", templated)
    assert {item_of(p.doc_id) for p in answer.citations} == {"K104"}


def test_search_keeps_items_with_other_figures_apart(templated):
    hits = templated.search("rail cars plant investment million dollars", k=8, mode="lexical")
    assert {item_of(p.doc_id) for p in hits} >= {"K101", "K102"}


def test_a_question_of_amount_is_answered_by_the_amount(templated):
    jobs = qa.ask("How many jobs will project K106 create?", templated)
    assert "480 jobs" in jobs.text
    cost = qa.ask("How much will the K107 plant cost?", templated)
    assert "96 million dollars" in cost.sentences[0][0]


def test_absent_identifier_is_refused_by_name(templated):
    answer = qa.ask("How much investment will project K999 receive?", templated)
    assert not answer.answered and answer.citations == []
    assert answer.text == "No article mentions K999."


@pytest.mark.parametrize("question,history,absent", [
    ("What did Egypt and Chile sign?", [], "Chile"),
    ("Which Argentinian company opened an office in Cairo?", [], "Argentinian"),
    ("And with Indonesia?", [("What has Egypt co-produced with Türkiye?", "")], "Indonesia"),
    ("ما الذي وقعته مصر مع الأرجنتين؟", [], "الأرجنتين"),
    ("وماذا عن إندونيسيا؟", [("ما الذي اتفقت عليه مصر وتركيا؟", "")], "إندونيسيا"),
])
def test_a_subject_no_article_mentions_is_refused(index, question, history, absent):
    answer = qa.ask(question, index, history=history)
    assert not answer.answered and answer.citations == []
    assert absent in answer.text


def test_forms_and_transliterations_count_as_mentions(index):
    for word in ("Egyptian", "Pakistani", "Turkey", "Havelsan", "هافيلسان", "Russian", "Kader"):
        assert index.mentions(word), word
    for word in ("Chile", "Indonesia", "الأرجنتين", "Z017"):
        assert not index.mentions(word), word


def test_answers_concern_the_countries_asked_about(index):
    answer = qa.ask("What did Egypt and Russia agree?", index)
    assert answer.answered and answer.citations[0].doc_id == RUSSIA
    for sentence, _ in answer.sentences:
        assert "Russia" in sentence or "Moscow" in sentence or answer.citations[0].doc_id == RUSSIA


def test_english_and_arabic_copies_of_one_fact_are_cited_together(index):
    answer = qa.ask("What has Egypt co-produced with Türkiye?", index)
    docs = [p.doc_id for p in answer.citations]
    assert docs[0] == TURKEY_EN and TURKEY_AR in docs and PAKISTAN not in docs


def test_facts_compare_numbers_by_value_across_formats_and_scripts():
    a = facts_of("Project Z017 will receive an investment of 384 million dollars in August.")
    assert agree(a, facts_of("The plant, project Z-017, gets $384m, the ministry said on 3 August."))
    assert agree(a, facts_of("يحصل المشروع Z017 على ٣٨٤ مليون دولار في أغسطس"))
    assert not agree(a, facts_of("Project Z018 will receive an investment of 384 million dollars in August."))
    assert not agree(a, facts_of("Project Z017 will receive an investment of 512 million dollars in August."))
    assert facts_of("1,200 jobs and 12.5% more").numbers == {"1200", "12.5"}
