"""The trust benchmark (bench/trust.py): its generated corpus states each item's facts in every
version, its judge tells a citation that states the fact from one that does not, and a small run
goes end to end through the product. The figures and their goals are the benchmark's business
(docs/BENCHMARKS.md); this only checks that the command works and reports what it promises."""
import json
import random

from corpus import load_bench as load


trust = load("trust")


def test_every_version_of_an_item_states_its_facts(tmp_path):
    rng = random.Random(3)
    items = trust.make_items(12, rng)
    docs = trust.write_corpus(tmp_path, items, rng)
    by_id = {it.pid: it for it in items}
    copies = [d for d in docs.values() if d.version == "copy"]
    assert {d.wording for d in copies} >= {"arabic"} and len(copies) == 3
    assert sum(d.version == "seed" for d in docs.values()) == 5
    for doc in docs.values():
        if doc.item:
            it = by_id[doc.item]
            assert {str(it.amount), str(it.jobs), str(it.capacity), str(it.year)} <= trust.numbers(doc.text)
            assert it.pid in doc.text and (it.city in doc.text or it.city_ar in doc.text)
    # Same facts, other words: a copy shares no sentence with its original.
    for copy in copies:
        original = next(d for d in docs.values() if d.item == copy.item and d.version == "original")
        assert not set(original.text.split(". ")) & set(copy.text.split(". "))
    # Deterministic: the same seed writes the same files.
    rng = random.Random(3)
    again = trust.write_corpus(tmp_path / "again", trust.make_items(12, rng), rng)
    assert sorted(again) == sorted(docs)


def test_numbers_are_read_in_every_format():
    assert trust.numbers("US$384 million, $384m, ٣٨٤ مليون") == {"384"}
    assert trust.numbers("create 1,250 jobs, 45% of 2,400.5 tonnes") == {"1250", "45", "2400.5"}


def test_seed_judge_needs_the_numbers_and_names_across_scripts():
    sentence = ("Egypt and Türkiye also signed an agreement last August to jointly produce drones, through a "
                "partnership between the Turkish company Havelsan and Egypt’s Kader Factory.")
    arabic = "كما وقّعت القاهرة وأنقرة في أغسطس الماضي اتفاقاً، بناءً على شراكة بين شركة هافيلسان التركية ومصنع قادر المصري."
    assert trust.states_seed_fact(sentence, arabic) == (True, "")
    ok, why = trust.states_seed_fact(sentence, arabic.replace("هافيلسان", "أسلسان"))
    assert not ok and "Havelsan" in why
    ok, why = trust.states_seed_fact("The two countries signed a $3.5 billion arms deal in 2014.",
                                     "The two countries signed an arms deal in 2015.")
    assert not ok and "3.5" in why


def test_a_small_run_reports_every_figure(tmp_path):
    out = tmp_path / "trust.json"
    report = trust.main(["--items", "6", "--max-per-group", "2", "--work", str(tmp_path / "w"), "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert len(report["commit"]) == 40 and report["corpus"]["originals"] == 6
    summary = report["summary"]
    for key in ("citation_precision", "citation_precision_seed", "citation_precision_templated",
                "corroborating_citation_precision", "corroboration_recall", "corroboration_recall_anywhere_in_answer",
                "abstention_absent", "abstention_issue_reproductions", "answer_accuracy_templated"):
        assert summary[key] is None or 0 <= summary[key] <= 1, key
    assert summary["false_abstentions_heldout"] >= 0 and summary["false_abstentions_templated"] >= 0
    assert report["questions"]["templated"] == 6 * 3 + 3  # three per item, three in Arabic for the Arabic copy
    assert report["abstention_absent"]["questions"]["all"] == 4
    assert set(report["failures"]) == {"citations", "corroboration", "absent_answered", "issue_reproductions_answered",
                                       "heldout_false_abstentions", "templated_wrong"}
    for case in report["failures"]["citations"]:
        assert {"question", "answer", "sentence", "citation", "cited_doc", "why"} <= set(case)
    truth = json.loads((tmp_path / "w" / "trust-corpus-truth.json").read_text())
    assert len(truth["items"]) == 6 and len(truth["docs"]) == 6 + 2 + 5
