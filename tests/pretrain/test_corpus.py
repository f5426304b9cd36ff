"""Corpus readers, packing, shuffling, sharding, held-out split and exact data position."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from biobert.errors import ConfigError, DataFormatError
from biobert.pretrain.corpus import (
    PretrainStream,
    detect_format,
    doc_key,
    is_heldout,
    iter_corpus,
    iter_documents,
    resolve_corpus,
    validation_examples,
)

PUBTATOR = """\
111|t|BRCA1 mutations in breast cancer.
111|a|We studied 50 patients. Mutations were frequent.
111\t0\t5\tBRCA1\tGene\t672
111\t19\t32\tbreast cancer\tDisease\tD001943

222|t|Cisplatin resistance.
222|a|Cells resisted cisplatin.
222\t0\t9\tCisplatin\tChemical\tD002945
"""

XML = """<?xml version="1.0"?>
<PubmedArticleSet>
<PubmedArticle><MedlineCitation><PMID>1</PMID><Article>
<ArticleTitle>EGFR in <i>lung</i> cancer.</ArticleTitle>
<Abstract><AbstractText Label="BACKGROUND">EGFR is mutated.</AbstractText><AbstractText Label="RESULTS">Gefitinib helps.</AbstractText></Abstract>
</Article></MedlineCitation></PubmedArticle>
<PubmedArticle><MedlineCitation><PMID>2</PMID><Article>
<ArticleTitle>No abstract here.</ArticleTitle>
</Article></MedlineCitation></PubmedArticle>
</PubmedArticleSet>
"""


def _write(path, text, gz=False):
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_readers_all_formats(tmp_path, gz):
    sfx = ".gz" if gz else ""
    txt = _write(tmp_path / f"a.txt{sfx}", "first doc.\n\n  second doc.  \n", gz)
    jsonl = _write(tmp_path / f"b.jsonl{sfx}", json.dumps({"text": "json doc."}) + "\n" + json.dumps({"title": "T.", "abstract": "A."}) + "\n", gz)
    pt = _write(tmp_path / f"c.pubtator{sfx}", PUBTATOR, gz)
    xml = _write(tmp_path / f"d.xml{sfx}", XML, gz)
    assert list(iter_documents(txt)) == ["first doc.", "second doc."]
    assert list(iter_documents(jsonl)) == ["json doc.", "T.\nA."]
    assert list(iter_documents(pt)) == [
        "BRCA1 mutations in breast cancer.\nWe studied 50 patients. Mutations were frequent.",
        "Cisplatin resistance.\nCells resisted cisplatin.",
    ]
    assert list(iter_documents(xml)) == ["EGFR in lung cancer.\nEGFR is mutated. Gefitinib helps.", "No abstract here."]
    assert [detect_format(p) for p in (txt, jsonl, pt, xml)] == ["text", "jsonl", "pubtator", "pubmed-xml"]


def test_format_sniffing_without_extension(tmp_path):
    assert detect_format(_write(tmp_path / "x.data", PUBTATOR)) == "pubtator"
    assert detect_format(_write(tmp_path / "y.data", '{"text": "a"}\n')) == "jsonl"
    assert detect_format(_write(tmp_path / "z.data", XML)) == "pubmed-xml"
    assert detect_format(_write(tmp_path / "w.data", "plain words\n")) == "text"


def test_a_pubtator_release_named_txt_is_read_as_pubtator(tmp_path):
    """CDR_TrainingSet.PubTator.txt was read as raw text: its mention lines became training documents."""
    for name in ("CDR_TrainingSet.PubTator.txt", "NCBItrainset_corpus.txt", "x.txt.gz"):
        p = _write(tmp_path / name, "\n" + PUBTATOR, name.endswith(".gz"))
        assert detect_format(p) == "pubtator"
        assert list(iter_documents(p))[1] == "Cisplatin resistance.\nCells resisted cisplatin."
    assert detect_format(_write(tmp_path / "plain.txt", "12 patients | 3 died\n")) == "text"


def test_malformed_inputs_name_file_and_line(tmp_path):
    bad = _write(tmp_path / "bad.jsonl", '{"text": "ok"}\n{"text": broken\n')
    with pytest.raises(DataFormatError) as e:
        list(iter_documents(bad))
    assert e.value.code == "E260" and e.value.line == 2 and "bad.jsonl" in str(e.value)
    missing = _write(tmp_path / "m.jsonl", '{"body": "x"}\n')
    with pytest.raises(DataFormatError, match="E261"):
        list(iter_documents(missing))
    badpt = _write(tmp_path / "b.pubtator", "1|t|Title\nnot a pubtator line\n")
    with pytest.raises(DataFormatError, match="E262"):
        list(iter_documents(badpt))


CONLL = "Mutations\tO\nin\tO\nBRCA1\tB-Gene\n.\tO\n\nCisplatin\tB-Chemical\nworks\tO\n"


@pytest.mark.parametrize("gz", [False, True])
def test_conll_training_text_is_a_corpus(tmp_path, gz):
    # task-adaptive pre-training on a labelled NER file: the tokens, never the tags
    sfx = ".gz" if gz else ""
    tsv = _write(tmp_path / f"train.tsv{sfx}", CONLL, gz)  # BioBERT's name: recognised by content
    assert detect_format(tsv) == "conll"
    assert list(iter_documents(tsv)) == ["Mutations in BRCA1 .", "Cisplatin works"]
    sections = _write(tmp_path / "s.conll", "-DOCSTART-\tO\n\n" + CONLL + "\n-DOCSTART-\tO\n\nAlone\tO\n")
    assert detect_format(sections) == "conll"
    assert list(iter_documents(sections)) == ["Mutations in BRCA1 .\nCisplatin works", "Alone"]
    # a bad tag gets the NER reader's typed error, with its line
    bad = _write(tmp_path / "bad.conll", "a\tO\nb\tQ-X\n")
    with pytest.raises(DataFormatError) as e:
        list(iter_documents(bad))
    assert (e.value.code, e.value.line) == ("E202", 2) and "bad.conll" in str(e.value)
    # text that merely contains tabs is not mistaken for CoNLL
    assert detect_format(_write(tmp_path / "t.data", "a\tsentence with tabs\n")) == "text"


def test_resolve_corpus_dirs_globs_and_missing(tmp_path):
    d = tmp_path / "c"
    (d / "sub").mkdir(parents=True)
    _write(d / "a.txt", "x\n")
    _write(d / "sub" / "b.jsonl.gz", '{"text": "y"}\n', gz=True)
    _write(d / "a.ids.tsv", "not corpus\n")
    assert [p.name for p in resolve_corpus(d)] == ["a.txt", "b.jsonl.gz"]
    assert [p.name for p in resolve_corpus(str(d / "*.txt"))] == ["a.txt"]
    with pytest.raises(ConfigError, match="E450"):
        resolve_corpus(str(tmp_path / "nothing*.txt"))


def test_heldout_split_is_stable_and_sized():
    keys = [doc_key("f.txt", i) for i in range(20000)]
    held = [is_heldout(k, 0.1) for k in keys]
    assert 0.08 < sum(held) / len(held) < 0.12
    assert held == [is_heldout(k, 0.1) for k in keys]
    assert not any(is_heldout(k, 0.0) for k in keys[:100])


def _ids(examples):
    return [tuple(e.input_ids.tolist()) for e in examples]


def test_packing_lengths_and_specials(corpus_file, tokenizer):
    s = PretrainStream([corpus_file], tokenizer, max_length=48, seed=0, shuffle_buffer=1)
    exs = s.take(60)
    assert all(len(e) <= 48 for e in exs)
    assert all(e.input_ids[0] == tokenizer.cls_token_id and e.input_ids[-1] == tokenizer.sep_token_id for e in exs)
    # packing fills sequences: most are close to the maximum
    assert np.mean([len(e) for e in exs]) > 0.75 * 48
    assert all(e.label == -1 and e.n_first == len(e) for e in exs)


def test_stream_deterministic_shuffled_and_resumable(corpus_file, tokenizer):
    def make(seed=3):
        return PretrainStream([corpus_file], tokenizer, max_length=48, seed=seed, shuffle_buffer=16, val_fraction=0.1)

    a, b = make(), make()
    assert _ids(a.take(40)) == _ids(b.take(40))
    assert _ids(make(3).take(40)) != _ids(make(4).take(40))
    unshuffled = PretrainStream([corpus_file], tokenizer, max_length=48, seed=3, shuffle_buffer=1, val_fraction=0.1)
    assert _ids(make().take(40)) != _ids(unshuffled.take(40))
    # exact position: a restored stream continues identically, across epoch boundaries too
    s = make()
    s.take(37)
    state = s.state_dict()
    expected = _ids(s.take(300))
    r = make()
    r.load_state_dict(state)
    assert _ids(r.take(300)) == expected
    assert r.epoch >= 1  # the 300 examples wrapped around the tiny corpus


def test_sharding_is_disjoint_and_complete(corpus_file, tokenizer, documents):
    def docs_of(rank, world):
        s = PretrainStream([corpus_file], tokenizer, max_length=48, rank=rank, world_size=world, val_fraction=0.1)
        out = []
        while s.epoch == 0:
            out.append(s._next_document())
        return out[:-1]  # the last one belongs to epoch 1

    r0, r1 = docs_of(0, 2), docs_of(1, 2)
    train = [d for i, d in enumerate(documents) if not is_heldout(doc_key(corpus_file, i), 0.1)]
    assert not set(r0) & set(r1)
    assert sorted(r0 + r1) == sorted(train)
    assert abs(len(r0) - len(r1)) <= 1


def test_validation_slice_is_held_out(corpus_file, tokenizer, documents):
    val_docs = list(iter_corpus([corpus_file], split="validation", val_fraction=0.2))
    train_docs = list(iter_corpus([corpus_file], split="train", val_fraction=0.2))
    assert val_docs and not set(val_docs) & set(train_docs)
    assert len(val_docs) + len(train_docs) == len(documents)
    val = validation_examples([corpus_file], tokenizer, 48, val_fraction=0.2, max_examples=1000)
    assert val and all(len(e) <= 48 for e in val)
    # the training stream never yields a validation document's text
    s = PretrainStream([corpus_file], tokenizer, max_length=48, val_fraction=0.2)
    seen = set()
    while s.epoch == 0:
        seen.add(s._next_document())
    assert not seen & set(val_docs)


def test_sop_pairs(corpus_file, tokenizer):
    s = PretrainStream([corpus_file], tokenizer, max_length=64, kind="sop", seed=1, shuffle_buffer=8)
    exs = s.take(80)
    labels = [e.label for e in exs]
    assert set(labels) == {0, 1} and 0.25 < np.mean(labels) < 0.75
    for e in exs:
        ids = e.input_ids.tolist()
        assert len(ids) <= 64 and ids[0] == tokenizer.cls_token_id
        assert ids[e.n_first - 1] == tokenizer.sep_token_id and ids[-1] == tokenizer.sep_token_id
        assert 2 < e.n_first < len(ids) - 1


JNLPBA = "###MEDLINE:96077708\n\nIL-2\tB-protein\ngene\tI-protein\nexpression\tO\n.\tO\n\n###MEDLINE:95343554\n\nT\tB-cell_type\ncells\tI-cell_type\n"


@pytest.mark.parametrize("gz", [False, True])
def test_jnlpba_iob2_is_read_as_conll_not_text(tmp_path, gz):
    """The original JNLPBA files (``Genia4ERtask1.iob2``) open with a ``###MEDLINE:`` header, which the text sniffer
    took for prose: every tag would have been pre-trained on as a word. By extension, and by that header when the
    extension says nothing, they are CoNLL: the tokens only, one document per abstract."""
    sfx = ".gz" if gz else ""
    iob2 = _write(tmp_path / f"Genia4ERtask1.iob2{sfx}", JNLPBA, gz)
    assert detect_format(iob2) == "conll"
    assert list(iter_documents(iob2)) == ["IL-2 gene expression .", "T cells"]
    odd = _write(tmp_path / f"jnlpba.data{sfx}", "\n" + JNLPBA, gz)  # no telling extension: the header decides
    assert detect_format(odd) == "conll"
    assert list(iter_documents(odd)) == ["IL-2 gene expression .", "T cells"]
    # a directory of them is a corpus (found by extension), and a token is never a tag
    assert [p.name for p in resolve_corpus(tmp_path)] == [iob2.name]
    assert not any("B-protein" in d for d in iter_corpus(resolve_corpus(tmp_path)))


# ---------------------------------------------------------------------------- real-world inputs

NLM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">
<PubmedArticleSet>
<PubmedArticle><MedlineCitation><PMID Version="1">1</PMID><Article>
<ArticleTitle>Ca<sup>2+</sup> in <i>E. coli</i>.</ArticleTitle>
<Abstract><AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">A &amp; &#x3b1;.</AbstractText>
<AbstractText Label="RESULTS" NlmCategory="RESULTS"><![CDATA[x <y>.]]> <mml:math xmlns:mml="http://www.w3.org/1998/Math/MathML"><mml:mi>n</mml:mi></mml:math> done.</AbstractText></Abstract>
</Article></MedlineCitation></PubmedArticle>
<PubmedArticle><MedlineCitation><PMID Version="1">3</PMID><Article><ArticleTitle></ArticleTitle></Article></MedlineCitation></PubmedArticle>
<PubmedBookArticle><BookDocument><PMID Version="1">4</PMID><Book><BookTitle book="gene">GeneReviews</BookTitle></Book>
<ArticleTitle>Cystic Fibrosis.</ArticleTitle><Abstract><AbstractText>CF affects lungs.</AbstractText></Abstract>
</BookDocument></PubmedBookArticle>
<DeleteCitation><PMID Version="1">99</PMID></DeleteCitation>
</PubmedArticleSet>
"""


