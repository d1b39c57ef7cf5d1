"""Arabic text handling the ranking and the answers rest on: which words BM25 weighs, and
where a sentence ends. Pure functions over real text."""
from qa.chunking import sentences
from qa.lexical import tokenize


def test_arabic_question_words_are_not_search_terms_in_any_spelling():
    # English drops what/when/where/who; Arabic must too, written with or without hamza.
    for question in ("متى ولد؟", "متي ولد؟", "أين ولد؟", "اين ولد؟", "لمن ولد؟", "كيف ولد؟"):
        assert tokenize(question) == ["ولد"], question
    assert tokenize("في أي عام ولد؟") == ["عام", "ولد"]
    assert tokenize("وقد كان لها دور كبير في إنشاء المصنع") == ["دور", "كبير", "انشاء", "مصنع"]


def test_a_lone_arabic_letter_with_a_full_stop_is_an_initial_not_a_sentence_end():
    text = "يضم الحي جادة كيرني المسماة تيمنا بالمقاول م. ثيو كيرني. وقال فريديريك و. موت إن ذلك مضلل."
    assert [text[s:e] for s, e in sentences(text)] == [
        "يضم الحي جادة كيرني المسماة تيمنا بالمقاول م. ثيو كيرني.", "وقال فريديريك و. موت إن ذلك مضلل."]


def test_the_era_after_a_year_still_ends_a_sentence():
    text = "ولد عام 570 م. ثم انتقل إلى المدينة."
    assert [text[s:e] for s, e in sentences(text)] == ["ولد عام 570 م.", "ثم انتقل إلى المدينة."]


def test_a_word_with_the_article_or_a_clitic_stems_as_the_bare_word_does():
    # A name or noun asked with the article must meet the article's bare form, and back: a
    # word whose first letter looks like a clitic (بانثرز, وزير) stems the same in every form.
    for forms in (["البانثرز", "بانثرز", "وبانثرز", "والبانثرز", "للبانثرز"],
                  ["الوزير", "وزير", "والوزير", "للوزير", "بالوزير"],
                  ["القاهرة", "والقاهرة", "بالقاهرة"],
                  ["الكتابة", "كتابة", "بكتابة"]):
        stems = {tuple(tokenize(w)) for w in forms}
        assert len(stems) == 1 and all(stems), (forms, stems)
    # Tanween's carrier alif is not part of the word: استحواذاً is استحواذ (and its plural).
    assert tokenize("استحواذاً") == tokenize("الاستحواذ") == tokenize("استحواذات")
    # Short words keep a letter that could be a clitic (لقاء is a word, not ل + قاء).
    assert tokenize("لقاء") == tokenize("ولقاء") != tokenize("قاء")
