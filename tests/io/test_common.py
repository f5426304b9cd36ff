"""Shared reader plumbing: missing inputs."""

import pytest


def test_a_missing_input_is_a_typed_error_that_is_still_a_file_not_found_error(tmp_path):
    from biobert import io
    from biobert.errors import InputNotFoundError
    from biobert.linking import DictionaryLinker

    for call in (lambda: io.read(tmp_path / "missing.tsv"), lambda: io.read(tmp_path / "missing.pubtator.gz"),
                 lambda: DictionaryLinker.from_ctd(tmp_path / "CTD_diseases.tsv.gz"),
                 lambda: io.read(tmp_path, fmt="conll")):
        with pytest.raises(InputNotFoundError, match="E423") as err:
            call()
        assert isinstance(err.value, FileNotFoundError) and str(tmp_path) in str(err.value)


@pytest.mark.parametrize("name", ["t.txt.gz", "t.tsv.gz", "t.pubtator.xz"])
def test_a_truncated_compressed_input_is_e269_naming_the_file(tmp_path, name):
    """`tag`/`embed` on a cut-off .gz printed a bare "Aborted." (EOFError)."""
    import gzip
    import lzma

    from biobert import io
    from biobert.errors import DataFormatError

    text = "".join(f"{i}|t|Title {i}\n{i}|a|BRCA1 mutations cause breast cancer.\n\n" if name.endswith("xz")
                   else f"word{i}\tO\n" for i in range(4000)).encode()
    packed = lzma.compress(text) if name.endswith("xz") else gzip.compress(text)
    (tmp_path / name).write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataFormatError, match=rf"E269 .*{name}.*complete, valid"):
        io.read(tmp_path / name, fmt="text" if name.startswith("t.txt") else None)


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
@pytest.mark.parametrize("fmt,name", [("pubtator", "out.pubtator"), ("jsonl", "out.jsonl"), ("conll", "out.conll"),
                                      ("bioc", "out.xml")])
def test_writing_to_a_compressed_name_compresses(tmp_path, fmt, name, suffix):
    """`io.write(docs, "x.jsonl.gz")` wrote plain text under a .gz name, which no reader (nor zcat) could open."""
    import bz2
    import gzip
    import lzma

    from biobert import io
    from biobert.types import Document, Span

    docs = [Document(id="1", text="BRCA1 causes cancer .").with_spans([Span(13, 19, "Disease")])]
    path = tmp_path / (name + suffix)
    io.write(docs, path, fmt=fmt)
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[suffix]
    with opener(path, "rt", encoding="utf-8") as f:
        assert "BRCA1" in f.read()  # raises on plain text: it must really be compressed
    back = io.read(path, fmt=fmt)
    assert [(s.start, s.end, s.label) for s in back[0].spans] == [(13, 19, "Disease")]
    if suffix == ".gz":  # reproducible bytes: no time stamp or name in the header
        first = path.read_bytes()
        io.write(docs, path, fmt=fmt)
        assert path.read_bytes() == first and first[4:8] == b"\0\0\0\0"
