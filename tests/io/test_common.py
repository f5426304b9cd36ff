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
