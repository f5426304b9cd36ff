"""Tagging files of any size: chunked read -> tag -> write gives the same documents as tagging all at once."""

import json
from pathlib import Path

import pytest

from biobert import io
from biobert.errors import ConfigError, DataFormatError
from biobert.tagging import tag_file
from biobert.types import Document

FIX = Path(__file__).parent / "io" / "fixtures"
ABSTRACTS = Path(__file__).parent / "fixtures" / "abstracts.txt"


@pytest.fixture(scope="module")
def tagger(tagger_dir):
    from biobert import Tagger

    return Tagger.load(tagger_dir)


def _spans(docs):
    return [(d.id, [(s.start, s.end, s.label) for s in d.spans]) for d in docs]


@pytest.mark.parametrize("fmt,reader_kw,src", [
    ("pubtator", {}, FIX / "cdr_sample.PubTator.txt"),
    ("text", {"lines": True}, ABSTRACTS),
])
@pytest.mark.parametrize("out_fmt", ["pubtator", "jsonl", "json", "bioc", "conll"])
def test_chunked_output_equals_tagging_everything_at_once(tagger, tmp_path, fmt, reader_kw, src, out_fmt):
    whole = tagger(io.read(src, fmt=fmt, **reader_kw))
    assert any(d.spans for d in whole)
    out = tmp_path / f"out.{out_fmt}"
    stats = tag_file(tagger, src, out, input_format=fmt, output_format=out_fmt, chunk_docs=2, progress=False, **reader_kw)
    assert stats["documents"] == len(whole) and stats["spans"] == sum(len(d.spans) for d in whole)
    assert stats["streamed"] is True
    if out_fmt == "json":
        back = [Document.from_dict(x) for x in json.loads(out.read_text(encoding="utf-8"))]
    else:
        back = io.read(out, fmt=out_fmt)
    for d in back:
        assert all(d.text[s.start:s.end] == s.text for s in d.spans)
    if out_fmt == "conll":  # CoNLL keeps tokens and tags, not ids or the exact whitespace
        assert [len(d.spans) for d in back] == [len(d.spans) for d in whole]
    else:
        assert _spans(back) == _spans(whole)


def test_text_lines_stream_lazily_and_fail_at_the_bad_line(tagger, tmp_path):
    src = tmp_path / "big.txt"
    good = [f"BRCA1 mutation number {i} in tumours." for i in range(10)]
    src.write_bytes(("\n".join(good) + "\n").encode() + b"bad \xff line\n" + b"never read\n")
    out = tmp_path / "out.jsonl"
    with pytest.raises(DataFormatError, match="E200") as err:
        tag_file(tagger, src, out, input_format="text", output_format="jsonl", chunk_docs=4, progress=False, lines=True)
    assert ":11" in str(err.value) or "line 11" in str(err.value)
    # the chunks read before the bad line were already tagged and written, under a name that says the output is
    # not whole (a killed run used to leave out.jsonl reading back as a complete, shorter file)
    assert not out.exists()
    assert len((tmp_path / ".partial-out.jsonl").read_text(encoding="utf-8").splitlines()) == 8
    tag_file(tagger, ABSTRACTS, out, input_format="text", output_format="jsonl", progress=False, lines=True)
    assert out.exists() and not (tmp_path / ".partial-out.jsonl").exists()  # a finished run is renamed into place


def test_iterate_equals_read(tmp_path):
    for src, fmt, kw in ((FIX / "cdr_sample.PubTator.txt", "pubtator", {}), (ABSTRACTS, "text", {"lines": True}),
                         (FIX / "cdr_sample.BioC.xml", "bioc", {})):
        assert list(io.iterate(src, fmt=fmt, **kw)) == io.read(src, fmt=fmt, **kw)
    assert io.streams("pubtator") and io.streams("text", lines=True) and not io.streams("bioc") and not io.streams("text")


def test_bad_settings_fail_before_tagging(tagger, tmp_path):
    with pytest.raises(ConfigError, match="E420"):
        tag_file(tagger, ABSTRACTS, tmp_path / "o", input_format="text", output_format="xml")
    with pytest.raises(ConfigError, match="E428"):
        tag_file(tagger, ABSTRACTS, tmp_path / "o.jsonl", input_format="text", chunk_docs=0, lines=True)
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.jsonl").exists()


