"""The command line through typer's CliRunner: tag, evaluate, convert, embed, env, and clean errors."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from biobert import io
from biobert.cli import app
from biobert.types import Document, Span

PUBTATOR = (
    "111|t|BRCA1 mutations cause breast cancer.\n"
    "111|a|Tamoxifen lowers the risk. TP53 is mutated in \u03b1-cells.\n"
    "111\t0\t5\tBRCA1\tGene\t672\n"
    "111\t22\t35\tbreast cancer\tDisease\tD001943\n"
    "\n"
    "222|t|Cisplatin nephrotoxicity.\n"
    "222|a|Magnesium helps.\n"
    "222\t0\t9\tCisplatin\tChemical\tD002945\n"
    "\n"
)
CONLL = "BRCA1\tB-Gene\nmutations\tO\ncause\tO\ncancer\tO\n.\tO\n\nTP53\tB-Gene\nand\tO\nMDM2\tB-Gene\nbind\tO\n.\tO\n"

runner = CliRunner()




def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def ok(*args):
    r = run(*args)
    assert r.exit_code == 0, (r.stdout, r.stderr, r.exception)
    return r


def test_tag_text_json(tagger_dir):
    text = "BRCA1 mutations cause breast cancer; TNF-\u03b1 at 5\u00b10.2\u00a0ng/ml " * 6
    r = ok("tag", text, "--model", tagger_dir)
    d = Document.from_dict(json.loads(r.stdout))  # from_dict re-checks every span's mention text
    assert d.text == text
    assert d.spans, "the biased head should tag something"
    assert all(d.text[s.start : s.end] == s.text and s.label == "Gene" and 0 <= s.score <= 1 for s in d.spans)
    # the summary goes to stderr, as for --input: what the tagger changed is said for a text argument too
    summary = json.loads(r.stderr.splitlines()[-1])
    assert summary["documents"] == 1 and summary["spans"] == len(d.spans) and isinstance(summary["counts"], dict)


def test_text_argument_that_names_a_file_warns_and_text_with_input_is_refused(tagger_dir, tmp_path, monkeypatch):
    # `biobert tag abstracts.txt` tagged the 13 characters of the name, silently
    monkeypatch.chdir(tmp_path)
    (tmp_path / "abstracts.txt").write_text("BRCA1 mutations cause breast cancer.\n", encoding="utf-8")
    r = ok("tag", "abstracts.txt", "--model", tagger_dir)
    assert json.loads(r.stdout)["text"] == "abstracts.txt"  # processed as asked...
    assert "W419 'abstracts.txt' is a file" in r.stderr and "--input abstracts.txt" in r.stderr  # ...with the hint
    assert "W419" not in run("tag", "BRCA1 mutations", "--model", tagger_dir).stderr
    for cmd in (["tag"], ["extract"], ["embed"]):
        r = run(*cmd, "some text", "--input", tmp_path / "abstracts.txt", "--model", tagger_dir)
        assert r.exit_code == 2 and "E418 give the text or --input, not both" in r.stderr, (cmd, r.stderr)


@pytest.mark.parametrize("fmt", ["pubtator", "bioc", "biocjson", "json", "conll", "jsonl"])
def test_tag_file_output_formats(tagger_dir, tmp_path, fmt):
    src = tmp_path / "x.PubTator.txt"
    src.write_text(PUBTATOR, encoding="utf-8")
    gold = io.read(src)
    out = tmp_path / f"out.{fmt}"
    ok("tag", "--input", src, "--model", tagger_dir, "--output-format", fmt, "--output", out)
    back = io.read(out, fmt=fmt)
    assert len(back) == len(gold)
    for b, g in zip(back, gold):
        if fmt == "conll":  # CoNLL keeps tokens, not the original spacing
            assert [b.text[x:y] for x, y in b.tokens] == [g.text[x:y] for x, y in _words(g)]
        else:
            assert b.text == g.text and b.id == g.id
        assert all(b.text[s.start : s.end] == s.text for s in b.spans)
    if fmt == "pubtator":  # stdout gives the same content as the file
        r = ok("tag", "--input", src, "--model", tagger_dir, "--output-format", fmt)
        assert r.stdout == out.read_text(encoding="utf-8")


@pytest.mark.parametrize("name,fmt", [("o.pubtator", "pubtator"), ("o.bioc.xml", "bioc"), ("o.bioc.json", "biocjson"),
                                      ("o.conll", "conll"), ("o.jsonl", "jsonl"), ("o.json", "json"), ("o.txt", "json"),
                                      ("o.out", "json")])
def test_tag_and_link_write_the_format_their_output_name_says(tagger_dir, tmp_path, name, fmt):
    """`tag -o x.pubtator` wrote JSON unless --output-format said otherwise (tag_file and convert went by the
    name). A .txt name keeps JSON: the text format would write the input back without a span."""
    from biobert.tagging import output_format_for

    src = tmp_path / "x.PubTator.txt"
    src.write_text(PUBTATOR, encoding="utf-8")
    assert output_format_for(tmp_path / name) == fmt
    out = tmp_path / "tag" / name
    ok("tag", "--input", src, "--model", tagger_dir, "--output", out)
    back = io.read(out, fmt=fmt)
    assert len(back) == len(io.read(src)) and sum(len(d.spans) for d in back) > 0
    if fmt == "pubtator":
        (tmp_path / "kb.tsv").write_text("MESH:D002945\tCisplatin\n", encoding="utf-8")
        ok("link", src, "--kb", f"Chemical={tmp_path / 'kb.tsv'}", "--output", tmp_path / "linked.pubtator")
        linked = io.read(tmp_path / "linked.pubtator", fmt="pubtator")
        assert any(s.ids for d in linked for s in d.spans)
    # an explicit --output-format still wins over the name
    ok("tag", "--input", src, "--model", tagger_dir, "--output", tmp_path / "forced.pubtator", "--output-format", "jsonl")
    assert len(io.read(tmp_path / "forced.pubtator", fmt="jsonl")) == 2


def test_tag_reads_stdin_with_input_dash(tagger_dir):
    r = runner.invoke(app, ["tag", "--input", "-", "--input-format", "pubtator", "--model", str(tagger_dir),
                            "--output-format", "pubtator"], input=PUBTATOR)
    assert r.exit_code == 0, r.stderr
    docs = io.reads(r.stdout, fmt="pubtator")
    assert [d.id for d in docs] == ["111", "222"] and all(d.text[s.start:s.end] == s.text for d in docs for s in d.spans)
    assert json.loads(r.stderr.strip().splitlines()[-1])["streamed"] is True
    r = runner.invoke(app, ["tag", "--input", "-", "--model", str(tagger_dir)], input=PUBTATOR)
    assert r.exit_code == 2 and "E422" in r.stderr


def _words(doc):
    from biobert.text import split_sentences, tokenize_words

    return [w for a, b in split_sentences(doc.text) for w in tokenize_words(doc.text, a, b)]


def test_evaluate_ner(tagger_dir, tmp_path):
    data = tmp_path / "test.tsv"
    data.write_text(CONLL, encoding="utf-8")
    preds = tmp_path / "p.txt"
    r = ok("evaluate", "ner", "--model", tagger_dir, "--data", data, "--predictions", preds)
    m = json.loads(r.stdout)
    for k in ("precision", "recall", "f1"):
        assert 0.0 <= m[k] <= 1.0, m
    lines = preds.read_text(encoding="utf-8").split("\n")
    rows = [l.split(" ") for l in lines if l]
    assert len(rows) == 10 and all(len(x) == 3 for x in rows)
    assert [x[0] for x in rows[:2]] == ["BRCA1", "mutations"] and rows[0][1] == "B-Gene"
    assert all(x[2] in ("O", "B-Gene", "I-Gene") for x in rows)
    assert m["decode"] == "viterbi"
    assert m["counts"]["words"] == 10 and "input_spans_replaced" not in m["counts"]  # gold spans are not "replaced"
    argmax = json.loads(ok("evaluate", "ner", "--model", tagger_dir, "--data", data, "--decode", "argmax").stdout)
    assert argmax["decode"] == "argmax"


def test_tag_and_evaluate_report_abbreviation_counts(tagger_dir, tmp_path):
    src = tmp_path / "x.PubTator.txt"
    src.write_text(PUBTATOR.replace("breast cancer.", "breast cancer (BC). BC again."), encoding="utf-8")
    r = ok("tag", "--input", src, "--model", tagger_dir, "--output-format", "jsonl")  # on by default
    counts = json.loads(r.stderr.strip().splitlines()[-1])["counts"]
    assert counts["abbreviation_definitions"] == 1 and counts["words"] > 0
    plain = ok("tag", "--input", src, "--model", tagger_dir, "--output-format", "jsonl", "--no-abbreviations")
    assert "abbreviation_definitions" not in json.loads(plain.stderr.strip().splitlines()[-1])["counts"]
    m = json.loads(ok("evaluate", "ner", "--model", tagger_dir, "--data", src, "--abbreviations").stdout)
    assert m["counts"]["abbreviation_definitions"] == 1
    m = json.loads(ok("evaluate", "ner", "--model", tagger_dir, "--data", src).stdout)  # off: the protocol
    assert "abbreviation_definitions" not in m["counts"]


def test_convert_round_trip(tmp_path):
    src = tmp_path / "in.PubTator.txt"
    src.write_text(PUBTATOR, encoding="utf-8")
    r = ok("convert", src, tmp_path / "a.xml")
    rep = json.loads(r.stderr)
    assert rep["from"] == "pubtator" and rep["to"] == "bioc" and rep["docs"] == 2 and rep["annotations"] == 3
    ok("convert", tmp_path / "a.xml", tmp_path / "b.jsonl")
    ok("convert", tmp_path / "b.jsonl", tmp_path / "new" / "c.out", "--to", "pubtator")  # the folder is created
    assert (tmp_path / "new" / "c.out").read_text(encoding="utf-8") == PUBTATOR
    # CoNLL -> JSONL -> CoNLL with an untyped corpus and a chosen label
    (tmp_path / "u.tsv").write_text("BRCA1\tB\nbinds\tO\nTP53\tB\n", encoding="utf-8")
    ok("convert", tmp_path / "u.tsv", tmp_path / "u.jsonl", "--untyped-label", "Gene")
    (d,) = io.read(tmp_path / "u.jsonl")
    assert [(s.text, s.label) for s in d.spans] == [("BRCA1", "Gene"), ("TP53", "Gene")]
    r = ok("convert", tmp_path / "u.jsonl", "-", "--to", "conll", "--scheme", "IOBES")
    assert r.stdout.split("\n")[:3] == ["BRCA1\tS", "binds\tO", "TP53\tS"]  # an untyped corpus stays untyped
    # the writer's report counts what it had to drop
    over = Document("d1", "breast cancer risk").with_spans([Span(0, 13, "Disease"), Span(7, 18, "Disease")])
    io.write([over], tmp_path / "o.jsonl")
    r = ok("convert", tmp_path / "o.jsonl", tmp_path / "o.conll")
    assert json.loads(r.stderr)["dropped_overlapping_spans"] == 1
    # several documents to plain text: one per line
    r = ok("convert", tmp_path / "b.jsonl", tmp_path / "t.txt")
    assert json.loads(r.stderr)["docs"] == 2
    assert len((tmp_path / "t.txt").read_text(encoding="utf-8").splitlines()) == 2


def test_convert_and_tag_brat_directories(tagger_dir, tmp_path):
    """PubTator -> brat directory -> JSONL keeps text, spans and ids; a brat directory is a tagging input."""
    src = tmp_path / "in.PubTator.txt"
    src.write_text(PUBTATOR, encoding="utf-8")
    r = ok("convert", src, tmp_path / "brat", "--to", "brat")
    assert json.loads(r.stderr)["documents"] == 2 and sorted(p.name for p in (tmp_path / "brat").iterdir()) == [
        "111.ann", "111.txt", "222.ann", "222.txt"]
    ok("convert", tmp_path / "brat", tmp_path / "back.jsonl")  # the directory is recognised as brat
    for a, b in zip(io.read(src), io.read(tmp_path / "back.jsonl")):
        assert (a.id, a.text, [(s.key, s.ids) for s in a.spans]) == (b.id, b.text, [(s.key, s.ids) for s in b.spans])
    r = ok("tag", "--input", tmp_path / "brat", "--model", tagger_dir, "--output-format", "jsonl")
    docs = [Document.from_dict(json.loads(l)) for l in r.stdout.splitlines()]
    assert [d.id for d in docs] == ["111", "222"] and all(d.text[s.start:s.end] == s.text for d in docs for s in d.spans)
    # brat output: a directory, written chunk by chunk (one document per chunk here)
    ok("tag", "--input", src, "--model", tagger_dir, "--output-format", "brat", "--output", tmp_path / "tagged", "--chunk-docs", "1")
    back = io.read(tmp_path / "tagged")
    assert [(d.id, [s.key for s in d.spans]) for d in back] == [(d.id, [s.key for s in d.spans]) for d in docs]  # brat keeps no scores
    assert all(b.text == d.text for b, d in zip(back, docs))
    r = run("tag", "--input", src, "--model", tagger_dir, "--output-format", "brat")  # no directory given
    assert r.exit_code == 2 and "E429" in r.output


def test_evaluate_ner_scores_a_model_on_the_gold_types_and_maps_typed_gold(tiny_bert, tmp_path):
    """A 2-type model on gold that annotates one type: its predictions of the other type counted as false
    positives (the bundled tagger scored P 0.47 on NCBI-disease for its chemicals and genes). Typed gold of
    other names (NCBI-disease's PubTator SpecificDisease, Modifier...) is renamed with --map-types."""
    import torch

    from biobert.cli.ner import parse_type_map
    from biobert.encoders import load_token_classifier, load_tokenizer
    from biobert.errors import ConfigError
    from biobert.modeldir import save_model_dir

    labels = ["O", "B-Gene", "I-Gene", "B-Chemical", "I-Chemical"]
    torch.manual_seed(0)
    model = load_token_classifier(str(tiny_bert), labels)
    with torch.no_grad():
        model.classifier.bias[:] = torch.tensor([0.0, 0.3, 0.1, 0.3, 0.1])
    save_model_dir(tmp_path / "m", model, load_tokenizer(str(tiny_bert)), {"task": "ner", "labels": labels, "max_length": 32, "stride": 8})
    gold = tmp_path / "g.pubtator"
    gold.write_text(PUBTATOR.replace("\tGene\t", "\tGeneOrGeneProduct\t").replace("111\t22\t35\tbreast cancer\tDisease\tD001943\n", "")
                    .replace("222\t0\t9\tCisplatin\tChemical\tD002945\n", ""), encoding="utf-8")
    r = run("evaluate", "ner", "--model", tmp_path / "m", "--data", gold)
    assert r.exit_code == 2 and "E499" in r.stderr and "--map-types" in r.stderr
    res = json.loads(ok("evaluate", "ner", "--model", tmp_path / "m", "--data", gold, "--map-types", "GeneOrGeneProduct=Gene").stdout)
    assert res["scored_types"] == ["Gene"] and res["counts"]["types_not_in_gold_ignored"] == 1
    assert res["counts"]["gold_relabelled:GeneOrGeneProduct->Gene"] == 1 and res["n_gold"] == 1
    both = json.loads(ok("evaluate", "ner", "--model", tmp_path / "m", "--data", gold, "--map-types", "GeneOrGeneProduct=Gene",
                         "--types", "Gene,Chemical").stdout)
    assert both["scored_types"] == ["Chemical", "Gene"] and both["n_pred"] > res["n_pred"]  # chemicals now count
    # the gold file has no chemical: every chemical prediction is a false positive (tp unchanged, precision down
    # unless there was no true positive to begin with; the random model's hits vary with the thread count)
    assert both["tp"] == res["tp"] and (both["precision"] < res["precision"] or res["tp"] == 0)
    assert parse_type_map(["A,B=X", "C=Y"]) == {"A": "X", "B": "X", "C": "Y"}
    for bad in (["A"], ["A="], ["=X"], ["A=X", "A=Y"]):
        with pytest.raises(ConfigError, match="E429"):
            parse_type_map(bad)


def test_link_and_tag_with_link(tagger_dir, tmp_path):
    """``biobert link`` gives another tool's spans ids (existing ids kept unless --overwrite); ``tag --link`` links
    the tagger's spans and reports the linker's counts beside the tagger's."""
    (tmp_path / "kb.tsv").write_text("MESH:D001943\tBreast Neoplasms\tbreast cancer\nMESH:D002945\tCisplatin\n", encoding="utf-8")
    (tmp_path / "genes.tsv").write_text("NCBIGene:672\tBRCA1\n", encoding="utf-8")
    src = tmp_path / "in.PubTator.txt"
    src.write_text(PUBTATOR, encoding="utf-8")
    r = ok("link", src, "--kb", f"Disease,Chemical={tmp_path / 'kb.tsv'}", "--overwrite", "--output-format", "jsonl")
    docs = [Document.from_dict(json.loads(l)) for l in r.stdout.splitlines()]
    ids = {s.text: s.ids for d in docs for s in d.spans}
    assert ids == {"BRCA1": (("ID", "672"),), "breast cancer": (("MESH", "MESH:D001943"),), "Cisplatin": (("MESH", "MESH:D002945"),)}
    assert json.loads(r.stderr)["counts"] == {"skipped_label": 1, "linked_exact": 2}
    r = ok("link", src, "--kb", f"Disease,Chemical={tmp_path / 'kb.tsv'}", "--overwrite", "--output-format", "conll")
    assert json.loads(r.stderr)["written"]["ids_not_written"] >= 2  # CoNLL has no place for the linked ids: said
    r = ok("tag", "--input", src, "--model", tagger_dir, "--output-format", "jsonl", "--link", tmp_path / "genes.tsv")
    stats = json.loads(r.stderr.strip().splitlines()[-1])
    link = {k: v for k, v in stats["counts"].items() if k.startswith("link_")}
    assert sum(link.values()) == stats["spans"] > 0 and set(link) <= {"link_linked_exact", "link_unlinked", "link_linked_via_abbreviation"}
    assert stats["counts"]["words"] > 0  # the tagger's own counters are still there
    (tmp_path / "CTD_chemicals.tsv").write_text("# ChemicalName\tChemicalID\nCisplatin\tMESH:D002945\t\t\t\t\t\tCDDP|cis-DDP\n", encoding="utf-8")
    r = ok("link", src, "--kb", f"Chemical={tmp_path / 'CTD_chemicals.tsv'}", "--overwrite", "--output-format", "jsonl")  # CTD layout
    assert {s.text: s.ids for l in r.stdout.splitlines() for s in Document.from_dict(json.loads(l)).spans}["Cisplatin"] == (("MESH", "MESH:D002945"),)
    r = run("link", src, "--kb", tmp_path / "missing.tsv")
    assert r.exit_code == 2 and "E423" in r.output


def test_embed_cli(tiny_bert, tmp_path):
    out = tmp_path / "v.npz"
    ok("embed", "--input", "BRCA1 mutations cause breast cancer.", "--model", tiny_bert, "--output", out, "--words")
    z = np.load(out, allow_pickle=False)
    assert z["vectors"].shape == (1, 32) and z["word_vectors"].shape == (6, 32)
    src = tmp_path / "docs.txt"
    src.write_text("BRCA1 binds TP53.\nTamoxifen lowers risk.\n", encoding="utf-8")
    r = ok("embed", "--input", src, "--lines", "--model", tiny_bert, "--output", tmp_path / "v.jsonl", "--pool", "cls", "--layers=-1,-2")
    rows = [json.loads(l) for l in (tmp_path / "v.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [x["id"] for x in rows] == ["docs:1", "docs:2"] and len(rows[0]["vector"]) == 32 and "words" not in rows[0]
    assert json.loads(r.stderr.splitlines()[-1])["layers"] == [-1, -2]  # the report is the last stderr line
    r = ok("embed", "a b", "--model", tiny_bert, "--words")
    (row,) = [json.loads(l) for l in r.stdout.splitlines()]
    assert [(w["start"], w["end"], w["text"]) for w in row["words"]] == [(0, 1, "a"), (2, 3, "b")]


def test_embed_reports_zero_vectors_and_skipped_blank_lines_and_refuses_json(tiny_bert, tmp_path):
    """An empty document's zero vector and the blank lines --lines skips were left out of the report; `-o x.json`
    wrote JSON Lines that json.load cannot read."""
    src = tmp_path / "e.jsonl"
    src.write_text('{"id": "a", "text": ""}\n{"id": "b", "text": "BRCA1 binds TP53."}\n', encoding="utf-8")
    r = ok("embed", "--input", src, "--model", tiny_bert, "--output", tmp_path / "o.npz")
    rep = json.loads(r.stderr.splitlines()[-1])
    assert rep["docs"] == 2 and rep["docs_without_words_zero_vector"] == 1
    lines = tmp_path / "l.txt"
    lines.write_text("one\n\ntwo\n   \nthree\n", encoding="utf-8")
    r = ok("embed", "--input", lines, "--lines", "--model", tiny_bert, "--output", tmp_path / "l.npz")
    rep = json.loads(r.stderr.splitlines()[-1])
    assert rep["docs"] == 3 and rep["blank_lines_skipped"] == 2
    r = run("embed", "a b", "--model", tiny_bert, "--output", tmp_path / "o.json")
    assert r.exit_code == 2 and "E433" in r.stderr and not (tmp_path / "o.json").exists()


def test_env():
    r = ok("env")
    assert isinstance(json.loads(r.stdout), dict)


@pytest.mark.parametrize(
    "args, code",
    [
        (["tag", "--input", "{tmp}/missing.PubTator.txt", "--model", "{model}"], "E423"),
        (["tag", "text", "--model", "{tmp}/no-model"], "E303"),
        (["tag", "text", "--model", "{model}", "--output-format", "xml"], "E420"),
        (["tag", "text", "--model", "{model}", "--splitter", "nltk"], "E435"),
        (["tag", "--input", "{tmp}/in.jsonl", "--input-format", "foo", "--model", "{model}"], "E420"),
        (["evaluate", "ner", "--model", "{model}", "--data", "{tmp}/missing.tsv"], "E423"),
        (["convert", "{tmp}/missing.jsonl", "{tmp}/out.xml"], "E423"),
        (["convert", "{tmp}/in.jsonl", "{tmp}/out.docx"], "E421"),
        (["convert", "{tmp}/in.jsonl", "{tmp}/out.xml", "--to", "yaml"], "E420"),
        (["convert", "{tmp}/in.jsonl", "{tmp}/out.tsv", "--scheme", "BIOLU"], "E425"),
        (["convert", "{tmp}/bad.jsonl", "{tmp}/out.xml"], "E230"),
        (["embed", "--input", "{tmp}/missing.txt", "--model", "{model}"], "E423"),
        (["embed", "--input", "x", "--model", "{model}", "--pool", "max"], "E430"),
        (["embed", "--input", "x", "--model", "{model}", "--output", "{tmp}/v.csv"], "E433"),
        # RE / QA: a missing input is E423 before any model is loaded (so any model directory will do here)
        (["extract", "--model", "{model}", "--input", "{tmp}/missing.txt"], "E423"),
        (["answer", "--model", "{model}", "--input", "{tmp}/missing.json", "--format", "bioasq"], "E423"),
        (["evaluate", "qa", "--data", "{tmp}/missing.json", "--format", "bioasq", "--model", "{model}"], "E423"),
        (["evaluate", "qa", "--data", "{tmp}/in.jsonl", "--format", "bioasq", "--predictions", "{tmp}/missing.json"], "E423"),
        (["evaluate", "re", "--model", "{model}", "--data", "{tmp}/missing.tsv"], "E423"),
        # options that used to be accepted and then ignored, or answered nothing
        (["answer", "Which gene?", "--passage", "x", "--model", "{model}", "--type", "bogus"], "E439"),
        (["evaluate", "qa", "--data", "{tmp}/in.jsonl", "--format", "bioasq", "--model", "{model}", "--task", "summary"], "E439"),
        (["extract", "text", "--model", "{model}", "--type-pairs", "Gene"], "E436"),
        (["extract", "text", "--model", "{model}", "--type-pairs", "Gene:Disease,"], "E436"),
        (["extract", "text", "--model", "{model}", "--window-chars", "-5"], "E437"),
        (["extract", "text", "--model", "{model}", "--min-score", "5"], "E438"),
        (["extract", "text", "--model", "{model}", "--scope", "document"], "E443"),
        # a format that cannot hold relations would drop them all (and used to fail only after tagging)
        (["extract", "text", "--model", "{model}", "--output-format", "conll"], "E420"),
        (["extract", "text", "--model", "{model}", "--output-format", "table"], "E420"),
        (["serve", "--model", "{model}", "--max-docs", "0"], "E478"),
        (["extract", "text", "--model", "{model}", "--output", "{tmp}/in.jsonl/out.json"], "E427"),
        (["answer", "Which gene?", "--passage", "x", "--model", "{model}", "--output", "{tmp}/in.jsonl/a.json"], "E427"),
    ],
)
def test_errors_exit_2_with_a_code(tagger_dir, tmp_path, args, code):
    io.write([Document("a", "BRCA1 binds.")], tmp_path / "in.jsonl")
    (tmp_path / "bad.jsonl").write_text("{not json\n", encoding="utf-8")
    r = run(*[a.format(tmp=tmp_path, model=tagger_dir) for a in args])
    assert r.exit_code == 2, (r.stdout, r.stderr, r.exception)
    assert code in r.stderr and "Traceback" not in r.stderr + r.stdout
    assert any(line.startswith(f"error: {code} ") for line in r.stderr.splitlines())


def test_tag_with_another_sentence_splitter(tagger_dir):
    text = "BRCA1 is a gene. TP53 too\nand a third line"
    r = ok("tag", text, "--model", tagger_dir, "--splitter", "lines")
    assert Document.from_dict(json.loads(r.stdout)).sentences == ((0, 25), (26, 42))


def test_tag_table_output_offsets(tagger_dir, tmp_path):
    text = "TNF-\u03b1 rose \u00b1 2\u00b2; BRCA1 and [3H]-thymidine.\nSecond line here."
    src = tmp_path / "in.txt"
    src.write_text(text, encoding="utf-8")
    res = ok("tag", "--model", tagger_dir, "--input", src, "--output-format", "table")
    lines = res.stdout.rstrip("\n").splitlines()  # the ids cell of the last row is empty: keep its tab
    assert lines[0] == "doc\tstart\tend\tlabel\tscore\tmention\tids" and len(lines) > 1
    for row in lines[1:]:
        _, a, b, label, _, mention, _ = row.split("\t")
        assert text[int(a):int(b)] == mention and label == "Gene"


def test_question_types_are_case_insensitive():
    from biobert.cli.re_qa import _question_type
    from biobert.errors import ConfigError
    from biobert.serve import QUESTION_TYPES

    assert [_question_type(t.upper()) for t in QUESTION_TYPES] == list(QUESTION_TYPES)
    assert _question_type(None) is None
    with pytest.raises(ConfigError, match="E439"):
        _question_type("summary")


def test_evaluate_qa_biobert_test_files_against_golden_and_pubmedqa_label_files(tmp_path):
    """BioBERT's BioASQ-test-*.json carry no answers: they are scored against the official golden file (--golden);
    without it nothing can be scored, which used to print scores of 0 over 0 questions. PubMedQA test entries
    without labels are scored against test_ground_truth.json, and predictions in PubMedQA's {pmid: label} form
    get its macro-F1 over yes/no/maybe."""
    q = "e" * 24
    test = tmp_path / "BioASQ-test-yesno-7b-1.json"
    test.write_text(json.dumps({"data": [{"paragraphs": [
        {"context": "The APOE allele increases the risk.", "qas": [{"id": q + "_001", "question": "Is APOE a risk?"}]},
        {"context": "APOE4 carriers are at risk.", "qas": [{"id": q + "_002", "question": "Is APOE a risk?"}]}]}]}))
    golden = tmp_path / "7B1_golden.json"
    golden.write_text(json.dumps({"questions": [{"id": q, "type": "yesno", "body": "Is APOE a risk?", "exact_answer": "yes", "snippets": []}]}))
    sub = tmp_path / "sub.json"
    sub.write_text(json.dumps({"questions": [{"id": q, "type": "yesno", "exact_answer": "yes"}]}))
    base = ["evaluate", "qa", "--format", "squad", "--task", "yesno", "--data", test, "--predictions", sub]
    r = run(*base)
    assert r.exit_code == 2 and "E535" in r.stderr and "--golden" in r.stderr
    res = json.loads(ok(*base, "--golden", golden).stdout)
    assert res["accuracy"] == 1.0 and res["n_questions"] == 1 and res["counts"]["questions_not_in_golden"] == 0
    r = run(*base, "--golden", golden, "--golden", golden)
    assert r.exit_code == 2 and "E488" in r.stderr

    entries = tmp_path / "test_set.json"
    entries.write_text(json.dumps({p: {"QUESTION": "Does it?", "CONTEXTS": ["Text."]} for p in ("1", "2", "3")}))
    truth = tmp_path / "test_ground_truth.json"
    truth.write_text(json.dumps({"1": "yes", "2": "maybe", "3": "no"}))
    preds = tmp_path / "predictions.json"
    preds.write_text(json.dumps({"1": "yes", "2": "yes", "3": "no"}))
    res = json.loads(ok("evaluate", "qa", "--format", "pubmedqa", "--task", "yesno", "--data", entries,
                        "--golden", truth, "--predictions", preds).stdout)
    # sklearn f1_score(average='macro'): yes 2/3, no 1, maybe 0
    assert res["accuracy"] == pytest.approx(2 / 3) and res["macro_f1"] == pytest.approx((2 / 3 + 1) / 3)
    r = run("evaluate", "qa", "--format", "pubmedqa", "--task", "yesno", "--data", entries, "--predictions", preds)
    assert r.exit_code == 2 and "E273" in r.stderr and "test_set.json" in r.stderr


def test_evaluate_qa_scores_every_type_of_a_submission_and_pubmedqa_needs_no_task(tmp_path):
    """A BioASQ golden file mixes factoid, list and yes/no questions: without --task each type is scored on its
    own (only factoid was, the rest skipped). PubMedQA is yes/no/maybe, so --task is not needed (it was factoid
    and ended in E535); gold labels read from both the data and --golden are counted apart; an unanswered
    question is wrong but not a class of the macro-F1; answers to questions the data lacks are counted."""
    gold = tmp_path / "golden.json"
    gold.write_text(json.dumps({"questions": [
        {"id": "f", "type": "factoid", "body": "Which gene?", "exact_answer": [["CFTR"]], "snippets": [{"text": "CFTR."}]},
        {"id": "l", "type": "list", "body": "Which genes?", "exact_answer": [["BRCA1"], ["BRCA2"]], "snippets": [{"text": "B."}]},
        {"id": "y", "type": "yesno", "body": "Is it?", "exact_answer": "yes", "snippets": [{"text": "It is."}]}]}))
    sub = tmp_path / "sub.json"
    sub.write_text(json.dumps({"questions": [
        {"id": "f", "type": "factoid", "exact_answer": [["CFTR"]]},
        {"id": "l", "type": "list", "exact_answer": [["BRCA1"]]},
        {"id": "y", "type": "yesno", "exact_answer": "no"},
        {"id": "zz", "type": "yesno", "exact_answer": "no"}]}))
    res = json.loads(ok("evaluate", "qa", "--format", "bioasq", "--data", gold, "--predictions", sub).stdout)
    assert set(res["tasks"]) == {"factoid", "list", "yesno"}
    assert res["tasks"]["factoid"]["strict_accuracy"] == 1.0 and res["tasks"]["list"]["recall"] == 0.5
    assert res["tasks"]["yesno"]["accuracy"] == 0.0 and res["tasks"]["factoid"]["counts"]["predictions_not_in_data"] == 1
    one = json.loads(ok("evaluate", "qa", "--format", "bioasq", "--task", "list", "--data", gold, "--predictions", sub).stdout)
    assert one["f1"] == res["tasks"]["list"]["f1"] and one["counts"]["passages_skipped_type=factoid"] == 1

    entries = tmp_path / "pq.json"
    entries.write_text(json.dumps({p: {"QUESTION": "Does it?", "CONTEXTS": ["Text."], "final_decision": lab}
                                   for p, lab in (("1", "yes"), ("2", "no"), ("3", "yes"), ("4", "no"))}))
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"1": "yes", "2": "no", "3": "yes", "4": "no"}))
    preds = tmp_path / "preds.json"
    preds.write_text(json.dumps({"1": "yes", "2": "no", "9": "yes"}))  # 3 and 4 unanswered, 9 not asked
    res = json.loads(ok("evaluate", "qa", "--format", "pubmedqa", "--data", entries, "--golden", truth,
                        "--predictions", preds).stdout)
    assert res["accuracy"] == 0.5 and set(res["per_label"]) == {"yes", "no"}
    assert res["macro_f1"] == pytest.approx(2 / 3)  # yes and no each P 1, R 1/2; "" was a third class (4/9)
    assert res["counts"]["label=yes"] == 2 and res["counts"]["golden_label=yes"] == 2
    assert res["counts"]["questions_unanswered"] == 2 and res["counts"]["predictions_not_in_data"] == 1
    r = run("evaluate", "qa", "--format", "pubmedqa", "--task", "factoid", "--data", entries, "--predictions", preds)
    assert r.exit_code == 2 and "E488" in r.stderr


