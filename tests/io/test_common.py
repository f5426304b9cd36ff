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
