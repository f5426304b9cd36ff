import pytest

from biobert.labels import bio_label_list, chunks_to_tags, split_tag, tags_to_chunks


def test_split_on_first_hyphen_only():
    assert split_tag("B-Gene-or-gene-product") == ("B", "Gene-or-gene-product")
    assert split_tag("I-DNA") == ("I", "DNA")
    assert split_tag("B") == ("B", "")
    assert split_tag("O") == ("O", "")
    assert split_tag("U-Chem") == ("S", "Chem")  # BILOU -> IOBES
    with pytest.raises(ValueError):
        split_tag("X-Foo")
    with pytest.raises(ValueError):
        split_tag("B-")


def test_conlleval_chunk_semantics():
    # an I after O starts a chunk; a type change inside a run starts a new one
    tags = ["I-A", "I-A", "O", "B-A", "I-B", "I", "B", "I"]
    assert tags_to_chunks(tags) == [(0, 2, "A"), (3, 4, "A"), (4, 5, "B"), (5, 6, ""), (6, 8, "")]


def test_iobes_chunks_and_roundtrip():
    tags = ["S-X", "B-Y", "I-Y", "E-Y", "O", "S-Y"]
    chunks = tags_to_chunks(tags)
    assert chunks == [(0, 1, "X"), (1, 4, "Y"), (5, 6, "Y")]
    assert chunks_to_tags(chunks, 6, "IOBES") == tags
    assert chunks_to_tags(chunks, 6) == ["B-X", "B-Y", "I-Y", "I-Y", "O", "B-Y"]


def test_label_list():
    assert bio_label_list(["Disease", "Chemical"]) == ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]
    assert bio_label_list([""]) == ["O", "B", "I"]