def test_extract_reports_the_gold_annotations_that_tagging_replaced(tagger_dir, tiny_bert, tmp_path):
    """`biobert extract` on an annotated PubTator file (without --keep-spans) replaces its gold spans with the
    tagger's and drops its gold CID relations: the stderr summary says so, as /extract's counts do."""
    from biobert.config import load_config
    from biobert.recipes.re import REConfig, finetune_re
    from tests.recipes.test_re_recipe import write_config, write_folds

    write_folds(tmp_path / "data", all_positive=True)
    cfg = load_config(REConfig, write_config(tmp_path / "c.yaml", tmp_path / "data", tmp_path / "re", tiny_bert,
                                            style="markers", pooling="entity_start"))
    finetune_re(cfg, progress=False, fold="1")
    src = tmp_path / "gold.pubtator"
    src.write_text(PUBTATOR.replace("\n\n222", "\n111\tCID\t672\tD001943\n\n222"), encoding="utf-8")
    r = ok("extract", "--model", tmp_path / "re", "--tagger", tagger_dir, "--input", src, "--output", tmp_path / "o.jsonl",
           "--output-format", "jsonl")
    summary = json.loads(r.stderr.strip().splitlines()[-1])
    assert summary["documents"] == 2
    assert summary["input_spans_replaced"] == 3 and summary["input_metadata_dropped:relations"] == 1
    r = ok("extract", "--model", tmp_path / "re", "--tagger", tagger_dir, "--input", src, "--keep-spans",
           "--output", tmp_path / "k.jsonl", "--output-format", "jsonl")
    summary = json.loads(r.stderr.strip().splitlines()[-1])
    assert "input_spans_replaced" not in summary and summary["input_metadata_dropped:relations"] == 1


