"""The format registry (read/write/reads/writes, guessing from file names) and the plain-text format."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import biobert
from biobert.errors import ConfigError, DataFormatError
from biobert.io import FORMATS, guess_format, read, reads, write, writes
from biobert.io.text import read_text
from biobert.types import Document, Span

FIX = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("train.conll", "conll"),
        ("train.tsv", "conll"),
        ("x.iob", "conll"),
        ("x.BIO", "conll"),
        ("CDR_TrainingSet.PubTator.txt", "pubtator"),
        ("a.pubtator", "pubtator"),
        ("CDR_TrainingSet.BioC.xml", "bioc"),
        ("docs.jsonl", "jsonl"),
        ("notes.txt", "text"),  # does not exist: no sniffing
        ("train.tsv.gz", "conll"),  # compression is looked through; the readers decompress
        ("CDR_TestSet.BioC.xml.bz2", "bioc"),
        ("docs.jsonl.xz", "jsonl"),
    ],
)
def test_guess_from_extension(name, fmt):
    assert guess_format(name) == fmt


def test_unknown_extension_names_file_and_formats():
    with pytest.raises(ConfigError) as e:
        guess_format("report.docx")
    msg = str(e.value)
    assert "report.docx" in msg and all(name in msg for name in FORMATS)
    with pytest.raises(ConfigError, match="accepted formats"):
        read("x.csv")
    with pytest.raises(ConfigError, match="unknown format 'standoff-xml'"):
        reads("", "standoff-xml")


def test_txt_is_sniffed_for_pubtator(tmp_path):
    assert guess_format(FIX / "ncbi_sample.txt") == "pubtator"
    plain = tmp_path / "abstract.txt"
    plain.write_text("12|x| not a record\n", encoding="utf-8")
    assert guess_format(plain) == "text"


def test_compressed_files_read_like_plain_ones(tmp_path):
    import gzip

    for name in ("ncbi_sample.txt", "cdr_sample.PubTator.txt", "cdr_sample.BioC.xml"):
        src = FIX / name
        packed = tmp_path / (name + ".gz")
        packed.write_bytes(gzip.compress(src.read_bytes()))
        assert guess_format(packed) == guess_format(src)
        assert [d.to_dict() for d in read(packed)] == [d.to_dict() for d in read(src)]
    # the streaming line reader (biobert tag --lines) too, with offsets into the decompressed text
    from biobert.io.text import iter_text_lines

    lines = tmp_path / "abstracts.txt"
    lines.write_text("Cisplatin caused nephrotoxicity.\n\nAspirin \u00b1 caffeine.\n", encoding="utf-8")
    (tmp_path / "abstracts.txt.gz").write_bytes(gzip.compress(lines.read_bytes()))
    plain = [d.to_dict() for d in iter_text_lines(lines)]
    assert [d.to_dict() for d in iter_text_lines(tmp_path / "abstracts.txt.gz")] == plain and len(plain) == 2


def test_streams_need_a_format():
    with pytest.raises(ConfigError):
        read(io.StringIO("a\tO\n"))
    with pytest.raises(ConfigError):
        write([], io.StringIO())
    assert read(io.StringIO("a\tB-X\n"), "conll")[0].spans[0].text == "a"


def test_conversion_through_the_registry(tmp_path):
    docs = read(FIX / "cdr_sample.PubTator.txt")
    for ext in (".jsonl", ".xml", ".PubTator.txt"):
        out = tmp_path / f"conv{ext}"
        report = write(docs, out)
        assert report["docs"] == 2
        back = read(out)
        assert [d.spans for d in back] == [d.spans for d in docs]
        assert [d.text for d in back] == [d.text for d in docs]
    conll = writes(docs, "conll")
    assert conll.startswith("-DOCSTART-\tO\n\nNaloxone\tB-Chemical\nreverses\tO\n")


def test_top_level_shortcuts():
    assert biobert.read is read and biobert.write is write


# -- plain text ----------------------------------------------------------------


def test_text_whole_file_is_kept_exactly(tmp_path):
    content = "Title line\r\n\u00a0Abstract with \x96 and \u2028 and\x85 NEL.\r\n"
    path = tmp_path / "abstract.txt"
    path.write_bytes(b"\xef\xbb\xbf" + content.encode("utf-8"))  # with a BOM, which is dropped
    (doc,) = read(path)
    assert doc.id == "abstract" and doc.text == content


def test_text_lines_ids_and_offsets(tmp_path):
    content = "First sentence on ±5 mg.\r\n\n   \nSecond\u2028still second.\nThird\n"
    path = tmp_path / "queries.txt"
    path.write_text(content, encoding="utf-8", newline="")
    docs = read_text(path, lines=True)
    assert [(d.id, d.text) for d in docs] == [
        ("queries:1", "First sentence on ±5 mg."),
        ("queries:4", "Second\u2028still second."),
        ("queries:5", "Third"),
    ]
    for d in docs:
        off = d.metadata["offset"]
        assert content[off : off + len(d.text)] == d.text
    assert read(path, lines=True, doc_id="q")[0].id == "q:1"


def test_text_not_utf8(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"ok\nalso ok\ncaf\xe9\n")
    with pytest.raises(DataFormatError) as e:
        read(path)
    assert (e.value.code, e.value.line) == ("E200", 3)
    assert e.value.found == "caf\\xe9" and "iconv" in str(e.value)  # the bad bytes of that line, and the fix
    with pytest.raises(DataFormatError) as e:
        read(path, lines=True)  # the line-by-line reader reports the same way
    assert (e.value.code, e.value.line) == ("E200", 3) and "iconv" in str(e.value)


def test_text_writer():
    docs = [Document("a", "one ±"), Document("b", "two")]
    assert writes(docs, "text", lines=True) == "one ±\ntwo\n"
    assert writes(docs[:1], "text") == "one ±"
    with pytest.raises(ConfigError):
        writes(docs, "text")
    with pytest.raises(ConfigError):
        writes([Document("c", "a\nb")], "text", lines=True)
    assert reads("x y", "text")[0].spans == ()
    assert writes([Document("d", "z").with_spans([Span(0, 1, "X")])], "text") == "z"


def test_a_dropped_bom_is_said_and_line_offsets_still_index_the_file(tmp_path):
    from biobert.io.text import iter_text_lines

    content = "Aspirin causes asthma.\r\nTP53 too.\n"
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + content.encode("utf-8"))
    (doc,) = read_text(path)
    assert doc.text == content and doc.metadata == {"bom_dropped": True}
    in_file = path.read_bytes().decode("utf-8")  # what an editor shows: U+FEFF first
    docs = read_text(path, lines=True)
    assert [d.metadata for d in docs] == [{"line": 1, "offset": 1, "bom_dropped": True}, {"line": 2, "offset": 25, "bom_dropped": True}]
    for d in docs:
        assert in_file[d.metadata["offset"]:d.metadata["offset"] + len(d.text)] == d.text
    assert list(iter_text_lines(path)) == docs
    tmp_path.joinpath("nobom.txt").write_text(content, encoding="utf-8")
    assert all("bom_dropped" not in d.metadata for d in read_text(tmp_path / "nobom.txt", lines=True))
    # written back with its mark, so that read -> write gives the file's bytes again
    assert write([doc], tmp_path / "out.txt", fmt="text")["bom_written"] == 1
    assert (tmp_path / "out.txt").read_bytes() == path.read_bytes()


@pytest.mark.parametrize("lines", [False, True])
def test_a_text_starting_with_feff_is_counted_as_read_back_without_it(tmp_path, lines):
    from biobert.io import changes

    doc = Document("d", "\ufeffAspirin")  # the character is the text's own: no bom_dropped metadata
    report = write([doc], tmp_path / "o.txt", fmt="text", lines=lines)
    # the reader takes it for a byte-order mark and drops it (documented): the writer now says so
    assert read_text(tmp_path / "o.txt", lines=lines)[0].text == "Aspirin"
    assert changes(report) == {"leading_feff_read_as_bom": 1}
    read_back = read_text(tmp_path / "o.txt", lines=lines)[0]  # a mark the reader recorded is written back: no change
    assert "leading_feff_read_as_bom" not in write([read_back], tmp_path / "p.txt", fmt="text", lines=lines)
