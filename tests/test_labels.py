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


def _valid(path, labels, start_ok, follow_ok):
    return start_ok[path[0]] and all(follow_ok[a][b] for a, b in zip(path, path[1:]))


def test_allowed_transitions_bio_and_iobes():
    from biobert.labels import allowed_transitions

    labels = ["O", "B-A", "I-A", "B-B", "I-B"]
    start, follow = allowed_transitions(labels)
    assert start == [True, True, False, True, False]
    i = labels.index
    assert follow[i("B-A")][i("I-A")] and follow[i("I-A")][i("I-A")]
    assert not follow[i("O")][i("I-A")] and not follow[i("B-B")][i("I-A")] and not follow[i("I-A")][i("I-B")]
    assert all(follow[k][i("O")] and follow[k][i("B-B")] for k in range(len(labels)))
    iobes = ["O", "B-A", "I-A", "E-A", "S-A"]
    start, follow = allowed_transitions(iobes)
    j = iobes.index
    assert start == [True, True, False, False, True]
    assert follow[j("B-A")][j("E-A")] and not follow[j("B-A")][j("O")] and not follow[j("I-A")][j("S-A")]
    assert follow[j("E-A")][j("O")] and follow[j("S-A")][j("B-A")] and not follow[j("O")][j("E-A")]


def test_viterbi_repairs_an_i_after_o_by_likelihood_not_by_rule():
    import math

    from biobert.labels import allowed_transitions, viterbi_decode

    labels = ["O", "B-X", "I-X"]
    lg = lambda *p: [math.log(x) for x in p]  # noqa: E731
    start, follow = allowed_transitions(labels)
    # word 2's argmax is I-X after O: conlleval would open an entity there; O is likelier than B-X
    assert viterbi_decode([lg(.9, .05, .05), lg(.3, .2, .5)], start, follow) == [0, 0]
    # ... and when B-X is likelier than O, it becomes B-X
    assert viterbi_decode([lg(.9, .05, .05), lg(.2, .3, .5)], start, follow) == [0, 1]
    # or the previous word becomes B-X when that costs less than giving up the I-X
    assert viterbi_decode([lg(.5, .45, .05), lg(.01, .01, .98)], start, follow) == [1, 2]
    assert viterbi_decode([], start, follow) == []


def test_viterbi_equals_exhaustive_search_over_valid_paths():
    import itertools
    import random

    from biobert.labels import allowed_transitions, viterbi_decode

    rng = random.Random(0)
    for labels in (["O", "B-A", "I-A", "B-B", "I-B"], ["O", "B-A", "I-A", "E-A", "S-A"]):
        start, follow = allowed_transitions(labels)
        for _ in range(30):
            n = rng.randint(1, 5)
            scores = [[rng.gauss(0, 2) for _ in labels] for _ in range(n)]
            best = max((p for p in itertools.product(range(len(labels)), repeat=n) if _valid(p, labels, start, follow)),
                       key=lambda p: sum(scores[i][j] for i, j in enumerate(p)))
            got = viterbi_decode(scores, start, follow)
            assert _valid(got, labels, start, follow)
            assert sum(scores[i][j] for i, j in enumerate(got)) == pytest.approx(sum(scores[i][j] for i, j in enumerate(best)))
            # with every transition allowed it is the per-word argmax
            free = viterbi_decode(scores, [True] * len(labels), [[True] * len(labels)] * len(labels))
            assert free == [max(range(len(labels)), key=row.__getitem__) for row in scores]


def test_viterbi_batch_of_ragged_sequences_equals_one_by_one():
    import random

    import torch

    from biobert.labels import allowed_transitions, viterbi_decode, viterbi_decode_batch

    rng = random.Random(1)
    labels = ["O", "B-A", "I-A", "B-B", "I-B"]
    start, follow = allowed_transitions(labels)
    seqs = [[[rng.gauss(0, 2) for _ in labels] for _ in range(n)] for n in (1, 7, 3, 12, 2)]
    padded = torch.full((len(seqs), 12, len(labels)), 50.0)  # padding that would win if it were read
    for b, s in enumerate(seqs):
        padded[b, : len(s)] = torch.tensor(s)
    got = viterbi_decode_batch(padded, [len(s) for s in seqs], start, follow)
    assert got == [viterbi_decode(s, start, follow) for s in seqs]
    assert viterbi_decode_batch(padded[:0], [], start, follow) == []


def test_io_tagged_types_are_not_constrained():
    """A model tagged IO-style (no B- labels for a type) must still find entities: its I-X may open one."""
    import math

    from biobert.labels import allowed_transitions, tags_to_chunks, viterbi_decode

    labels = ["O", "I-Gene", "B-Disease", "I-Disease"]
    start, follow = allowed_transitions(labels)
    assert start == [True, True, True, False]
    assert all(follow[k][1] for k in range(4)) and not follow[0][3]
    lg = lambda *p: [math.log(x) for x in p]  # noqa: E731
    path = viterbi_decode([lg(.1, .8, .05, .05), lg(.1, .8, .05, .05), lg(.8, .1, .05, .05)], start, follow)
    assert tags_to_chunks([labels[j] for j in path]) == [(0, 2, "Gene")]


def test_an_untyped_i_after_o_starts_an_entity():
    # BioBERT's collapsed NER files are untyped B/I/O: conlleval starts an entity at an I after O
    assert tags_to_chunks(["O", "I", "I", "O", "I"]) == [(1, 3, ""), (4, 5, "")]
