"""The pre-training loop: every objective and start point learns on the tiny corpus; resume after
a kill continues the same run exactly; outputs load anywhere."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from biobert.errors import ConfigError
from biobert.pretrain.loop import PretrainConfig, latest_checkpoint, pretrain

from .conftest import TINY_MODEL


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _cfg(corpus_file, out, **kw) -> PretrainConfig:
    base = dict(
        corpus=[str(corpus_file)],
        output=str(out),
        from_scratch=True,
        model_config=TINY_MODEL,
        max_length=48,
        batch_size=8,
        max_steps=30,
        lr=1e-2,
        warmup_steps=2,
        save_every=1000,
        eval_every=1000,
        log_every=1,
        shuffle_buffer=32,
        val_fraction=0.1,
        val_max_examples=16,
        progress=False,
        seed=0,
    )
    base.update(kw)
    return PretrainConfig(**base)


def _decreases(report, k=5):
    losses = [c["loss"] for c in report["curve"]]
    assert len(losses) == report["max_steps"]
    first, last = np.mean(losses[:k]), np.mean(losses[-k:])
    print("loss first/last", report["objective"], first, last)
    assert last < 0.93 * first, (first, last)  # a broken update (no grad sync, lr 0, wrong targets) stays flat


@pytest.mark.parametrize(
    "objective,wwm",
    [("mlm", False), ("mlm", True), ("mlm+sop", False), ("electra", False)],
    ids=["mlm", "mlm-wwm", "albert-sop", "electra"],
)
def test_objectives_learn_from_scratch(corpus_file, vocab_dir, tmp_path, objective, wwm):
    extra = {"disc_weight": 50.0} if objective == "electra" else {}
    report = pretrain(_cfg(corpus_file, tmp_path / "run", objective=objective, whole_word_mask=wwm, tokenizer=str(vocab_dir), **extra))
    _decreases(report)
    assert report["final"] and report["tokens_seen"] > 30 * 8 * 30
    ev = report["evals"]
    assert ev[0]["step"] == 0 and ev[-1]["step"] == 30 and ev[-1]["val_ppl"] < ev[0]["val_ppl"]
    if objective == "mlm+sop":
        assert report["model_type"] == "albert" and "val_sop_acc" in ev[-1]
    if objective == "electra":
        assert report["model_type"] == "electra" and "val_disc_acc" in ev[-1]
        assert (tmp_path / "run" / "generator" / "config.json").exists()


def test_continue_headless_checkpoint_and_output_loads(corpus_file, headless_bert, tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer

    out = tmp_path / "cont"
    report = pretrain(_cfg(corpus_file, out, from_scratch=False, init=str(headless_bert), model_config=None))
    _decreases(report)
    assert any(k.startswith("cls.predictions") for k in report["start_point"]["created_head"])
    # the output is an encoder directory: AutoModel gets the trained encoder and the original pooler
    enc, info = AutoModel.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"]
    orig = load_file(str(headless_bert / "model.safetensors"))
    assert torch.equal(enc.pooler.dense.weight, orig["pooler.dense.weight"])
    assert not torch.equal(enc.encoder.layer[0].attention.self.query.weight, orig["encoder.layer.0.attention.self.query.weight"])
    mlm, info = AutoModelForMaskedLM.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"]
    tok = AutoTokenizer.from_pretrained(out)
    assert len(tok) == enc.config.vocab_size
    rep = json.loads((out / "report.json").read_text())
    for key in ("versions", "data", "settings", "tokens_seen", "wall_seconds", "throughput_tokens_per_s", "curve", "evals"):
        assert key in rep
    assert rep["data"]["files"][0]["sha256"]
    assert (out / "curve.png").stat().st_size > 1000


def test_head_warmup_holds_the_encoder_still(corpus_file, headless_bert, tmp_path):
    from safetensors.torch import load_file

    orig = load_file(str(headless_bert / "model.safetensors"))
    key = "encoder.layer.0.attention.self.query.weight"
    kw = dict(from_scratch=False, init=str(headless_bert), model_config=None, head_warmup_steps=4)
    # stopped at the end of the warm-up: only the new head has moved
    pretrain(_cfg(corpus_file, tmp_path / "w", halt_after=4, save_every=2, **kw))
    w2, w4 = (torch.load(tmp_path / "w" / "checkpoints" / f"step-0000000{n}" / "model.pt", map_location="cpu") for n in (2, 4))
    for w in (w2, w4):
        assert torch.equal(w[f"model.bert.{key}"], orig[key])
        assert torch.equal(w["model.bert.embeddings.word_embeddings.weight"], orig["embeddings.word_embeddings.weight"])
    head = "model.cls.predictions.transform.dense.weight"
    assert not torch.equal(w2[head], w4[head])
    # after it, the encoder trains as usual
    report = pretrain(_cfg(corpus_file, tmp_path / "w", **kw), resume=True)
    _decreases(report)
    from transformers import AutoModel

    enc = AutoModel.from_pretrained(tmp_path / "w")
    assert not torch.equal(enc.encoder.layer[0].attention.self.query.weight, orig[key])
    with pytest.raises(ConfigError, match="E470"):
        pretrain(_cfg(corpus_file, tmp_path / "x", head_warmup_steps=2))  # from scratch: nothing to protect


def test_from_scratch_trains_its_own_vocabulary(corpus_file, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    out = tmp_path / "scratch"
    report = pretrain(_cfg(corpus_file, out, vocab_size=250, lowercase=False))
    _decreases(report)
    tok = AutoTokenizer.from_pretrained(out)
    assert len(tok) == report["vocab_size"] <= 250
    assert tok.tokenize("BRCA1")[0].startswith("B")  # cased vocabulary
    assert AutoModel.from_pretrained(out).config.vocab_size == len(tok)
    assert (out / "vocab" / "vocab.txt").exists()


@pytest.mark.parametrize("objective", ["mlm", "electra"])
def test_resume_after_kill_is_exact(corpus_file, vocab_dir, tmp_path, objective):
    # log_every 4 with checkpoints every 3: the resume from step 6 must carry steps 5-6 into the step-8 mean
    kw = dict(objective=objective, whole_word_mask=True, tokenizer=str(vocab_dir), max_steps=8, save_every=3, eval_every=4, log_every=4)
    a = pretrain(_cfg(corpus_file, tmp_path / "a", **kw))
    # run b is "killed" after step 7: it halts there, and the step-7 checkpoint is lost, as if the
    # process died between checkpoints; the resume restarts from step 6
    pretrain(_cfg(corpus_file, tmp_path / "b", halt_after=7, **kw))
    ck = latest_checkpoint(tmp_path / "b")
    assert ck.name == "step-00000007"
    shutil.rmtree(ck)
    assert latest_checkpoint(tmp_path / "b").name == "step-00000006"
    b = pretrain(_cfg(corpus_file, tmp_path / "b", **kw), resume=True)
    assert [c["loss"] for c in a["curve"]] == [c["loss"] for c in b["curve"]]
    assert [c["steps_averaged"] for c in b["curve"]] == [4, 4]
    assert a["tokens_seen"] == b["tokens_seen"]
    assert a["evals"] == b["evals"]
    wa = torch.load(tmp_path / "a" / "checkpoints" / "step-00000008" / "model.pt")
    wb = torch.load(tmp_path / "b" / "checkpoints" / "step-00000008" / "model.pt")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    assert len(b["sessions"]) == 2
    # each session records its own optimizer time, so the sessions add up to the run's total
    assert sum(x["train_seconds"] for x in b["sessions"]) == pytest.approx(b["train_seconds"], abs=0.02)


def test_resume_guards(corpus_file, vocab_dir, tmp_path):
    cfg = _cfg(corpus_file, tmp_path / "g", tokenizer=str(vocab_dir), max_steps=4, save_every=2)
    pretrain(cfg)
    with pytest.raises(ConfigError, match="E468"):
        pretrain(cfg)
    with pytest.raises(ConfigError, match="E472"):
        pretrain(_cfg(corpus_file, tmp_path / "g", tokenizer=str(vocab_dir), max_steps=4, save_every=2, lr=1e-4), resume=True)
    # more steps on resume would change the LR schedule mid-run: a new stage (--init) instead (see the E472 test below)
    with pytest.raises(ConfigError, match="E472.*max_steps.*--init"):
        pretrain(_cfg(corpus_file, tmp_path / "g", tokenizer=str(vocab_dir), max_steps=6, save_every=2), resume=True)


@pytest.mark.parametrize("halt", [3, 6])
def test_resume_of_a_continued_run_with_head_warmup_is_exact(corpus_file, headless_bert, tmp_path, halt):
    """The BioBERT start point (a checkpoint without an MLM head, the head warmed up on the frozen encoder
    first), stopped before or after the warm-up ends, resumes into the same run as one that never stopped."""
    kw = dict(from_scratch=False, init=str(headless_bert), model_config=None, head_warmup_steps=4, max_steps=9,
              save_every=1000, eval_every=1000)
    a = pretrain(_cfg(corpus_file, tmp_path / "a", **kw))
    pretrain(_cfg(corpus_file, tmp_path / "b", halt_after=halt, **kw))
    b = pretrain(_cfg(corpus_file, tmp_path / "b", **kw), resume=True)
    assert [c["loss"] for c in a["curve"]] == [c["loss"] for c in b["curve"]]
    wa = torch.load(tmp_path / "a" / "checkpoints" / "step-00000009" / "model.pt")
    wb = torch.load(tmp_path / "b" / "checkpoints" / "step-00000009" / "model.pt")
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def test_a_continued_run_without_validation_trains_with_dropout(corpus_file, headless_bert, tmp_path, monkeypatch):
    """A checkpoint loads in eval mode; the step-0 validation used to be what switched dropout on."""
    import torch.nn.functional as F

    modes = []
    real = F.dropout
    monkeypatch.setattr(F, "dropout", lambda x, p=0.5, training=True, inplace=False: modes.append(training) or real(x, p, training, inplace))
    pretrain(_cfg(corpus_file, tmp_path / "r", from_scratch=False, init=str(headless_bert), model_config=None,
                  max_steps=2, val_fraction=0.0))
    assert modes and all(modes)


def test_sigterm_checkpoints_and_stops_at_the_next_step(corpus_file, vocab_dir, tmp_path, monkeypatch):
    import os
    import signal

    from biobert.pretrain import corpus as C

    calls, real = [], C.PretrainStream.take

    def take(self, n):
        calls.append(n)
        if len(calls) == 3:  # during step 3
            os.kill(os.getpid(), signal.SIGTERM)
        return real(self, n)

    monkeypatch.setattr(C.PretrainStream, "take", take)
    before = signal.getsignal(signal.SIGTERM)
    r = pretrain(_cfg(corpus_file, tmp_path / "t", tokenizer=str(vocab_dir), max_steps=8, save_every=1000))
    assert r["step"] == 3 and not r["final"] and r["stopped_by"] == "signal"
    assert latest_checkpoint(tmp_path / "t").name == "step-00000003"
    assert signal.getsignal(signal.SIGTERM) == before
    r = pretrain(_cfg(corpus_file, tmp_path / "t", tokenizer=str(vocab_dir), max_steps=8, save_every=1000), resume=True)
    assert r["final"] and r["stopped_by"] is None


def test_a_max_length_beyond_the_checkpoints_positions_is_e494(corpus_file, headless_bert, tmp_path):
    from transformers import AutoConfig

    from biobert.errors import ConfigError

    limit = AutoConfig.from_pretrained(headless_bert).max_position_embeddings
    with pytest.raises(ConfigError, match=f"E494 pretrain max_length {limit + 8} .* {limit} subwords"):
        pretrain(_cfg(corpus_file, tmp_path / "r", from_scratch=False, init=str(headless_bert), model_config=None,
                      max_length=limit + 8, max_steps=2))


def test_a_corpus_the_vocabulary_cannot_read_says_so(vocab_dir, tmp_path):
    """Text made only of characters the vocabulary lacks becomes [UNK]s, which are never masked: the loss is the
    mean over no positions (NaN), and the error used to advise a lower learning rate."""
    from biobert.errors import TrainingError

    p = tmp_path / "greek.txt"
    p.write_text("".join(f"ωψξ ζηθ λμν {i}\n" for i in range(60)).replace("0", "ω").replace("1", "ψ")
                 .translate(str.maketrans("0123456789", "ωψξζηθλμνπ")), encoding="utf-8")
    with pytest.raises(TrainingError, match="E552 step 1 had no token to predict.*\\[UNK\\]"):
        pretrain(_cfg(p, tmp_path / "r", tokenizer=str(vocab_dir), max_steps=2, val_fraction=0.0))


def test_continuing_with_another_vocabulary_is_refused(corpus_file, headless_bert, vocab_dir, tmp_path):
    """`--init X --tokenizer Y` without --from-scratch trained X's embeddings under another vocabulary (row i
    meant another word) without a word. Only X's own vocabulary is accepted; --from-scratch takes any."""
    from biobert.pretrain.vocab import train_wordpiece

    other = tmp_path / "other_vocab"
    train_wordpiece([corpus_file], other, vocab_size=200, lowercase=False, min_frequency=1)
    kw = dict(from_scratch=False, init=str(headless_bert), model_config=None, max_steps=1, val_fraction=0.0)
    with pytest.raises(ConfigError, match="E466.*not the vocabulary of --init"):
        pretrain(_cfg(corpus_file, tmp_path / "x", tokenizer=str(other), **kw))
    # the init's own vocabulary given explicitly is fine
    r = pretrain(_cfg(corpus_file, tmp_path / "y", tokenizer=str(vocab_dir), **kw))
    assert r["step"] == 1


