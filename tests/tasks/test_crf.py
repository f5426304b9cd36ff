"""The linear-chain CRF head: forward algorithm and Viterbi against brute-force enumeration, partial labels,
saving and loading, and the predictor's use of the learned scores."""

import itertools
import math

import pytest
import torch

from biobert.errors import ModelLoadError
from biobert.labels import allowed_transitions, viterbi_decode_batch
from biobert.tasks.crf import CRF, CRFTagger, compact_labelled

LABELS = ["O", "B-Chem", "I-Chem", "B-Dis", "I-Dis"]


def random_crf(seed: int = 0) -> CRF:
    g = torch.Generator().manual_seed(seed)
    crf = CRF(LABELS)
    with torch.no_grad():
        for p in (crf.start, crf.end, crf.transitions):
            p.copy_(torch.randn(p.shape, generator=g))
    return crf


def path_score(crf: CRF, em: torch.Tensor, path: tuple[int, ...]) -> float:
    """Score of one path, or -inf when it takes a forbidden move (the first tag is free, as in training)."""
    follow = crf.follow_ok
    s = float(crf.start[path[0]] + em[0, path[0]])
    for t in range(1, len(path)):
        if not follow[path[t - 1], path[t]]:
            return -math.inf
        s += float(crf.transitions[path[t - 1], path[t]] + em[t, path[t]])
    return s + float(crf.end[path[-1]])


def brute_log_z(crf: CRF, em: torch.Tensor, allowed: torch.Tensor | None = None) -> float:
    scores = [path_score(crf, em, p) for p in itertools.product(range(len(LABELS)), repeat=em.shape[0])
              if allowed is None or all(allowed[t, j] for t, j in enumerate(p))]
    return float(torch.logsumexp(torch.tensor(scores, dtype=torch.float64), 0))


def test_log_partition_matches_enumeration_for_ragged_batches():
    crf = random_crf()
    em = torch.randn(2, 4, len(LABELS), generator=torch.Generator().manual_seed(1))
    mask = torch.tensor([[True] * 4, [True, True, True, False]])
    got = crf.log_partition(em, mask).detach()
    assert float(got[0]) == pytest.approx(brute_log_z(crf, em[0]), abs=1e-4)
    assert float(got[1]) == pytest.approx(brute_log_z(crf, em[1, :3]), abs=1e-4)  # padding step ignored


def test_nll_is_minus_log_probability_of_the_gold_path_and_of_a_partial_label_set():
    crf = random_crf(2)
    em = torch.randn(1, 6, len(LABELS), generator=torch.Generator().manual_seed(3))
    # positions 0 and 5 are unlabelled (CLS/SEP, a later subword): the chain is the 4 labelled words
    labels = torch.tensor([[-100, 0, 1, 2, 0, -100]])
    words = em[0, 1:5]
    gold = (0, 1, 2, 0)
    expected = -(path_score(crf, words, gold) - brute_log_z(crf, words))
    assert float(crf.nll(em, labels)) == pytest.approx(expected / 4, abs=1e-4)
    # partial labels: the O words may also be any Dis tag (a corpus that does not annotate diseases)
    allowed = torch.nn.functional.one_hot(labels.clamp(min=0), len(LABELS)).bool()
    allowed[0, 1, 3:] = allowed[0, 4, 3:] = True
    expected = -(brute_log_z(crf, words, allowed[0, 1:5]) - brute_log_z(crf, words))
    assert float(crf.nll(em, labels, allowed)) == pytest.approx(expected / 4, abs=1e-4)


def test_a_batch_row_without_labels_adds_nothing():
    crf = random_crf(4)
    em = torch.randn(2, 3, len(LABELS), requires_grad=True)
    one = crf.nll(em[:1], torch.tensor([[0, 1, 2]]))
    both = crf.nll(em, torch.tensor([[0, 1, 2], [-100, -100, -100]]))
    assert float(both) == pytest.approx(float(one))
    none = crf.nll(em, torch.full((2, 3), -100))
    none.backward()  # still part of the graph
    assert float(none) == 0.0


def test_compact_labelled_keeps_order_and_drops_empty_rows():
    scores = torch.arange(12.0).reshape(2, 6, 1).expand(2, 6, 2)
    labels = torch.tensor([[-100, 3, -100, 4, 5, -100], [-100] * 6])
    em, lab, mask = compact_labelled(scores, labels)
    assert lab.tolist() == [[3, 4, 5]] and mask.tolist() == [[True, True, True]]
    assert em[0, :, 0].tolist() == [1.0, 3.0, 4.0]