def test_pubmed_xml_as_nlm_ships_it(tmp_path):
    from biobert.pretrain.corpus import skipped_records

    xml = _write(tmp_path / "pubmed25n0001.xml.gz", NLM_XML, gz=True)
    assert list(iter_documents(xml)) == [
        "Ca2+ in E. coli.\nA & α. x <y>. n done.",
        "Cystic Fibrosis.\nCF affects lungs.",  # the chapter's title, not the book's
    ]
    # the record with no text is counted, not silently dropped
    assert skipped_records([xml]) == {"records": 1, "other_abstracts_not_english": 0,
                                      "files": [{"path": str(xml), "records": 1, "first": "PMID 3"}]}


def test_pubmed_other_abstracts_in_another_language_are_left_out_and_counted(tmp_path):
    from biobert.pretrain.corpus import skipped_records

    xml = _write(tmp_path / "bilingual.xml", """<?xml version="1.0"?>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID Version="1">7</PMID><Article>
<ArticleTitle>[Asthma in children].</ArticleTitle><Abstract><AbstractText>Asthma is common.</AbstractText></Abstract>
</Article>
<OtherAbstract Type="Publisher" Language="spa"><AbstractText>El asma es frecuente.</AbstractText></OtherAbstract>
<OtherAbstract Type="plain-language-summary" Language="eng"><AbstractText>Many children wheeze.</AbstractText></OtherAbstract>
</MedlineCitation></PubmedArticle></PubmedArticleSet>
""")
    assert list(iter_documents(xml)) == ["[Asthma in children].\nAsthma is common. Many children wheeze."]
    assert skipped_records([xml]) == {"records": 0, "other_abstracts_not_english": 1,
                                      "files": [{"path": str(xml), "records": 0, "first": None, "other_abstracts_not_english": 1}]}