@pytest.mark.parametrize("change", [dict(max_steps=6), dict(warmup_steps=3), dict(warmup_ratio=0.2), dict(max_grad_norm=0.5),
                                    dict(val_max_examples=8), dict(precision="bf16")])
def test_resume_refuses_a_new_schedule_or_validation(corpus_file, vocab_dir, tmp_path, change):
    """max_steps, warmup, clipping, validation size and precision were taken on --resume: the LR schedule (a
    function of max_steps and the warm-up; the scheduler state keeps only its step) jumped mid-run, and the
    validation curve changed meaning. They are refused; the same settings still resume."""
    kw = dict(tokenizer=str(vocab_dir), max_steps=4, save_every=2, halt_after=2)
    pretrain(_cfg(corpus_file, tmp_path / "r", **kw))
    with pytest.raises(ConfigError, match="E472 .*new stage.*--init"):
        pretrain(_cfg(corpus_file, tmp_path / "r", **{**kw, "halt_after": None, **change}), resume=True)
    r = pretrain(_cfg(corpus_file, tmp_path / "r", **{**kw, "halt_after": None, "precision": "fp32"}), resume=True)
    assert r["step"] == 4 and r["final"]


def test_continuing_an_electra_run_keeps_its_generator(corpus_file, vocab_dir, tmp_path):
    """`--init RUN --objective electra` on a biobert ELECTRA output built a new random generator next to the
    trained discriminator; the run's generator/ is continued, and the report says which one was used."""
    from safetensors.torch import load_file

    first = pretrain(_cfg(corpus_file, tmp_path / "e1", objective="electra", tokenizer=str(vocab_dir), max_steps=2, val_fraction=0.0))
    assert first["start_point"]["generator"] == "new"
    saved = load_file(tmp_path / "e1" / "generator" / "model.safetensors")
    second = pretrain(_cfg(corpus_file, tmp_path / "e2", objective="electra", from_scratch=False, init=str(tmp_path / "e1"),
                           model_config=None, max_steps=1, lr=1e-12, warmup_steps=0, val_fraction=0.0))
    assert second["start_point"]["generator"] == str(tmp_path / "e1" / "generator")
    after = load_file(tmp_path / "e2" / "generator" / "model.safetensors")
    key = next(k for k in saved if k.endswith("encoder.layer.0.attention.self.query.weight"))
    assert torch.allclose(saved[key], after[key], atol=1e-6)


