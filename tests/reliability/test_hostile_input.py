"""Hostile and broken articles and queries: every bad file is reported with its reason, no
build crashes, and queries in odd forms behave."""
import os
import time
import unicodedata

import pytest

import qa

GOOD = "Egypt and Greece hold the Medusa naval exercise off Crete with frigates and helicopters."


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    src = base / "src"
    src.mkdir()
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET text that lives outside the source folder.")
    files = {
        "empty.txt": b"",
        "whitespace.txt": b"   \n\t\n  ",
        "binary.txt": bytes(range(256)) * 16,
        "nul-bytes.txt": b"Egypt drones\x00\x00\x00 more text",
        "cp1252.txt": "Café talks in Cairo: the ministers’ défense meeting.".encode("cp1252"),
        "utf16.txt": "Drone factory opens near Cairo.".encode("utf-16"),
        "utf8-bom.txt": "\ufeffEgypt signed a frigate deal with Italy.".encode("utf-8"),
        "gb18030.txt": "埃及与土耳其签署了无人机联合生产协议。开罗和安卡拉加强军事合作。".encode("gb18030"),
        "long-word.txt": ("Egypt " + "a" * 100_000 + " drones.").encode(),
        "name with spaces.txt": GOOD.encode(),
        "ünïcödé-名前.md": "Egypt and China discuss air defence systems in Beijing.".encode(),
        "-leading-dash.txt": "Egypt buys Rafale jets from France in a new deal.".encode(),
        "--rebuild.txt": "A file named like a flag: Egypt and Cyprus sign a maritime accord.".encode(),
        "dup-a.txt": "Egypt and Sudan hold joint air drills named Nile Eagles.".encode(),
        "dup-b.txt": "Egypt and Sudan hold joint air drills named Nile Eagles.".encode(),
    }
    for name, data in files.items():
        (src / name).write_bytes(data)
    with open(src / "huge.txt", "wb") as f:
        f.truncate(qa.Settings().max_file_bytes + 1)
    os.symlink(outside / "secret.txt", src / "link-outside.txt")
    os.symlink(outside, src / "linked-folder")
    report = qa.build_index(src, base / "index")
    return {"report": report, "index": qa.load_index(base / "index"), "files": list(files) + ["huge.txt"]}


def test_every_file_is_indexed_or_reported(hostile):
    r = hostile["report"]
    accounted = set(r.added) | {p for p, _ in r.skipped} | {d for d, _ in r.duplicates}
    for name in hostile["files"] + ["link-outside.txt", "linked-folder"]:
        assert name in accounted, name
    skipped = dict(r.skipped)
    assert skipped["empty.txt"] == "empty file"
    assert "white space" in skipped["whitespace.txt"]
    assert "binary" in skipped["binary.txt"] and "binary" in skipped["nul-bytes.txt"]
    assert "over the limit" in skipped["huge.txt"]
    assert "symbolic link" in skipped["link-outside.txt"] and "symbolic link" in skipped["linked-folder"]
    assert all(reason for _, reason in r.skipped)
    print(f"bad inputs tried: {len(hostile['files']) + 2}, skipped with reasons: {len(r.skipped)}, "
          f"indexed: {len(r.added)}, duplicates: {len(r.duplicates)}")


def test_encodings_are_decoded_exactly(hostile):
    index = hostile["index"]
    assert index.article("cp1252.txt").text == "Café talks in Cairo: the ministers’ défense meeting."
    assert index.article("utf16.txt").text == "Drone factory opens near Cairo."
    assert index.article("utf8-bom.txt").text == "Egypt signed a frigate deal with Italy."
    assert index.article("gb18030.txt").text == "埃及与土耳其签署了无人机联合生产协议。开罗和安卡拉加强军事合作。"


def test_odd_names_and_duplicates(hostile):
    index = hostile["index"]
    for name in ("name with spaces.txt", "ünïcödé-名前.md", "-leading-dash.txt", "--rebuild.txt"):
        assert index.article(name).text
    assert hostile["report"].duplicates == [("dup-b.txt", "dup-a.txt")]
    assert "TOP SECRET" not in " ".join(index.article(d).text for d in index.articles())


def test_long_word_is_indexed_in_bounded_chunks(hostile):
    index = hostile["index"]
    article = index.article("long-word.txt")
    assert len(article.text) == len("Egypt ") + 100_000 + len(" drones.")
    hits = index.search("drones", k=3, where={"doc_id": "long-word.txt"})
    assert hits and all(len(h.text) <= 200 * 8 for h in hits)


def test_query_forms(hostile, index):
    with pytest.raises(qa.EmptyQueryError):
        index.search("  \t\n ")
    with pytest.raises(qa.EmptyQueryError):
        index.search("\u202e\u200b")  # only invisible format characters
    started = time.perf_counter()
    with pytest.raises(qa.QueryTooLongError):
        index.search("drones " * 100_000)
    assert time.perf_counter() - started < 0.5  # refused before any embedding
    base = [(p.doc_id, p.start) for p in index.search("Bayraktar drones", k=3)]
    assert [(p.doc_id, p.start) for p in index.search("Bayraktar\x00 drones\x07", k=3)] == base
    assert [(p.doc_id, p.start) for p in index.search("\u202eBayraktar drones\u202c", k=3)] == base
    assert index.search("🚁 Bayraktar drones 🇪🇬", k=3)[0].doc_id == base[0][0]
    nfc = unicodedata.normalize("NFC", "Türkiye Havelsan")
    nfd = unicodedata.normalize("NFD", "Türkiye Havelsan")
    assert nfc != nfd
    assert [(p.doc_id, p.start, round(p.score, 6)) for p in index.search(nfd, k=5)] == \
        [(p.doc_id, p.start, round(p.score, 6)) for p in index.search(nfc, k=5)]