def test_evaluate_ner_reads_gold_named_txt_as_conll_and_refuses_gold_without_entities(tmp_path, tagger_dir):
    """A CoNLL test file named .txt was read as raw text: 0 gold entities, F1 0.0, exit 0."""
    rows = "BRCA1\tB\nmutations\tO\ncause\tO\nbreast\tB\ncancer\tI\n.\tO\n"
    (tmp_path / "test.txt").write_text(rows, encoding="utf-8")
    res = json.loads(ok("evaluate", "ner", "--model", tagger_dir, "--data", tmp_path / "test.txt", "--ignore-types").stdout)
    assert res["n_gold"] == 2
    (tmp_path / "plain.txt").write_text(rows, encoding="utf-8")
    r = run("evaluate", "ner", "--model", tagger_dir, "--data", tmp_path / "plain.txt", "--format", "text")
    assert r.exit_code == 2 and "E496" in r.stderr and "--format" in r.stderr


def test_finetune_ner_prints_the_selected_dev_precision_recall_and_f1(tiny_bert, tmp_path):
    data = tmp_path / "d.tsv"
    data.write_text(CONLL * 4, encoding="utf-8")
    r = ok("finetune", "ner", "--train", data, "--dev", data, "--test", data, "--encoder", tiny_bert, "--out", tmp_path / "m",
           "--set", "train.epochs=2", "--set", "train.batch_size=4", "--set", "max_length=32", "--set", "stride=8")
    out = json.loads(r.stdout)  # stdout is the JSON alone: progress ([eval] lines) goes to stderr
    assert "[eval]" in r.stderr
    assert set(out["dev"]) == {"precision", "recall", "f1"} and out["dev"]["f1"] == out["dev_f1"]
    assert all({"precision", "recall", "f1"} <= set(v) for v in out["test"].values())  # per corpus