def test_truncated_or_corrupt_compressed_file_is_a_typed_error(tmp_path):
    from biobert.pretrain.corpus import scan_encoding

    data = gzip.compress(("line of text.\n" * 5000).encode())
    trunc = tmp_path / "trunc.txt.gz"
    trunc.write_bytes(data[: len(data) // 2])
    notgz = tmp_path / "notgz.xml.gz"
    notgz.write_bytes(b"<PubmedArticleSet>not gzip\n")
    for path in (trunc, notgz):
        with pytest.raises(DataFormatError) as e:
            list(iter_documents(path))
        assert e.value.code == "E269" and str(path) in str(e.value)
        with pytest.raises(DataFormatError, match="E269"):
            scan_encoding([path])
    with pytest.raises(DataFormatError) as e:
        list(iter_documents(trunc))
    assert e.value.line > 1  # where the data broke off


def test_bom_and_stray_carriage_returns(tmp_path):
    bom = b"\xef\xbb\xbf"
    (tmp_path / "a.jsonl").write_bytes(bom + b'{"text": "json doc."}\r\n')
    (tmp_path / "a.pubtator").write_bytes(bom + b"111|t|Title.\r\n111|a|Abstract.\r\n")
    (tmp_path / "a.txt").write_bytes(bom + b"First doc.\r\nSecond\rhalf.\r\n")
    (tmp_path / "a.data").write_bytes(bom + b'{"text": "sniffed."}\n')
    assert list(iter_documents(tmp_path / "a.jsonl")) == ["json doc."]
    assert list(iter_documents(tmp_path / "a.pubtator")) == ["Title.\nAbstract."]  # not split in two
    # lines end at \n (CRLF too), as in the NER readers: a stray \r does not split a document
    assert list(iter_documents(tmp_path / "a.txt")) == ["First doc.", "Second\rhalf."]
    assert detect_format(tmp_path / "a.data") == "jsonl"


def test_empty_records_are_counted(tmp_path):
    from biobert.pretrain.corpus import skipped_records

    j = _write(tmp_path / "e.jsonl", '{"text": "ok."}\n\n{"text": "  "}\n')
    p = _write(tmp_path / "e.pubtator", "5|t|\n5|a|\n\n6|t|Kept.\n")
    assert list(iter_documents(j)) == ["ok."] and list(iter_documents(p)) == ["Kept."]
    list(iter_documents(j))  # read again (next epoch): not counted twice
    assert skipped_records([j, p])["records"] == 2
    assert [f["first"] for f in skipped_records([j, p])["files"]] == ["line 3", "PMID 5"]


def test_directories_and_globs_skip_hidden_and_companion_files(tmp_path):
    d = tmp_path / "c"
    (d / ".ipynb_checkpoints").mkdir(parents=True)
    (d / "sub").mkdir()
    _write(d / "a.txt", "x\n")
    _write(d / "a.ids.tsv", "source_repo\tpmid\n")
    (d / "._a.txt").write_bytes(b"\x00\x05\x16\x07binary resource fork")
    _write(d / ".ipynb_checkpoints" / "a-checkpoint.txt", "x\n")
    _write(d / "sub" / "b.pubtator", PUBTATOR)
    assert [p.name for p in resolve_corpus(d)] == ["a.txt", "b.pubtator"]
    assert [p.name for p in resolve_corpus(str(d / "*"))] == ["a.txt", "b.pubtator"]  # no .ids.tsv
    assert [p.name for p in resolve_corpus(str(d / "*.tsv"))] == ["a.ids.tsv"]  # asked for by name


def test_file_listing_order_does_not_change_examples(tmp_path, tokenizer, documents, monkeypatch):
    import glob as globmod
    from pathlib import Path

    d = tmp_path / "c"
    d.mkdir()
    for k in range(4):
        _write(d / f"part{k}.txt", "\n".join(documents[k::4]) + "\n")

    def run():
        files = resolve_corpus([d, str(tmp_path / "c" / "part*.txt")])
        s = PretrainStream(files, tokenizer, max_length=48, seed=3, val_fraction=0.2, shuffle_buffer=8)
        return _ids(s.take(30)), _ids(validation_examples(files, tokenizer, 48, val_fraction=0.2))

    first = run()
    rglob, gl = Path.rglob, globmod.glob
    monkeypatch.setattr(Path, "rglob", lambda self, pat: reversed(list(rglob(self, pat))))
    monkeypatch.setattr(globmod, "glob", lambda *a, **k: list(reversed(gl(*a, **k))))
    assert run() == first


def test_a_corpus_with_no_training_documents_names_its_files(tmp_path, tokenizer):
    from biobert.errors import TrainingError

    p = tmp_path / "blank.txt"
    p.write_text("\n\n\n", encoding="utf-8")
    with pytest.raises(TrainingError, match="E550 the corpus \\(.*blank.txt\\) has 0 training documents.*'auto'"):
        PretrainStream([p], tokenizer, 48).take(1)


def test_sop_pairs_use_every_token_and_count_what_they_cannot(tokenizer, documents):
    """The sentence that overshot a pair's budget was cut off (and a long sentence cut to the budget): 25-41 %
    of the corpus tokens silently went into no example. The overflow now opens the next pair; what still
    cannot be used (a one-token remainder) is counted."""
    import random as _random

    from biobert.pretrain.corpus import ExampleBuilder

    long_doc = " ".join(documents[:6])  # one document of many sentences, several pairs long
    run_on = "The " + " and ".join(f"gene{i} mutations" for i in range(60)) + " were found."  # one sentence > budget
    for max_length in (24, 48):
        b = ExampleBuilder(tokenizer, max_length, "sop")
        rng = _random.Random(0)
        total = kept = 0
        for doc in [long_doc, run_on, *documents[6:30]]:
            total += sum(len(s) for s in b.sentences(doc))
            exs = b.add_document(doc, rng)
            assert all(len(e) <= max_length for e in exs)
            kept += sum(len(e) - 3 for e in exs)
        assert total - kept == b.tokens_truncated
        assert b.tokens_truncated <= 0.01 * total, (max_length, b.tokens_truncated, total)


def test_a_conll_file_named_txt_is_read_as_conll(tmp_path, corpus_file):
    """A CoNLL file named .txt (CoNLL-2003's own names) was read as raw text by pretrain, vocab and adapt-vocab:
    every "token<TAB>tag" line became a document with the tag as a word. Sniffed like PubTator now."""
    from biobert.pretrain.vocab import train_wordpiece

    tabbed = _write(tmp_path / "train.txt", "Mutations\tO\nin\tO\nBRCA1\tB-Gene\ncause\tO\ncancer\tB-Disease\n.\tO\n\nWe\tO\nsaw\tO\nit\tO\n.\tO\n", False)
    spaced = _write(tmp_path / "eng.train.txt", "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n", False)
    for p in (tabbed, spaced):
        assert detect_format(p) == "conll"
        docs = list(iter_documents(p))
        assert docs and not any("B-" in d or "\tO" in d for d in docs), docs
    assert list(iter_documents(tabbed))[0].startswith("Mutations in BRCA1 cause cancer")
    # prose with a stray tabbed line stays text
    prose = _write(tmp_path / "notes.txt", "Results\tO\nThe patients improved after treatment.\n", False)
    assert detect_format(prose) == "text"
    # the vocabulary learns the words, not the tags
    v = train_wordpiece([tabbed], tmp_path / "v", vocab_size=60, lowercase=False, min_frequency=1)
    assert "B-Gene" not in v.get_vocab() and "Gene" not in v.get_vocab()
