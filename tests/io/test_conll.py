"""CoNLL/IOB reading and writing: offsets, tag schemes, repairs, errors, round trips."""

from __future__ import annotations

import io

import pytest

from biobert.errors import ConfigError, DataFormatError, OffsetError
from biobert.io import read, reads, write, writes
from biobert.io.conll import read_conll, write_conll
from biobert.types import Document, Span

TYPED_BIO = (
    "-DOCSTART-\tO\n"
    "\n"
    "Naloxone\tB-Chemical\n"
    "reverses\tO\n"
    "α-methyldopa\tB-Chemical\n"
    "±\tO\n"
    "Ca²⁺\tB-Chemical\n"
    "\n"
    "[3H]-naloxone\tB-Chemical\n"
    "caused\tO\n"
    "hyper\u00adtension\tB-Disease\n"
    "in\tO\n"
    "rats\tO\n"
    "\n"
    "-DOCSTART-\tO\n"
    "\n"
    "Breast\tB-Disease\n"
    "cancer\tI-Disease\n"
    "5\u00a0mg\tO\n"
    "\x96\tO\n"
    "\n"
)

UNTYPED = "IL\tB\n-\tI\n2\tI\ngene\tI\nexpression\tO\n\nβ-globin\tB\n.\tO\n"

IOBES = (
    "Familial\tB-Disease\nadenomatous\tI-Disease\npolyposis\tE-Disease\n(\tO\nFAP\tS-Disease\n)\tO\n\n"
    "p53\tS-Gene-or-gene-product\nand\tO\nBRCA\tB-Gene-or-gene-product\n1\tE-Gene-or-gene-product\n\n"
)


def _check_spans(docs: list[Document]) -> None:
    for d in docs:
        for s in d.spans:
            assert d.text[s.start : s.end] == s.text


def test_typed_bio_with_docstart_offsets(tmp_path):
    path = tmp_path / "cdr.conll"
    path.write_text(TYPED_BIO, encoding="utf-8")
    docs = read_conll(path)
    assert [d.id for d in docs] == ["cdr:0", "cdr:1"]
    d0, d1 = docs
    assert d0.text == "Naloxone reverses α-methyldopa ± Ca²⁺\n[3H]-naloxone caused hyper\u00adtension in rats"
    assert d0.sentences == ((0, 37), (38, 80))
    assert d0.tokens[:6] == ((0, 8), (9, 17), (18, 30), (31, 32), (33, 37), (38, 51))
    assert [(s.start, s.end, s.label, s.text) for s in d0.spans] == [
        (0, 8, "Chemical", "Naloxone"),
        (18, 30, "Chemical", "α-methyldopa"),
        (33, 37, "Chemical", "Ca²⁺"),
        (38, 51, "Chemical", "[3H]-naloxone"),
        (59, 72, "Disease", "hyper\u00adtension"),
    ]
    assert d1.text == "Breast cancer 5\u00a0mg \x96"
    assert d1.tokens == ((0, 6), (7, 13), (14, 18), (19, 20))
    assert [(s.start, s.end, s.label) for s in d1.spans] == [(0, 13, "Disease")]
    assert d0.metadata == {"scheme": "BIO", "docstart": True, "repaired_tags": 0}
    _check_spans(docs)