def test_finetune_and_evaluate_ner_on_a_brat_directory(tiny_bert, tmp_path):
    """Training on a brat directory crashed after the model was saved (the report hashed its inputs as files);
    evaluate ner refused the directory (E423)."""
    src = tmp_path / "x.pubtator"
    src.write_text(PUBTATOR, encoding="utf-8")
    brat = tmp_path / "brat"
    io.write(io.read(src), brat, fmt="brat")
    ok("finetune", "ner", "--train", brat, "--test", brat, "--encoder", tiny_bert, "--out", tmp_path / "m",
       "--set", "train.max_steps=1", "--set", "max_length=32", "--set", "stride=8")
    rep = json.loads((tmp_path / "m" / "report.json").read_text())
    rec = rep["data"][0]  # train (and test: the same directory)
    assert rec["path"] == str(brat) and rec["files"] == 4 and len(rec["sha256"]) == 64  # 2 documents: .txt + .ann each
    res = json.loads(ok("evaluate", "ner", "--model", tmp_path / "m", "--data", brat).stdout)
    assert res["n_gold"] == 3


def test_declared_types_drop_other_training_spans_and_finetune_scores_test_as_evaluate_does(tiny_bert, tmp_path):
    """`types: [Disease]` on a file that also holds chemicals crashed (KeyError B-Chemical); a test-only type was
    left out of finetune's test score but counted by `evaluate ner` (two F1s for one model and file)."""
    train = tmp_path / "train.tsv"
    train.write_text("Aspirin\tB-Chemical\ncauses\tO\nulcers\tB-Disease\n.\tO\n\n" * 6, encoding="utf-8")
    test = tmp_path / "test.tsv"
    test.write_text("Aspirin\tB-Chemical\ncauses\tO\nulcers\tB-Disease\nin\tO\nBRCA1\tB-Gene\ncarriers\tO\n.\tO\n\n", encoding="utf-8")
    common = ["--encoder", tiny_bert, "--set", "train.max_steps=2", "--set", "max_length=32", "--set", "stride=8"]
    ok("finetune", "ner", "--train", train, "--test", test, "--out", tmp_path / "d", *common, "--set", "corpora.0.types=[Disease]")
    rep = json.loads((tmp_path / "d" / "report.json").read_text())
    assert rep["labels"] == ["O", "B-Disease", "I-Disease"]
    assert rep["data_changes"]["train_spans_of_undeclared_types_dropped:tmp:Chemical".replace("tmp", rep["config"]["corpora"][0]["name"])] == 6
    ok("finetune", "ner", "--train", train, "--test", test, "--out", tmp_path / "m", *common)
    rep = json.loads((tmp_path / "m" / "report.json").read_text())
    (scores,) = rep["test"].values()
    res = json.loads(ok("evaluate", "ner", "--model", tmp_path / "m", "--data", test).stdout)
    assert scores["n_gold"] == res["n_gold"] == 3 and scores["f1"] == pytest.approx(res["f1"])
    assert list(rep["gold_types_not_learned"].values()) == [{"test": ["Gene"]}]


