"""The bundled default tagger: present, loads with no setup, typed labels, exact offsets."""

from pathlib import Path

import pytest

from biobert.pipeline import Tagger, default_tagger_path

ABSTRACT = (Path(__file__).parents[1] / "examples" / "abstract.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tagger():
    return Tagger.load()


def test_bundled_files_and_card():
    d = default_tagger_path()
    for f in ("model.safetensors", "config.json", "tokenizer.json", "biobert.json", "report.json", "README.md"):
        assert (d / f).exists(), f
    assert (d / "model.safetensors").stat().st_size < 50 * 2**20
    card = (d / "README.md").read_text()
    assert "build_default_tagger.sh" in card and "BC2GM" in card and "NCBI-disease" in card


def test_types_and_offsets(tagger):
    assert {"Chemical", "Disease", "Gene"} <= set(tagger.types)
    doc = tagger(ABSTRACT)
    assert doc.spans
    for s in doc.spans:
        assert doc.text[s.start:s.end] == s.text and s.label in tagger.types and 0 < s.score <= 1
    found = {(s.text.lower(), s.label) for s in doc.spans}
    # unambiguous mentions a working tagger must find
    assert ("tamoxifen", "Chemical") in found
    assert ("breast cancer", "Disease") in found
    assert any(label == "Gene" for _, label in found)


def test_long_input_is_not_truncated(tagger):
    text = (ABSTRACT.strip() + " ") * 12  # far beyond 512 subwords
    doc = tagger(text)
    assert sum(1 for s in doc.spans if s.text.lower() == "tamoxifen") == 12 * 2
    assert all(doc.text[s.start:s.end] == s.text for s in doc.spans)