def test_viterbi_with_learned_scores_is_the_best_allowed_path():
    crf = random_crf(5)
    start_ok, follow_ok = allowed_transitions(LABELS)
    em = torch.randn(3, 4, len(LABELS), generator=torch.Generator().manual_seed(6))
    lengths = [4, 2, 1]
    paths = viterbi_decode_batch(em, lengths, start_ok, follow_ok, learned=(crf.start.detach(), crf.transitions.detach(), crf.end.detach()))
    for b, n in enumerate(lengths):
        cands = [p for p in itertools.product(range(len(LABELS)), repeat=n) if start_ok[p[0]]]
        best = max(cands, key=lambda p: path_score(crf, em[b, :n], p))
        assert tuple(paths[b]) == best


def test_zero_scores_decode_as_the_constrained_viterbi_and_learned_ones_change_it():
    start_ok, follow_ok = allowed_transitions(LABELS)
    em = torch.randn(4, 7, len(LABELS), generator=torch.Generator().manual_seed(7))
    em[:, 0, 1] += 10.0  # every sentence opens with B-Chem on the emissions alone
    em = torch.log_softmax(em, -1)
    lengths = [7, 5, 3, 6]
    plain = viterbi_decode_batch(em, lengths, start_ok, follow_ok)
    assert all(p[0] == 1 for p in plain)
    crf = CRF(LABELS)
    zero = viterbi_decode_batch(em, lengths, start_ok, follow_ok, learned=(crf.start, crf.transitions, crf.end))
    assert zero == plain
    with torch.no_grad():
        crf.start[0] = 50.0  # every sentence must now open with O
    opened = viterbi_decode_batch(em, lengths, start_ok, follow_ok, learned=(crf.start, crf.transitions, crf.end))
    assert all(p[0] == 0 for p in opened)


def test_meta_round_trip_and_bad_shapes():
    crf = random_crf(8)
    back = CRF.from_meta(LABELS, crf.to_meta())
    for name in ("start", "end", "transitions"):
        assert torch.allclose(getattr(back, name), getattr(crf, name))
    bad = crf.to_meta()
    bad["transitions"] = bad["transitions"][:-1]
    with pytest.raises(ModelLoadError, match=r"E321 .*crf.transitions has shape \(4, 5\); expected \(5, 5\)"):
        CRF.from_meta(LABELS, bad, "m/biobert.json")
    with pytest.raises(ModelLoadError, match="E321 .*crf.end is missing"):
        CRF.from_meta(LABELS, {"start": [0.0] * 5})
    with pytest.raises(ModelLoadError, match="E321"):
        CRF.from_meta(LABELS, [1, 2])


def test_training_learns_a_transition_the_emissions_cannot_tell():
    """Emissions that cannot separate B from I: only the transitions can learn that a Chem tag right after another
    Chem tag is I, not B. A CRF that does not learn (or a sign error) leaves the gold path improbable."""
    crf = CRF(LABELS)
    opt = torch.optim.Adam(crf.parameters(), lr=0.1)
    em = torch.zeros(1, 4, len(LABELS))
    em[0, :, 0] = -5.0  # all words are Chem tokens, B or I alike
    em[0, :, 3:] = -5.0
    labels = torch.tensor([[1, 2, 2, 2]])
    for _ in range(100):
        opt.zero_grad()
        loss = crf.nll(em, labels)
        loss.backward()
        opt.step()
    start_ok, follow_ok = allowed_transitions(LABELS)
    path = viterbi_decode_batch(em, [4], start_ok, follow_ok, learned=(crf.start.detach(), crf.transitions.detach(), crf.end.detach()))
    assert path == [[1, 2, 2, 2]]
    assert float(loss) < 0.1


def test_crf_tagger_returns_logits_and_loss():
    class Fake(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(10, len(LABELS))

        def forward(self, input_ids, attention_mask=None):
            return type("Out", (), {"logits": self.emb(input_ids)})()

        def get_input_embeddings(self):
            return self.emb

    net = CRFTagger(Fake(), LABELS)
    ids = torch.tensor([[1, 2, 3]])
    assert net(input_ids=ids).loss is None
    out = net(input_ids=ids, labels=torch.tensor([[-100, 1, 2]]))
    out.loss.backward()
    assert net.crf.transitions.grad is not None and net.model.emb.weight.grad is not None
    assert net.get_input_embeddings() is net.model.emb
    assert {n.split(".")[0] for n, _ in net.named_parameters()} == {"model", "crf"}