def test_finetune_ner_refuses_a_config_together_with_data_files(tmp_path):
    """--train/--dev/--test were silently ignored beside --config (it trained on the config's files)."""
    r = run("finetune", "ner", "--config", "configs/ner/ncbi_disease.yaml", "--train", tmp_path / "t.tsv", "--out", tmp_path / "o")
    assert r.exit_code == 2 and "E409" in r.stderr and "corpora.0.train" in r.stderr


def test_evaluate_re_names_an_unknown_format_before_checking_the_path(tmp_path):
    r = run("evaluate", "re", "--model", tmp_path / "m", "--data", tmp_path, "--format", "ddi_xml")
    assert r.exit_code == 2 and "E444" in r.stderr and "'ddi'" in r.stderr  # not E423 "is a directory"


def test_repaired_training_tags_are_counted_in_the_report_with_their_lines(tiny_bert, tmp_path, caplog):
    train = tmp_path / "train.tsv"
    train.write_text("Aspirin\tB-Chemical\nulcers\tI-Disease\n.\tO\n\n" + "x\tO\ncancer\tI-Disease\n\n" * 3, encoding="utf-8")
    with caplog.at_level("WARNING"):
        ok("finetune", "ner", "--train", train, "--encoder", tiny_bert, "--out", tmp_path / "m", "--set", "train.max_steps=1",
           "--set", "max_length=32", "--set", "stride=8")
    rep = json.loads((tmp_path / "m" / "report.json").read_text())
    (key,) = [k for k in rep["data_changes"] if k.startswith("tags_repaired_as_conlleval:")]
    assert key.endswith(":train") and rep["data_changes"][key] == 4
    assert "lines 2, 6, 9, 12" in caplog.text


