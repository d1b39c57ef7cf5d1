"""Bad and unusual files: skipped with a reason or decoded correctly, never a crashed build."""
import pytest

import qa
from qa.readers import Skip, decode

TEXT = "Égypte et Türkiye: coopération – “drones” à décollage vertical, 2025."


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"])
def test_decodes_common_encodings_without_losing_characters(encoding):
    sample = TEXT if encoding != "cp1252" else TEXT.replace("Türkiye", "Turkiye")
    assert decode(sample.encode(encoding)).text == sample


def test_refuses_binary():
    with pytest.raises(Skip, match="binary"):
        decode(bytes(range(256)) * 4)


def test_bad_files_are_skipped_with_reasons_and_good_ones_indexed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.txt").write_text("Egypt and Pakistan agreed to co-produce armoured vehicles in Cairo.", encoding="utf-8")
    (src / "empty.txt").write_bytes(b"")
    (src / "blank.md").write_text("  \n\t\n ", encoding="utf-8")
    (src / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (src / "latin.txt").write_bytes("Café talks in Cairo: the ministers’ meeting on défense.".encode("cp1252"))
    (src / "wide.txt").write_bytes("Drone factory opens near Cairo.".encode("utf-16"))
    (src / "image.png").write_bytes(b"\x89PNG....")
    report = qa.build_index(src, tmp_path / "index")
    skipped = dict(report.skipped)
    assert set(report.added) == {"good.txt", "latin.txt", "wide.txt"}
    assert skipped["empty.txt"] == "empty file"
    assert "white space" in skipped["blank.md"]
    assert "binary" in skipped["binary.txt"]
    assert "unsupported file type" in skipped["image.png"]
    index = qa.load_index(tmp_path / "index")
    assert index.article("latin.txt").text.startswith("Café talks in Cairo: the ministers’ meeting on défense.")
    assert index.article("wide.txt").text == "Drone factory opens near Cairo."


def test_pdf_text_is_read(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 72 700 Td (Egypt signs a frigate deal with Italy.) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(stream)
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "deal.pdf", "wb") as f:
        writer.write(f)
    (src / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    report = qa.build_index(src, tmp_path / "index")
    assert report.added == ["deal.pdf"]
    assert "broken.pdf" in dict(report.skipped)
    assert "frigate deal with Italy" in qa.load_index(tmp_path / "index").article("deal.pdf").text