def test_shards_partition_the_documents(tagger, tmp_path):
    """``n`` processes with ``shard=(k, n)`` tag every document exactly once, with the same spans as one process."""
    from biobert.tagging import parse_shard

    whole = tagger(io.read(ABSTRACTS, fmt="text", lines=True))
    assert len(whole) >= 6
    parts = []
    for k in range(3):
        out = tmp_path / f"part{k}.jsonl"
        stats = tag_file(tagger, ABSTRACTS, out, input_format="text", output_format="jsonl", chunk_docs=1, shard=(k, 3),
                         progress=False, lines=True)
        assert stats["shard"] == f"{k}/3"
        parts.append(io.read(out))
    assert sorted(_spans([d for p in parts for d in p])) == sorted(_spans(whole))
    assert [d.id for d in parts[0]] == [d.id for d in whole][0::3]
    assert parse_shard("1/2") == (1, 2)
    for bad in ("2/2", "x", "1/0", "-1/2"):
        with pytest.raises(ConfigError, match="E428"):
            parse_shard(bad)


def test_what_the_output_format_drops_is_reported(tmp_path):
    """CoNLL cannot hold overlapping spans: the writer drops one, and tag_file's summary says so."""
    from biobert.types import Span

    src = tmp_path / "in.txt"
    src.write_text("breast cancer risk\n", encoding="utf-8")

    def overlapping(docs):
        return [d.with_spans([Span(0, 13, "Disease"), Span(7, 18, "Disease")]) for d in docs]

    stats = tag_file(overlapping, src, tmp_path / "out.conll", input_format="text", output_format="conll", progress=False, lines=True)
    assert stats["written"]["dropped_overlapping_spans"] == 1
    stats = tag_file(overlapping, src, tmp_path / "out.jsonl", input_format="text", output_format="jsonl", progress=False, lines=True)
    assert stats["written"].get("dropped_overlapping_spans", 0) == 0


def test_brat_output_refuses_a_document_id_repeated_in_a_later_chunk(tmp_path):
    """brat writes one file pair per id: a repeat in a later chunk would overwrite the first document's files."""
    from biobert.tagging import BratDirWriter

    w = BratDirWriter(tmp_path / "out")
    w.write([Document("a", "BRCA1"), Document("b", "TP53")])
    with pytest.raises(DataFormatError, match="E246.*'a' again"):
        w.write([Document("c", "x"), Document("a", "other text")])
    assert (tmp_path / "out" / "a.txt").read_text(encoding="utf-8") == "BRCA1"


def test_table_shards_concatenate_into_one_table(tagger, tmp_path):
    """Only the first shard writes the table's header line, so that ``cat`` of the shards is one table with every
    row of the unsharded output."""
    whole = tmp_path / "all.tsv"
    tag_file(tagger, ABSTRACTS, whole, input_format="text", output_format="table", lines=True, progress=False)
    parts = []
    for k in range(3):
        out = tmp_path / f"{k}.tsv"
        tag_file(tagger, ABSTRACTS, out, input_format="text", output_format="table", lines=True, progress=False, shard=(k, 3))
        parts.append(out.read_text(encoding="utf-8"))
    cat = "".join(parts).splitlines()
    rows = whole.read_text(encoding="utf-8").splitlines()
    assert cat[0] == rows[0] == "doc\tstart\tend\tlabel\tscore\tmention\tids"
    assert sum(line.startswith("doc\t") for line in cat) == 1
    assert sorted(cat[1:]) == sorted(rows[1:])


def test_table_rows_escape_tabs_and_line_breaks_in_mentions():
    """A mention holding a tab or a line break (wrapped text) made a row of 7 columns or split it in two."""
    import io as _io

    from biobert.tagging import open_writer
    from biobert.types import Document, Span

    text = "colon\ncancer and a\tb and c\\d"
    doc = Document(id="d\t1", text=text, spans=(Span(0, 12, "Disease", ids=(("MESH", "D003110"), ("OMIM", "OMIM:1"))),
                                                 Span(17, 20, "Gene"), Span(25, 28, "X")))
    buf = _io.StringIO()
    with open_writer(buf, "table") as w:
        w.write([doc])
        w.close()
    rows = [r.split("\t") for r in buf.getvalue().splitlines()]
    assert len(rows) == 4 and all(len(r) == 7 for r in rows)
    assert [r[6] for r in rows] == ["ids", "D003110|OMIM:1", "", ""]  # a linker's ids are shown
    assert [r[5] for r in rows[1:]] == ["colon\\ncancer", "a\\tb", "c\\\\d"] and rows[1][0] == "d\\t1"
    assert [(int(r[1]), int(r[2])) for r in rows[1:]] == [(0, 12), (17, 20), (25, 28)]