def test_export_with_eval_data_measures_both_int8_paths_and_tag_obeys_the_gate(tagger_dir, tmp_path):
    """int8 used to be offered whenever no measurement said otherwise: unmeasured ONNX int8 with a warning, torch
    dynamic int8 always. Now only a measured drop <= 0.5 F1 offers it."""
    pytest.importorskip("onnxruntime")
    import shutil

    from biobert.export import onnx_paths

    d = tmp_path / "m"
    shutil.copytree(tagger_dir, d, ignore=shutil.ignore_patterns("onnx", "checkpoints"))
    data = tmp_path / "gold.tsv"
    data.write_text(CONLL, encoding="utf-8")
    report = json.loads(ok("export", "onnx", "--model", d, "--eval-data", data).stdout)
    assert set(report["f1"]) == {"torch_fp32", "onnx_fp32", "onnx_int8", "torch_int8"}
    assert report["torch_int8_f1_drop"] == round(report["f1"]["torch_fp32"] - report["f1"]["torch_int8"], 2)
    rp = onnx_paths(d)["report"]
    rep = json.loads(rp.read_text())
    for drop, code in ((0.0, 0), (0.6, 2)):  # what the measurement says decides (the tiny model's own drop is noise)
        rp.write_text(json.dumps(dict(rep, int8_f1_drop=drop)))
        r = run("tag", "BRCA1 mutations", "--model", d, "--quantize", "int8")
        assert r.exit_code == code, (drop, r.stdout, r.stderr)
    assert "E308" in r.stderr
    ok("export", "onnx", "--model", d)  # no --eval-data: the new int8 model is unmeasured
    r = run("tag", "BRCA1 mutations", "--model", d, "--quantize", "int8")
    assert r.exit_code == 2 and "E322" in r.stderr
    assert ok("tag", "BRCA1 mutations", "--model", d, "--quantize", "int8", "--allow-unchecked-int8").stdout