def test_without_docstart_every_sentence_is_a_document(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text(UNTYPED, encoding="utf-8")
    docs = read_conll(path)
    assert [d.id for d in docs] == ["train:0", "train:1"]
    assert docs[0].text == "IL - 2 gene expression"
    assert docs[0].sentences == ((0, 22),)
    assert [(s.start, s.end, s.label, s.text) for s in docs[0].spans] == [(0, 11, "ENTITY", "IL - 2 gene")]
    assert [(s.start, s.end, s.text) for s in docs[1].spans] == [(0, 8, "β-globin")]
    assert docs[0].metadata["untyped"] is True


def test_untyped_label_and_untyped_written_back():
    docs = reads(UNTYPED, "conll", untyped_label="Gene")
    assert {s.label for d in docs for s in d.spans} == {"Gene"}
    assert writes(docs, "conll") == UNTYPED + "\n"  # the writer ends every sentence with a blank line


def test_iobes_and_hyphenated_types():
    docs = reads(IOBES, "conll")
    assert docs[0].metadata["scheme"] == "IOBES"
    assert [(s.start, s.end, s.label, s.text) for s in docs[0].spans] == [
        (0, 30, "Disease", "Familial adenomatous polyposis"),
        (33, 36, "Disease", "FAP"),
    ]
    # types are split on the first hyphen only
    assert [(s.label, s.text) for s in docs[1].spans] == [("Gene-or-gene-product", "p53"), ("Gene-or-gene-product", "BRCA 1")]
    assert all(d.metadata["repaired_tags"] == 0 for d in docs)


def test_bilou_is_read_like_iobes():
    bilou = IOBES.replace("E-", "L-").replace("S-", "U-")
    a, b = reads(bilou, "conll"), reads(IOBES, "conll")
    assert [d.spans for d in a] == [d.spans for d in b]
    assert a[0].metadata["scheme"] == "BILOU"
    assert writes(a, "conll", scheme="BILOU") == bilou


def test_conlleval_repairs_are_counted_not_hidden():
    # I after O starts a chunk; a type change inside a chunk starts another one
    text = "a\tO\nb\tI-Chem\nc\tI-Chem\nd\tO\ne\tB-Chem\nf\tI-Dis\n"
    (doc,) = reads(text, "conll")
    assert [(s.text, s.label) for s in doc.spans] == [("b c", "Chem"), ("e", "Chem"), ("f", "Dis")]
    assert doc.metadata["repaired_tags"] == 2


def test_iobes_unclosed_chunk_is_a_repair():
    (doc,) = reads("a\tB-X\nb\tO\nc\tS-X\n", "conll")
    assert [s.text for s in doc.spans] == ["a", "c"]
    assert doc.metadata["repaired_tags"] == 1  # B-X alone should have been S-X


def test_whitespace_separated_columns_and_column_choice():
    text = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n"
    (doc,) = reads(text, "conll")
    assert [(s.text, s.label) for s in doc.spans] == [("EU", "ORG"), ("German", "MISC")]
    (doc,) = reads(text, "conll", column=2)
    assert [(s.text, s.label) for s in doc.spans] == [("EU", "NP"), ("rejects", "VP"), ("German", "NP")]


@pytest.mark.parametrize(
    "content, code, line",
    [
        ("a\tO\nb\n", "E201", 2),  # no tag column
        ("a\tO\n\nb\tO\nc\tX-Disease\n", "E202", 4),  # unknown prefix
        ("a\tO\nb\tB-\n", "E202", 2),  # prefix without type after the hyphen
        ("\tO\n", "E203", 1),  # empty token
        ("a\tO\nb c\tO\n", "E203", 2),  # token with a space
        ("a\tB-Disease\nb\tO\n\nc\tB\n", "E204", 4),  # typed and untyped mixed
    ],
)
def test_malformed_lines_raise_with_line_numbers(tmp_path, content, code, line):
    path = tmp_path / "bad.conll"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        read_conll(path)
    assert (e.value.code, e.value.line, e.value.path) == (code, line, str(path))


def test_scheme_restriction():
    with pytest.raises(DataFormatError) as e:
        reads("a\tB-X\nb\tO\nc\tS-X\n", "conll", scheme="BIO")
    assert (e.value.code, e.value.line) == ("E202", 3)
    with pytest.raises(ConfigError):
        reads("a\tO\n", "conll", scheme="IOB3")


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_compressed_files_read_like_plain_ones(tmp_path, suffix):
    import bz2
    import gzip
    import lzma

    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[suffix]
    path = tmp_path / f"train.tsv{suffix}"
    with opener(path, "wb") as f:
        f.write(TYPED_BIO.encode("utf-8"))
    plain = tmp_path / "train.tsv"
    plain.write_text(TYPED_BIO, encoding="utf-8")
    assert [d.to_dict() for d in read_conll(path)] == [d.to_dict() for d in read_conll(plain)]


def test_not_utf8_reports_line(tmp_path):
    path = tmp_path / "latin1.conll"
    path.write_bytes("a\tO\nna\u00efve\tO\n".encode("latin-1"))
    with pytest.raises(DataFormatError) as e:
        read_conll(path)
    assert (e.value.code, e.value.line) == ("E200", 2)


@pytest.mark.parametrize("content", [TYPED_BIO, UNTYPED, IOBES])
@pytest.mark.parametrize("scheme", ["BIO", "IOBES"])
def test_round_trip(tmp_path, content, scheme):
    src = tmp_path / "in.conll"
    src.write_text(content, encoding="utf-8")
    docs = read(src)
    out = tmp_path / "out.conll"
    report = write(docs, out, scheme=scheme)
    back = read_conll(out)
    assert [d.text for d in back] == [d.text for d in docs]
    assert [d.tokens for d in back] == [d.tokens for d in docs]
    assert [d.sentences for d in back] == [d.sentences for d in docs]
    assert [d.spans for d in back] == [d.spans for d in docs]
    assert [d.id.split(":")[1] for d in back] == [d.id.split(":")[1] for d in docs]
    assert back[0].metadata.get("untyped") == docs[0].metadata.get("untyped")
    assert report["tokens"] == sum(len(d.tokens) for d in docs)
    assert report["dropped_overlapping_spans"] == 0
    if scheme == "BIO" and content is not IOBES:
        # byte-identical, up to the blank line the writer puts after the last sentence
        assert out.read_text(encoding="utf-8") == (content if content.endswith("\n\n") else content + "\n")


def test_write_untokenised_document_cuts_at_span_boundaries():
    text = "BRCA1mutations cause breast cancer. Cisplatin (CDDP) was given."
    doc = Document("d1", text).with_spans([Span(0, 5, "Gene"), Span(21, 34, "Disease"), Span(36, 45, "Chemical"), Span(47, 51, "Chemical")])
    buf = io.StringIO()
    report = write_conll([doc], buf)
    assert buf.getvalue() == (
        "-DOCSTART-\tO\n\n"
        "BRCA1\tB-Gene\nmutations\tO\ncause\tO\nbreast\tB-Disease\ncancer\tI-Disease\n.\tO\n\n"
        "Cisplatin\tB-Chemical\n(\tO\nCDDP\tB-Chemical\n)\tO\nwas\tO\ngiven\tO\n.\tO\n\n"
    )
    assert report == {"docs": 1, "sentences": 2, "tokens": 13, "spans": 4, "dropped_overlapping_spans": 0, "merged_sentence_breaks": 0,
                      "empty_docs_not_written": 0}
    (back,) = reads(buf.getvalue(), "conll")
    assert [s.text for s in back.spans] == ["BRCA1", "breast cancer", "Cisplatin", "CDDP"]


def test_write_drops_overlapping_spans_and_counts_them():
    text = "ovarian and breast cancer risk"
    doc = Document("d", text, tokens=((0, 7), (8, 11), (12, 18), (19, 25), (26, 30))).with_spans(
        [Span(0, 25, "Disease"), Span(12, 25, "Disease"), Span(19, 30, "Other"), Span(26, 30, "Other")]
    )
    out = writes([doc], "conll", docstart=False)
    assert out == "ovarian\tB-Disease\nand\tI-Disease\nbreast\tI-Disease\ncancer\tI-Disease\nrisk\tB-Other\n\n"
    report = write_conll([doc], io.StringIO(), docstart=False)
    assert report["dropped_overlapping_spans"] == 2 and report["spans"] == 2


def test_write_misaligned_span_raises_offset_error():
    doc = Document("d", "interleukin-6 receptor", tokens=((0, 13), (14, 22))).with_spans([Span(0, 11, "Gene")])
    with pytest.raises(OffsetError, match="E110"):
        writes([doc], "conll")


def test_write_token_with_space_raises():
    doc = Document("d", "a b", tokens=((0, 3),))
    with pytest.raises(OffsetError, match="E111"):
        writes([doc], "conll")


def test_sentence_break_inside_a_span_is_not_written():
    text = "Treated with aspirin. Twelve patients improved."
    # the sentence splitter cuts after "aspirin."; a span across the cut (silly, but legal) must survive
    doc = Document("d", text).with_spans([Span(13, 28, "Chemical")])
    buf = io.StringIO()
    report = write_conll([doc], buf, docstart=False)
    assert report["merged_sentence_breaks"] == 1 and report["sentences"] == 1
    (back,) = reads(buf.getvalue(), "conll")
    assert [s.text for s in back.spans] == ["aspirin . Twelve"]


def test_extra_columns_give_conlleval_layout():
    gold = Document("g", "aspirin and heparin", tokens=((0, 7), (8, 11), (12, 19))).with_spans([Span(0, 7, "Chem"), Span(12, 19, "Chem")])
    pred = Document("g", gold.text, tokens=gold.tokens).with_spans([Span(0, 11, "Chem")])
    out = writes([gold], "conll", extra_columns=[[pred]], docstart=False)
    assert out == "aspirin\tB-Chem\tB-Chem\nand\tO\tI-Chem\nheparin\tB-Chem\tO\n\n"
    assert [s.key for s in reads(out, "conll", column=1)[0].spans] == [s.key for s in gold.spans]
    assert [s.key for s in reads(out, "conll")[0].spans] == [s.key for s in pred.spans]


# -- empty documents and stray carriage returns ------------------------------------------------------


def _gene_doc(doc_id: str, text: str) -> Document:
    return Document(doc_id, text).with_spans([Span(0, 5, "Gene")] if text.startswith("BRCA1") else [])


def test_empty_documents_round_trip_as_empty_docstart_sections():
    docs = [_gene_doc("a", "BRCA1"), _gene_doc("b", ""), _gene_doc("c", "  \n "), _gene_doc("d", "x")]
    buf = io.StringIO()
    report = write_conll(docs, buf)  # docstart=None: an empty document needs -DOCSTART- to exist at all
    assert buf.getvalue() == "-DOCSTART-\tO\n\nBRCA1\tB-Gene\n\n-DOCSTART-\tO\n\n-DOCSTART-\tO\n\n-DOCSTART-\tO\n\nx\tO\n\n"
    assert report["docs"] == 4 and report["empty_docs_not_written"] == 0
    back = reads(buf.getvalue(), "conll")
    # whitespace between tokens is never kept by CoNLL; the document count and order are
    assert [d.text for d in back] == ["BRCA1", "", "", "x"]
    assert [[s.text for s in d.spans] for d in back] == [["BRCA1"], [], [], []]
    assert [d.id for d in back] == ["string:0", "string:1", "string:2", "string:3"]


def test_consecutive_docstart_lines_are_an_empty_document():
    text = "-DOCSTART-\tO\n-DOCSTART-\tO\n\na\tB-X\n\n-DOCSTART-\tO\n"
    docs = reads(text, "conll")
    assert [d.text for d in docs] == ["", "a", ""]
    assert docs[0].tokens == () and docs[0].sentences == () and docs[0].metadata["docstart"] is True


def test_conll2003_docstart_followed_by_blank_line_reads_as_before():
    text = ("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nGerman JJ B-NP B-MISC\n\n"
            "-DOCSTART- -X- -X- O\n\nPeter NNP B-NP B-PER\n\n")
    docs = reads(text, "conll")
    assert [d.text for d in docs] == ["EU rejects\nGerman", "Peter"]
    assert [[(s.text, s.label) for s in d.spans] for d in docs] == [[("EU", "ORG"), ("German", "MISC")], [("Peter", "PER")]]


def test_without_docstart_empty_documents_are_counted_not_claimed(caplog):
    docs = [_gene_doc("a", "BRCA1"), _gene_doc("b", ""), _gene_doc("c", " "), _gene_doc("d", "x")]
    buf = io.StringIO()
    report = write_conll(docs, buf, docstart=False)
    assert buf.getvalue() == "BRCA1\tB-Gene\n\nx\tO\n\n"
    assert report["docs"] == 2 and report["empty_docs_not_written"] == 2
    assert len(reads(buf.getvalue(), "conll")) == report["docs"]
    assert "2 document(s) without tokens" in caplog.text


@pytest.mark.parametrize("raw", [
    b"BRCA1\tB-Gene\r\nx\tI-Gene\r",  # CRLF file whose last line lost its \n
    b"BRCA1\tB-Gene\r\r\nx\tI-Gene\r\r\n",  # \r\r\n line ends
    b"BRCA1\tB-Gene \t\r\nx\tI-Gene\r\n\r\r\n",  # trailing blanks before the CR, and a blank line holding a CR
    b"BRCA1 B-Gene\r\r\nx I-Gene \r",  # whitespace-separated columns
])
def test_trailing_carriage_returns_do_not_end_up_in_tags(tmp_path, raw):
    path = tmp_path / "cr.conll"
    path.write_bytes(raw)
    (doc,) = read_conll(path)
    assert [(s.text, s.label) for s in doc.spans] == [("BRCA1 x", "Gene")]
    assert doc.metadata["repaired_tags"] == 0


def test_trailing_carriage_return_with_an_explicit_separator(tmp_path):
    path = tmp_path / "cr.conll"
    path.write_bytes(b"BRCA1\tB-Gene\r\r\nx\tI-Gene\r")
    (doc,) = read_conll(path, sep="\t")
    assert [(s.text, s.label) for s in doc.spans] == [("BRCA1 x", "Gene")]


def test_a_carriage_return_inside_a_token_is_refused():
    """The writer refuses such a token (E111), so reading it would make a corpus that cannot be written back."""
    from biobert.io import reads

    with pytest.raises(DataFormatError) as e:
        reads("BRCA\r1\tB-Gene\nx\tO\n", "conll")
    assert e.value.code == "E203" and e.value.line == 1


# the original JNLPBA 2004 files (Genia4ERtask*.iob2, Genia4EReval*.iob2): a "###MEDLINE:<id>" line and a blank
# line open every abstract; typed labels hold underscores (cell_line, cell_type)
JNLPBA = (
    "###MEDLINE:96077708\n\n"
    "IL-2\tB-DNA\ngene\tI-DNA\nexpression\tO\nin\tO\nJurkat\tB-cell_line\nT\tI-cell_line\ncells\tI-cell_line\n.\tO\n\n"
    "NF-kappa\tB-protein\nB\tI-protein\n.\tO\n\n"
    "###MEDLINE:95343554\n\n"
    "Human\tB-cell_type\nT\tI-cell_type\ncells\tI-cell_type\n\n"
)


def test_jnlpba_medline_headers_open_documents_and_are_written_back(tmp_path):
    path = tmp_path / "Genia4ERtask1.iob2"
    path.write_bytes(JNLPBA.replace("\n", "\r\n").encode("utf-8"))
    docs = read(path)  # .iob2 is CoNLL
    _check_spans(docs)
    assert [d.metadata["medline"] for d in docs] == ["96077708", "95343554"]
    assert [d.text for d in docs] == ["IL-2 gene expression in Jurkat T cells .\nNF-kappa B .", "Human T cells"]
    assert [[(s.text, s.label) for s in d.spans] for d in docs] == [
        [("IL-2 gene", "DNA"), ("Jurkat T cells", "cell_line"), ("NF-kappa B", "protein")], [("Human T cells", "cell_type")]]
    assert all(d.metadata["docstart"] and "context_group" not in d.metadata for d in docs)  # separate abstracts
    assert writes(docs, "conll") == JNLPBA  # the headers, not -DOCSTART- lines, so the abstract ids survive


def test_a_token_starting_like_a_medline_header_is_still_a_token():
    [doc] = reads("###MEDLINE:1\tB-X\nx\tO\n", "conll")
    assert doc.text == "###MEDLINE:1 x" and [s.text for s in doc.spans] == ["###MEDLINE:1"]
    assert "medline" not in doc.metadata


# -- mutation-testing gaps (round 3) ---------------------------------------------------------------------


def test_space_separated_columns_keep_a_token_holding_nbsp_whole():
    (doc,) = read_conll(io.StringIO("5\u00a0mg B-Chem\nx O\n"))
    assert doc.text == "5\u00a0mg x" and [s.text for s in doc.spans] == ["5\u00a0mg"]


def test_column_zero_is_a_config_error():
    with pytest.raises(ConfigError):
        read_conll(io.StringIO("a\tO\n"), column=0)


def test_mixed_typed_and_untyped_names_the_first_line_of_each():
    with pytest.raises(DataFormatError, match="typed tag on line 1, untyped on 3"):
        read_conll(io.StringIO("a\tB-X\nb\tB-Y\nc\tB\n"))


def test_a_bilou_file_with_unit_tags_only_is_bilou_and_needs_no_repair():
    for content in ("a\tU-X\n", "a\tB-X\nb\tL-X\nc\tU-X\n"):
        (doc,) = read_conll(io.StringIO(content))
        assert doc.metadata["scheme"] == "BILOU" and doc.metadata["repaired_tags"] == 0, content


def test_sentences_before_the_first_docstart_are_a_document():
    docs = read_conll(io.StringIO("a\tO\n\n-DOCSTART-\tO\n\nb\tB-X\n"))
    assert [d.text for d in docs] == ["a", "b"]


def test_sentence_documents_of_a_file_without_docstart_share_a_context_group():
    from biobert.io.conll import CONTEXT_GROUP

    docs = read_conll(io.StringIO("a\tO\n\nb\tO\n"))
    assert len(docs) == 2 and docs[0].metadata[CONTEXT_GROUP] == docs[1].metadata[CONTEXT_GROUP]
    assert CONTEXT_GROUP not in read_conll(io.StringIO("-DOCSTART-\tO\n\na\tO\n"))[0].metadata


def test_of_two_spans_with_one_start_the_longer_is_written():
    doc = Document("d", "aspirin and heparin", tokens=((0, 7), (8, 11), (12, 19))).with_spans(
        [Span(0, 7, "Chem"), Span(0, 19, "Chem")])
    buf = io.StringIO()
    report = write_conll([doc], buf, docstart=False)
    assert buf.getvalue() == "aspirin\tB-Chem\nand\tI-Chem\nheparin\tI-Chem\n\n" and report["dropped_overlapping_spans"] == 1


def test_an_empty_span_between_tokens_is_misaligned():
    doc = Document("d", "a-b", tokens=((0, 1), (1, 2), (2, 3))).with_spans([Span(1, 1, "X")])
    with pytest.raises(OffsetError, match="E110"):
        writes([doc], "conll")


def test_a_medline_id_with_a_tab_cannot_be_written():
    doc = Document("d", "a", metadata={"medline": "123\t4"})
    with pytest.raises(ConfigError):
        writes([doc], "conll", docstart=True)


@pytest.mark.parametrize("text", ["a\tb", "a\rb"])
def test_write_token_with_tab_or_carriage_return_raises(text):
    with pytest.raises(OffsetError, match="E111"):
        writes([Document("d", text, tokens=((0, 3),))], "conll")


def test_extra_columns_must_match_the_documents():
    gold = Document("g", "aspirin", tokens=((0, 7),))
    with pytest.raises(ConfigError):
        writes([gold], "conll", extra_columns=[[Document("g", "heparin", tokens=((0, 7),))]])
    with pytest.raises(ConfigError):
        writes([gold], "conll", extra_columns=[[gold, gold]])


def test_a_sentence_break_inside_an_extra_column_span_is_not_written():
    text = "Treated with aspirin. Twelve patients improved."
    gold = Document("d", text)
    pred = Document("d", text).with_spans([Span(13, 28, "Chemical")])
    buf = io.StringIO()
    report = write_conll([gold], buf, extra_columns=[[pred]], docstart=False)
    assert report["merged_sentence_breaks"] == 1 and report["sentences"] == 1