def test_chunked_table_and_conll_outputs_read_as_one_file(tagger, tmp_path):
    docs = [Document(str(i), f"BRCA1 mutation number {i} in tumours.") for i in range(3)]
    src = tmp_path / "in.jsonl"
    io.write(docs, src, fmt="jsonl")
    tag_file(tagger, src, tmp_path / "t.txt", output_format="table", chunk_docs=1, progress=False)
    lines = (tmp_path / "t.txt").read_text(encoding="utf-8").splitlines()
    assert sum(1 for line in lines if line.startswith("doc\t")) == 1  # one header, not one per chunk
    tag_file(tagger, src, tmp_path / "c.conll", output_format="conll", chunk_docs=1, progress=False)
    back = io.read(tmp_path / "c.conll", fmt="conll")
    assert len(back) == 3  # chunks keep their -DOCSTART- lines: documents stay apart


class _StopsAfter:
    """The tagger, stopped (as by a kill) when it is called for chunk ``stop_at`` (0-based); ``None``: never."""

    def __init__(self, tagger, stop_at=None):
        self.tagger, self.stop_at, self.calls = tagger, stop_at, 0

    def __call__(self, docs):
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        self.calls += 1
        out = self.tagger(docs)
        self.last_stats = self.tagger.last_stats
        return out


@pytest.mark.parametrize("out_fmt", ["jsonl", "json", "pubtator", "conll", "table"])
def test_a_stopped_run_resumes_into_the_bytes_of_an_uninterrupted_one(tagger, tmp_path, out_fmt):
    """`tag` had no --resume: a run killed after hours started again from the first document."""
    from biobert.tagging import progress_path

    kw = dict(input_format="text", output_format=out_fmt, chunk_docs=2, progress=False, lines=True)
    whole = tmp_path / f"whole.{out_fmt}"
    ref = tag_file(_StopsAfter(tagger), ABSTRACTS, whole, **kw)
    out = tmp_path / f"out.{out_fmt}"
    with pytest.raises(KeyboardInterrupt):
        tag_file(_StopsAfter(tagger, stop_at=2), ABSTRACTS, out, **kw)
    partial, record = tmp_path / f".partial-out.{out_fmt}", progress_path(out)
    assert not out.exists() and json.loads(record.read_text())["documents"] == 4
    with open(partial, "ab") as f:  # a chunk half written when the process died
        f.write(b"half a chunk")
    stats = tag_file(_StopsAfter(tagger), ABSTRACTS, out, resume=True, **kw)
    assert out.read_bytes() == whole.read_bytes()
    assert not partial.exists() and not record.exists()
    assert stats["resumed_after_documents"] == 4
    for key in ("documents", "spans", "characters", "counts", "written"):
        assert stats[key] == ref[key], key  # totals over both parts


def test_resume_refuses_a_changed_job_and_a_cut_partial_file(tagger, tmp_path):
    kw = dict(input_format="text", output_format="jsonl", chunk_docs=2, progress=False, lines=True)
    src = tmp_path / "in.txt"
    src.write_bytes(ABSTRACTS.read_bytes())
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        tag_file(_StopsAfter(tagger, stop_at=2), src, out, job={"decode": "viterbi"}, **kw)
    with pytest.raises(ConfigError, match="E702 .*decode: 'viterbi' then, 'argmax' now"):
        tag_file(_StopsAfter(tagger), src, out, resume=True, job={"decode": "argmax"}, **kw)
    with pytest.raises(ConfigError, match="E702 .*chunk_docs"):
        tag_file(_StopsAfter(tagger), src, out, resume=True, job={"decode": "viterbi"}, **{**kw, "chunk_docs": 3})
    with open(src, "a", encoding="utf-8") as f:
        f.write("One more abstract.\n")
    with pytest.raises(ConfigError, match="E702 .*input"):
        tag_file(_StopsAfter(tagger), src, out, resume=True, job={"decode": "viterbi"}, **kw)
    import os

    src.write_bytes(ABSTRACTS.read_bytes())
    partial = tmp_path / ".partial-out.jsonl"
    # the record names the input's modification time: give it back the stopped run's
    saved = json.loads((tmp_path / ".partial-out.jsonl.progress.json").read_text())["job"]["input"]["mtime_ns"]
    os.utime(src, ns=(saved, saved))
    partial.write_bytes(partial.read_bytes()[:10])
    with pytest.raises(ConfigError, match="E703 .*holds 10 bytes"):
        tag_file(_StopsAfter(tagger), src, out, resume=True, job={"decode": "viterbi"}, **kw)
    # without --resume the stopped run is replaced: a complete output from the start
    stats = tag_file(_StopsAfter(tagger), src, out, job={"decode": "viterbi"}, **kw)
    assert "resumed_after_documents" not in stats and len(io.read(out, fmt="jsonl")) == stats["documents"] > 4