def test_the_corpus_name_of_a_train_file_skips_storage_folders():
    from biobert.cli.ner import corpus_name

    assert corpus_name("../shared/data/ner/NCBI-disease/biobert/train.tsv") == "NCBI-disease"
    assert corpus_name("bc2gm/train.tsv") == "bc2gm"
    assert corpus_name("train.tsv") == "corpus" and corpus_name("data/biobert/train.tsv") == "corpus"


def _fixed_tagger(tiny_bert, out, labels, bias):
    from biobert.encoders import load_token_classifier, load_tokenizer
    from biobert.modeldir import save_model_dir

    torch.manual_seed(0)
    model = load_token_classifier(str(tiny_bert), labels)
    with torch.no_grad():  # a constant head: the same tag for every word, whatever the encoder says
        model.classifier.weight.zero_()
        model.classifier.bias[:] = torch.tensor(bias)
    save_model_dir(out, model, load_tokenizer(str(tiny_bert)), {"task": "ner", "labels": labels, "max_length": 32, "stride": 8})
    return out


def test_evaluate_ner_ignores_model_types_the_gold_lacks_when_types_only_partly_overlap(tiny_bert, tmp_path):
    m = _fixed_tagger(tiny_bert, tmp_path / "m", ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"], [0, 5, 0, 0, 0])
    gold = tmp_path / "g.tsv"
    gold.write_text("Tumor\tB-Disease\ngrowth\tO\nBRCA1\tB-Gene\n\n", encoding="utf-8")
    res = json.loads(ok("evaluate", "ner", "--model", m, "--data", gold).stdout)
    # Chemical (the model's, not annotated here) used to be scored: 3 false positives
    assert res["scored_types"] == ["Disease", "Gene"] and res["counts"]["types_not_in_gold_ignored"] == 1
    assert res["n_pred"] == 0 and res["n_gold"] == 2  # Gene, which the model lacks, still counts as a miss
    r = run("evaluate", "ner", "--model", m, "--data", gold, "--types", "Diseas")
    assert r.exit_code == 2 and "E499" in r.stderr and "Diseas" in r.stderr  # used to print zeros


def test_evaluate_ner_counts_gold_it_cannot_match_and_its_predictions_file_rescored_gives_its_scores(tiny_bert, tmp_path):
    from biobert.metrics import conlleval_scores

    m = _fixed_tagger(tiny_bert, tmp_path / "m", ["O", "B-Disease", "I-Disease", "B-Gene", "I-Gene"], [0, 5, 0, 0, 0])
    text = "BRCA1-associated breast cancer and colonic tumours ."
    g = "".join(f"9\t{a}\t{b}\t{text[a:b]}\t{t}\t-1\n" for a, b, t in [
        (35, 40, "Disease"),    # "colon" inside the word colonic: no word edge at 40
        (17, 30, "Disease"), (24, 30, "Disease"),  # breast cancer, and cancer nested in it
        (43, 50, "Disease"), (43, 50, "Disease"),  # tumours, twice
        (0, 5, "Gene")])
    (tmp_path / "g.pubtator").write_text(f"9|t|{text}\n9|a|\n{g}\n", encoding="utf-8")
    res = json.loads(ok("evaluate", "ner", "--model", m, "--data", tmp_path / "g.pubtator", "--types", "Disease",
                        "--predictions", tmp_path / "p.txt").stdout)
    c = res["counts"]
    assert c["gold_duplicate_spans_merged"] == 1 and c["gold_spans_overlapping"] == 2
    assert c["gold_spans_not_on_word_edges"] == 1 and res["n_gold"] == 4
    # the file holds the scored gold only (no Gene line): conlleval on it gives the JSON's figures, but for the
    # nested span BIO cannot hold, which is counted
    assert c["predictions_file_gold_spans_not_written"] == 1
    sents = [[ln.split(" ") for ln in block.splitlines()] for block in (tmp_path / "p.txt").read_text().strip().split("\n\n")]
    again = conlleval_scores([[t[1] for t in s] for s in sents], [[t[2] for t in s] for s in sents])
    assert "B-Gene" not in (tmp_path / "p.txt").read_text()
    # (the one-word prediction "cancer" matched the nested gold span, so the file has one true positive fewer)
    assert (again["tp"], again["n_pred"], again["n_gold"]) == (res["tp"] - 1, res["n_pred"], res["n_gold"] - 1)


def test_evaluate_ner_defaults_to_the_bundled_tagger(tmp_path):
    gold = tmp_path / "g.pubtator"
    gold.write_text(PUBTATOR, encoding="utf-8")
    res = json.loads(ok("evaluate", "ner", "--data", gold).stdout)  # --model was required, unlike `biobert tag`
    assert res["model"].endswith("ner-default") and res["n_gold"] == 3 and res["tp"] >= 2


def test_tag_resume_continues_a_stopped_run(tagger_dir, tmp_path, monkeypatch):
    """`biobert tag --resume`: the stopped run's documents stay, the rest are tagged onto them, same bytes as one
    run; other options than the stopped run's are E702; --resume without files is E701."""
    from biobert.pipeline import Tagger

    src = tmp_path / "x.PubTator.txt"
    src.write_text(PUBTATOR * 3, encoding="utf-8")  # repeated PMIDs warn, and that is all
    args = ("tag", "--input", src, "--model", tagger_dir, "--chunk-docs", "2")
    ok(*args, "--output", tmp_path / "whole.pubtator")
    calls = {"n": 0}
    real = Tagger.__call__

    def stops(self, docs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, docs)

    monkeypatch.setattr(Tagger, "__call__", stops)
    out = tmp_path / "out.pubtator"
    assert run(*args, "--output", out).exit_code != 0 and not out.exists()
    monkeypatch.setattr(Tagger, "__call__", real)
    r = run(*args, "--output", out, "--resume", "--no-abbreviations")
    assert r.exit_code != 0 and "E702" in r.stderr and "abbreviations: True then, False now" in r.stderr
    r = ok(*args, "--output", out, "--resume")
    assert json.loads(r.stderr.strip().splitlines()[-1])["resumed_after_documents"] == 2
    assert out.read_bytes() == (tmp_path / "whole.pubtator").read_bytes()
    r = run("tag", "--input", src, "--model", tagger_dir, "--resume")
    assert r.exit_code != 0 and "E701" in r.stderr


def test_serve_passes_the_sentence_splitter_to_the_relation_extractor(tagger_dir, tmp_path, monkeypatch):
    """`serve --splitter X --re-model DIR` loaded the extractor without the splitter: /extract with keep_spans paired
    spans by the model's default sentences, not by X as `biobert extract --splitter X` does."""
    import uvicorn

    from biobert.pipeline import Extractor

    seen = {}

    class Loaded:
        source = "fake-re"

        def check_tagger(self, tagger):
            pass

    def fake_load(path, **kw):
        seen.update(kw)
        return Loaded()

    monkeypatch.setattr(Extractor, "load", staticmethod(fake_load))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    ok("serve", "--model", tagger_dir, "--re-model", tmp_path, "--splitter", "lines")
    assert seen.get("splitter") == "lines"


class _FakeReader:
    """Answers 'CFTR' from the first non-empty passage; counts the empty ones as Reader does."""

    default_type = "factoid"

    def __init__(self):
        from collections import Counter

        self.last_stats = Counter()

    def __call__(self, question, passages, qtype=None):
        from collections import Counter

        self.last_stats = Counter()
        kept = [p for p in passages if p.strip()]
        if len(kept) < len(passages):
            self.last_stats["empty_passages_skipped"] = len(passages) - len(kept)
        i = passages.index(kept[0])
        return {"question": question, "type": qtype or "factoid",
                "answers": [{"text": kept[0][:4], "score": 0.9, "passage": i, "start": 0, "end": 4}]}


def test_answer_reports_the_readers_counts_for_a_single_question(tmp_path, monkeypatch):
    """`biobert answer Q --passage "" --passage P` printed the answers and nothing about the empty passage it
    skipped (Reader.last_stats); --input mode and /answer report such counts. Now stderr carries them as JSON."""
    from biobert.pipeline import Reader

    monkeypatch.setattr(Reader, "load", classmethod(lambda cls, *a, **kw: _FakeReader()))
    r = ok("answer", "Which gene?", "--passage", "", "--passage", "CFTR mutations.", "--model", tmp_path)
    assert json.loads(r.stdout)["answers"][0]["text"] == "CFTR"  # stdout: the answers alone
    assert json.loads(r.stderr.strip().splitlines()[-1]) == {"questions": 1, "counts": {"empty_passages_skipped": 1}}


class _PassExtractor:
    """An extractor that finds no relation (the CLI's writing is under test, not the model)."""

    source = "fake-re"

    def __init__(self):
        from collections import Counter

        self.last_stats = Counter()

    def check_tagger(self, tagger):
        pass

    def __call__(self, docs, tagger=None):
        from collections import Counter

        self.last_stats = Counter(candidates=0, relations=0)
        return list(docs)


SURROGATE_JSONL = '{"id": "a", "text": "BRCA1 \\ud800 causes breast cancer."}\n'


def test_extract_answer_and_embed_write_lone_surrogates_as_json_escapes(tagger_dir, tiny_bert, tmp_path, monkeypatch):
    """A lone surrogate in the input text (a JSON \\ud800 escape) crashed extract, answer and embed with a
    UnicodeEncodeError traceback (json.dumps(ensure_ascii=False) then UTF-8); `embed --output e.jsonl` left a 0-byte
    e.jsonl. They now write the surrogate as the same JSON escape, as the service does, and read back the same text."""
    from biobert.pipeline import Extractor, Reader

    text = "BRCA1 \ud800 causes breast cancer."
    src = tmp_path / "s.jsonl"
    src.write_text(SURROGATE_JSONL, encoding="utf-8")
    monkeypatch.setattr(Extractor, "load", classmethod(lambda cls, *a, **kw: _PassExtractor()))
    r = ok("extract", "--model", tmp_path, "--tagger", tagger_dir, "--input", src)
    assert "\\ud800" in r.stdout and json.loads(r.stdout)[0]["text"] == text
    ok("extract", "--model", tmp_path, "--tagger", tagger_dir, "--input", src, "--output", tmp_path / "x.json")
    assert json.loads((tmp_path / "x.json").read_text(encoding="utf-8"))[0]["text"] == text

    monkeypatch.setattr(Reader, "load", classmethod(lambda cls, *a, **kw: _FakeReader()))
    r = ok("answer", "Which gene?", "--passage", text, "--model", tmp_path)
    assert json.loads(r.stdout)["question"] == "Which gene?"
    r = ok("answer", "Which \ud800 gene?", "--passage", text, "--model", tmp_path, "--output", tmp_path / "a.json")
    assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["question"] == "Which \ud800 gene?"

    r = ok("embed", "--input", src, "--model", tiny_bert, "--words")
    assert json.loads(r.stdout.splitlines()[0])["id"] == "a"
    ok("embed", "--input", src, "--model", tiny_bert, "--words", "--output", tmp_path / "e.jsonl")
    (row,) = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text(encoding="utf-8").splitlines()]
    assert row["id"] == "a" and row["words"]


def test_embed_that_fails_while_writing_leaves_no_file_under_the_outputs_name(tiny_bert, tmp_path, monkeypatch):
    """`embed --output e.jsonl` opened e.jsonl before writing: a failure while writing left an empty (or
    half-written) e.jsonl that looked complete. The file is now written as .partial-e.jsonl and renamed at the end."""
    from biobert.embed import Embedding

    calls = []
    to_dict = Embedding.to_dict

    def failing(self):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return to_dict(self)

    monkeypatch.setattr(Embedding, "to_dict", failing)
    src = tmp_path / "d.txt"
    src.write_text("BRCA1 binds TP53.\nTamoxifen lowers risk.\n", encoding="utf-8")
    r = run("embed", "--input", src, "--lines", "--model", tiny_bert, "--output", tmp_path / "e.jsonl")
    assert r.exit_code != 0 and len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.txt"]