def test_electra_masks_like_electra(vocab_dir, monkeypatch):
    """ELECTRA's generator input: of the chosen positions 85 % are [MASK] and 15 % keep their token, none are
    random (google-research/electra pretrain_helpers.mask); it was 100 % [MASK]."""
    from transformers import AutoTokenizer

    from biobert.pretrain import loop
    from biobert.pretrain.masking import mask_tokens

    tok = AutoTokenizer.from_pretrained(str(vocab_dir))
    captured = {}
    monkeypatch.setattr(loop, "ElectraObjective", lambda gen, disc, spec, pad, w: captured.setdefault("spec", spec))
    bundle = type("Bundle", (), {"generator": None, "model": None})()
    loop._build_objective(PretrainConfig(corpus=["x"], output="y", objective="electra"), bundle, tok)
    s = captured["spec"]
    ids = torch.randint(0, len(tok), (64, 200), generator=torch.Generator().manual_seed(0))
    ids = ids.masked_fill(torch.isin(ids, torch.tensor(s.special_ids)), len(tok) - 1)  # no specials, no [MASK]
    out, positions, targets = mask_tokens(ids, s, torch.Generator().manual_seed(1))
    picked = out[positions]
    is_mask = (picked == s.mask_id).float().mean().item()
    kept = (picked == targets).float().mean().item()
    assert positions.sum() > 1000 and 0.82 < is_mask < 0.88, is_mask
    assert abs((is_mask + kept) - 1.0) < 1e-6  # nothing random