def test_resume_needs_a_file_format_that_grows_by_records(tagger, tmp_path):
    import io as stdio

    kw = dict(input_format="text", chunk_docs=2, progress=False, lines=True, resume=True)
    for out, fmt in ((tmp_path / "o.xml", "bioc"), (tmp_path / "o.jsonl.gz", "jsonl"), (stdio.StringIO(), "jsonl")):
        with pytest.raises(ConfigError, match="E701"):
            tag_file(tagger, ABSTRACTS, out, output_format=fmt, **kw)
    with pytest.raises(ConfigError, match="E701 .*input file"):
        tag_file(tagger, stdio.StringIO(ABSTRACTS.read_text()), tmp_path / "o.jsonl", output_format="jsonl", **kw)
    # nothing recorded: --resume tags from the start
    stats = tag_file(tagger, ABSTRACTS, tmp_path / "o.jsonl", output_format="jsonl", **kw)
    assert "resumed_after_documents" not in stats and stats["documents"] > 0


# -- mutation-testing gaps (round 3) ---------------------------------------------------------------------


def _stopped_run(tagger, tmp_path, **kw):
    """A jsonl run over a copy of the abstracts, stopped after 2 chunks of 2: (input, output, kw)."""
    kw = dict(dict(input_format="text", output_format="jsonl", chunk_docs=2, progress=False, lines=True), **kw)
    src = tmp_path / "in.txt"
    src.write_bytes(ABSTRACTS.read_bytes())
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        tag_file(_StopsAfter(tagger, stop_at=2), src, out, **kw)
    return src, out, kw


def test_the_partial_file_reaches_the_disk_before_the_record_that_counts_it(tagger, tmp_path, monkeypatch):
    import os

    import biobert.tagging as tagging

    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(tagging.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(tagging.os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    _stopped_run(tagger, tmp_path)
    assert events == ["fsync", "replace", "fsync", "replace"]  # one of each per chunk written, fsync first


def test_a_resumed_runs_speed_counts_only_its_own_documents(tagger, tmp_path):
    src, out, kw = _stopped_run(tagger, tmp_path)
    stats = tag_file(_StopsAfter(tagger), src, out, resume=True, **kw)
    own = stats["documents"] - stats["resumed_after_documents"]
    assert own > 0
    assert stats["documents_per_second"] * stats["seconds"] == pytest.approx(own, rel=0.2)


def test_resume_refuses_other_reader_options(tagger, tmp_path):
    src, out, kw = _stopped_run(tagger, tmp_path)
    with pytest.raises(ConfigError, match="E702 .*reader"):
        tag_file(_StopsAfter(tagger), src, out, resume=True, **{**kw, "lines": False})


def test_the_job_names_the_model_inside_a_wrapping_tagger(tmp_path):
    from biobert.tagging import _job

    class Inner:
        source = "/models/a"

    class Linked:  # a LinkedTagger holds the model's tagger in .tagger
        tagger = Inner()

    import io as stdio

    job = _job(Linked(), stdio.StringIO(""), "text", "jsonl", 2, None, {}, None)
    assert job["tagger"] == {"class": "Linked", "source": "/models/a"}


@pytest.mark.parametrize("record", ["{not json", '{"job": {}, "bytes": "many", "documents": 1}', '{"job": {}, "bytes": null, "documents": 1}'])
def test_an_unreadable_progress_record_is_a_config_error(tagger, tmp_path, record):
    from biobert.tagging import progress_path

    src, out, kw = _stopped_run(tagger, tmp_path)
    progress_path(out).write_text(record, encoding="utf-8")
    with pytest.raises(ConfigError, match="E702 .*unreadable"):
        tag_file(_StopsAfter(tagger), src, out, resume=True, **kw)


def test_tagging_over_a_stopped_run_without_resume_warns_that_it_is_replaced(tagger, tmp_path, caplog):
    src, out, kw = _stopped_run(tagger, tmp_path)
    with caplog.at_level("WARNING", logger="biobert.tagging"):
        tag_file(_StopsAfter(tagger), src, out, **kw)
    assert any("holds a stopped run" in r.getMessage() for r in caplog.records)
