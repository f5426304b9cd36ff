"""The trainer: loss goes down, resume after a kill equals an uninterrupted run."""

import json
import os
import signal
from collections import Counter

import pytest
import torch

from biobert.tasks.ner import SubwordEncoder, build_features, document_sentences, labels_for_types, ner_collate, ner_loss
from biobert.train import TrainConfig, Trainer, length_grouped_batches
from tests.nerdata import gold_docs


def _setup(tiny_bert):
    from biobert.encoders import load_token_classifier, load_tokenizer

    docs = gold_docs()
    labels = labels_for_types({s.label for d in docs for s in d.spans})
    tok = load_tokenizer(str(tiny_bert))
    torch.manual_seed(0)
    model = load_token_classifier(str(tiny_bert), labels)
    enc = SubwordEncoder(tok)
    sents = [s for i, d in enumerate(docs) for s in document_sentences(d, i, with_gold=True)]
    feats = build_features(sents, [d.text for d in docs], enc, {l: i for i, l in enumerate(labels)}, max_length=32, stride=8)
    return model, feats, enc


def test_length_grouped_batches_are_deterministic_and_complete():
    lengths = [5, 9, 3, 7, 1, 2, 8, 4, 6, 10] * 7
    a = length_grouped_batches(lengths, 4, seed=3)
    assert a == length_grouped_batches(lengths, 4, seed=3)
    assert a != length_grouped_batches(lengths, 4, seed=4)
    assert sorted(i for b in a for i in b) == list(range(len(lengths)))


def _run(tiny_bert, out, max_steps, resume=True, kill_at=None, precision="fp32", term_at=None):
    model, feats, enc = _setup(tiny_bert)
    cfg = TrainConfig(lr=5e-3, epochs=6, batch_size=4, seed=1, checkpoint_every=3, max_steps=max_steps, log_every=1000,
                      precision=precision)
    losses = []

    def loss_fn(m, b):
        l = ner_loss(m, b)
        losses.append(float(l.detach()))
        if kill_at is not None and len(losses) > kill_at:
            raise KeyboardInterrupt  # simulated kill, after the step-`kill_at` checkpoint
        if len(losses) == term_at:  # a scheduler's SIGTERM during step `term_at`
            os.kill(os.getpid(), signal.SIGTERM)
        return l

    tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), loss_fn, None, out, cfg, progress=False)
    # the schedule must be the full run's even when we stop early, so fix total steps
    tr.total_steps = 24
    tr.scheduler = torch.optim.lr_scheduler.LambdaLR(tr.optimizer, lambda s: max(0.0, (24 - s) / 24))
    tr.train(resume=resume)
    return model, losses


def test_loss_decreases(tiny_bert, tmp_path):
    _, losses = _run(tiny_bert, tmp_path / "a", 24)
    assert sum(losses[-5:]) / 5 < 0.85 * sum(losses[:5]) / 5


def test_resume_matches_uninterrupted(tiny_bert, tmp_path):
    straight, _ = _run(tiny_bert, tmp_path / "straight", 12)
    with pytest.raises(KeyboardInterrupt):
        _run(tiny_bert, tmp_path / "killed", 12, kill_at=6)
    assert (tmp_path / "killed" / "checkpoints" / "last" / "state.json").exists()
    resumed, _ = _run(tiny_bert, tmp_path / "killed", 12)
    for (n, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), n


def test_sigterm_saves_a_checkpoint_and_the_run_resumes_exactly(tiny_bert, tmp_path):
    """A scheduler's SIGTERM between checkpoints (every 3 steps here) loses no step: E505, then resume."""
    from biobert.errors import TrainingError

    straight, _ = _run(tiny_bert, tmp_path / "straight", 12)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingError, match="E505 stopped by SIGTERM at step 5"):  # after step 5, not at the step-3 checkpoint
        _run(tiny_bert, tmp_path / "term", 12, term_at=5)
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is removed again
    resumed, losses = _run(tiny_bert, tmp_path / "term", 12)
    assert len(losses) == 7  # steps 6-12 only
    for (n, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), n


def test_bf16_autocast_trains_and_keeps_fp32_weights(tiny_bert, tmp_path):
    # the mixed-precision path that GPUs use, exercised on the CPU (where bf16 autocast also exists)
    model, losses = _run(tiny_bert, tmp_path / "bf16", 24, precision="bf16")
    assert sum(losses[-5:]) / 5 < 0.85 * sum(losses[:5]) / 5
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_device_and_precision_are_checked(tiny_bert, tmp_path):
    from biobert.device import place, resolve_device
    from biobert.errors import ConfigError

    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto").type in ("cpu", "mps")
        with pytest.raises(ConfigError, match="E560"):
            resolve_device("cuda")
    with pytest.raises(ConfigError, match="E560"):
        resolve_device("tpu-please")
    model, feats, enc = _setup(tiny_bert)
    with pytest.raises(ConfigError, match="E561"):  # fp16 needs loss scaling on a GPU
        Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), ner_loss, None, tmp_path, TrainConfig(device="cpu", precision="fp16"))
    with pytest.raises(ConfigError, match="E561"):
        Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), ner_loss, None, tmp_path, TrainConfig(precision="fp64"))
    assert next(place(model, "cpu", "bf16").parameters()).dtype == torch.bfloat16


def test_out_of_memory_names_the_batch_and_the_fix(tiny_bert, tmp_path):
    from biobert.errors import TrainingError

    model, feats, enc = _setup(tiny_bert)

    def oom(m, b):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), oom, None, tmp_path, TrainConfig(batch_size=4, log_every=1000), progress=False)
    with pytest.raises(TrainingError, match=r"E503 .*batch of 4 x \d+ tokens.*batch_size=2 --set train.grad_accum=2"):
        tr.train(resume=False)


def test_resume_with_other_labels_or_batches_is_a_typed_error(tiny_bert, tmp_path):
    # an unfinished checkpoint resumed with another label set used to fail with a raw size-mismatch RuntimeError,
    # and with another batch size it silently skipped the wrong batches
    from biobert.errors import TrainingError

    model, feats, enc = _setup(tiny_bert)
    cfg = TrainConfig(lr=5e-3, epochs=2, batch_size=4, seed=1, checkpoint_every=2, max_steps=2, log_every=1000)
    Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), ner_loss, None, tmp_path, cfg, progress=False,
            fingerprint={"labels": ["O", "B-A", "I-A"]}).train()
    assert (tmp_path / "checkpoints" / "last" / "fingerprint.json").exists()

    def again(fingerprint, **kw):
        m, f, e = _setup(tiny_bert)
        c = TrainConfig(**{**cfg.__dict__, "max_steps": 4, **kw})
        return Trainer(m, f, lambda b: ner_collate(b, e.pad_id), ner_loss, None, tmp_path, c, progress=False, fingerprint=fingerprint)

    with pytest.raises(TrainingError, match=r"E504 .*labels: .*--no-resume"):
        again({"labels": ["O", "B-A", "I-A", "B-B", "I-B"]}).train()
    with pytest.raises(TrainingError, match=r"E504 .*train\.batch_size: 4 -> 2"):
        again({"labels": ["O", "B-A", "I-A"]}, batch_size=2).train()
    # how often it logs or checkpoints does not change what it learns
    s = again({"labels": ["O", "B-A", "I-A"]}, max_steps=2, log_every=7, checkpoint_every=5).train()
    assert s["resume_check"] == "verified"
    # a checkpoint from before a training setting existed resumes while that setting is at its default
    fp_file = tmp_path / "checkpoints" / "last" / "fingerprint.json"
    saved = json.loads(fp_file.read_text())
    del saved["train.layer_decay"]
    fp_file.write_text(json.dumps(saved))
    assert again({"labels": ["O", "B-A", "I-A"]}, max_steps=2).train()["resume_check"] == "verified"
    with pytest.raises(TrainingError, match=r"E504 .*train\.layer_decay: '<unset>' -> 0\.5"):
        again({"labels": ["O", "B-A", "I-A"]}, max_steps=2, layer_decay=0.5).train()
    # a checkpoint from before fingerprints: resumed, but the summary says it was not verified
    (tmp_path / "checkpoints" / "last" / "fingerprint.json").unlink()
    s = again({"labels": ["O", "B-A", "I-A"]}, max_steps=2).train()
    assert s["resume_check"].startswith("unverified")


def test_half_precision_attention_is_kept_off_cudnn_on_gpus():
    # cuDNN attention rebuilt a graph per new batch shape: bf16 fine-tuning ran 4x slower than fp32 on an H200
    import torch

    from biobert.device import half_precision_attention

    before = torch.backends.cuda.cudnn_sdp_enabled()
    try:
        torch.backends.cuda.enable_cudnn_sdp(True)
        half_precision_attention(torch.device("cpu"))
        assert torch.backends.cuda.cudnn_sdp_enabled()  # the CPU has no such backend: nothing to change
        half_precision_attention(torch.device("cuda"))
        assert not torch.backends.cuda.cudnn_sdp_enabled()
    finally:
        torch.backends.cuda.enable_cudnn_sdp(before)


def test_layer_lr_scales_follow_depth():
    from biobert.train import layer_lr_scales

    names = ["bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight",
             "bert.encoder.layer.1.output.dense.bias", "classifier.weight"]
    s = layer_lr_scales(names, 0.5)
    # two layers: head 1, layer 1 (top) 0.5, layer 0 0.25, embeddings 0.125
    assert [s[n] for n in names] == [0.125, 0.25, 0.5, 1.0]
    assert set(layer_lr_scales(names, 1.0).values()) == {1.0}


def test_layer_decay_without_layer_names_is_a_typed_error():
    from biobert.errors import ConfigError
    from biobert.train import layer_lr_scales

    with pytest.raises(ConfigError, match="E410"):
        layer_lr_scales(["albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight", "classifier.weight"], 0.8)


def test_layer_decay_sets_the_optimizer_groups_and_still_trains(tiny_bert, tmp_path):
    model, feats, enc = _setup(tiny_bert)
    cfg = TrainConfig(lr=1e-3, epochs=2, batch_size=4, seed=1, log_every=1000, layer_decay=0.5, warmup_ratio=0.0)
    losses = []

    def loss_fn(m, b):
        l = ner_loss(m, b)
        losses.append(float(l.detach()))
        return l

    tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), loss_fn, None, tmp_path / "run", cfg, progress=False)
    lrs = sorted({g["lr"] for g in tr.optimizer.param_groups}, reverse=True)
    n_layers = model.config.num_hidden_layers
    assert lrs == pytest.approx([1e-3 * 0.5**k for k in range(n_layers + 2)])
    by_param = {id(p): g["lr"] for g in tr.optimizer.param_groups for p in g["params"]}
    assert by_param[id(model.classifier.weight)] == pytest.approx(1e-3)
    assert by_param[id(model.base_model.embeddings.word_embeddings.weight)] == pytest.approx(1e-3 * 0.5 ** (n_layers + 1))
    tr.train(resume=False)
    assert sum(losses[-3:]) < sum(losses[:3])


def test_lr_multipliers_stack_on_layer_decay_and_a_prefix_that_matches_nothing_is_refused(tiny_bert, tmp_path):
    """A CRF head trains with the encoder: its scores get ``lr * multiplier``, on top of layer decay, and the CRF
    loss trains through the trainer (the transitions move)."""
    from biobert.errors import ConfigError
    from biobert.tasks.crf import CRFTagger

    model, feats, enc = _setup(tiny_bert)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    net = CRFTagger(model, labels)
    cfg = TrainConfig(lr=1e-3, epochs=1, batch_size=4, seed=1, log_every=1000, layer_decay=0.5, warmup_ratio=0.0)
    collate = lambda b: ner_collate(b, enc.pad_id)
    loss = lambda m, b: ner_loss(m, b, crf=True)
    tr = Trainer(net, feats, collate, loss, None, tmp_path / "run", cfg, progress=False, lr_multipliers={"crf.": 100.0})
    by_param = {id(p): g["lr"] for g in tr.optimizer.param_groups for p in g["params"]}
    assert by_param[id(net.crf.transitions)] == pytest.approx(0.1)
    assert by_param[id(model.classifier.weight)] == pytest.approx(1e-3)
    assert by_param[id(model.base_model.embeddings.word_embeddings.weight)] == pytest.approx(1e-3 * 0.5 ** (model.config.num_hidden_layers + 1))
    tr.train(resume=False)
    assert float(net.crf.transitions.detach().abs().max()) > 0.05
    with pytest.raises(ConfigError, match="E411 .*'head.'"):
        Trainer(net, feats, collate, loss, None, tmp_path / "other", cfg, progress=False, lr_multipliers={"head.": 2.0})


def test_layer_decay_is_range_checked():
    from biobert.errors import ConfigError

    with pytest.raises(ConfigError, match="layer_decay"):
        TrainConfig(layer_decay=1.5).validate()
    with pytest.raises(ConfigError, match="layer_decay"):
        TrainConfig(layer_decay=0.0).validate()


def _averaging_run(tiny_bert, out, average_last, evaluate=None, kill_at=None):
    """3 epochs; ``evaluate`` sees the weights at every epoch end; returns the final model and the summary."""
    model, feats, enc = _setup(tiny_bert)
    cfg = TrainConfig(lr=5e-3, epochs=3, batch_size=4, seed=1, checkpoint_every=1, log_every=1000, average_last=average_last)
    steps = []

    def loss_fn(m, b):
        steps.append(1)
        if kill_at is not None and len(steps) > kill_at:
            raise KeyboardInterrupt  # after the step-`kill_at` checkpoint
        return ner_loss(m, b)

    tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), loss_fn, evaluate, out, cfg, progress=False)
    return model, tr.train(), tr.steps_per_epoch


def _snapshots():
    seen: list[dict[str, torch.Tensor]] = []

    def evaluate(m):
        seen.append({k: v.detach().clone() for k, v in m.state_dict().items()})
        return {"f1": -float(len(seen))}  # each epoch worse than the one before: the first is the best epoch

    return seen, evaluate


def test_weight_averaging_without_dev_keeps_the_mean_of_the_last_epochs(tiny_bert, tmp_path):
    from safetensors.torch import load_file

    seen, record = _snapshots()
    plain, s0, _ = _averaging_run(tiny_bert, tmp_path / "plain", 0, record)  # same seed: the same trajectory
    assert len(seen) == 3 and s0["averaged_epochs"] == 0 and not s0["best_is_average"]
    avg, s, _ = _averaging_run(tiny_bert, tmp_path / "avg", 2)
    assert s["averaged_epochs"] == 2 and s["best_is_average"]
    moved = 0
    for k, v in avg.state_dict().items():
        want = (seen[1][k] + seen[2][k]) / 2 if v.is_floating_point() else seen[2][k]
        assert torch.allclose(v, want, atol=1e-6), k
        moved += int(not torch.allclose(seen[1][k], seen[2][k]))
    assert moved  # the two epochs differ, so the average is neither of them
    # the last epoch's own weights stay in the resumable checkpoint, for comparison
    last = load_file(str(tmp_path / "avg" / "checkpoints" / "last" / "model.safetensors"))
    k = next(k for k in last if not torch.allclose(seen[1][k], seen[2][k]))
    assert torch.allclose(last[k], seen[2][k], atol=1e-6)


def test_weight_average_competes_with_the_best_dev_epoch(tiny_bert, tmp_path):
    seen, record = _snapshots()
    model, s, _ = _averaging_run(tiny_bert, tmp_path / "worse", 3, record)
    # epochs score -1, -2, -3 and the average -4: the first epoch is kept
    assert len(seen) == 4 and not s["best_is_average"] and s["best_dev"] == -1.0
    assert s["history"][-1]["average_of_epochs"] == 3
    k = next(k for k in seen[0] if not torch.allclose(seen[0][k], seen[3][k]))
    assert torch.allclose(model.state_dict()[k], seen[0][k], atol=1e-6)
    mean = {k: (seen[0][k] + seen[1][k] + seen[2][k]) / 3 for k in seen[0] if seen[0][k].is_floating_point()}
    assert all(torch.allclose(seen[3][k], v, atol=1e-6) for k, v in mean.items())  # what was scored is the mean

    calls: list[int] = []

    def better(m):  # the epochs score 0, the average (the 4th evaluation) 1
        calls.append(1)
        return {"f1": 1.0 if len(calls) == 4 else 0.0}

    model, s, _ = _averaging_run(tiny_bert, tmp_path / "better", 3, better)
    assert s["best_is_average"] and s["best_dev"] == 1.0
    for k, v in model.state_dict().items():
        if v.is_floating_point():
            assert torch.allclose(v, mean[k], atol=1e-6), k


def test_weight_averaging_resumes_exactly(tiny_bert, tmp_path):
    straight, _, per_epoch = _averaging_run(tiny_bert, tmp_path / "straight", 2)
    with pytest.raises(KeyboardInterrupt):  # killed in epoch 3, after the epoch-2 weights joined the average
        _averaging_run(tiny_bert, tmp_path / "killed", 2, kill_at=2 * per_epoch + 1)
    assert (tmp_path / "killed" / "checkpoints" / "last" / "average.safetensors").exists()
    resumed, s, _ = _averaging_run(tiny_bert, tmp_path / "killed", 2)
    assert s["averaged_epochs"] == 2
    for (n, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), n


def test_average_last_is_range_checked():
    from biobert.errors import ConfigError

    with pytest.raises(ConfigError, match=r"train\.average_last"):
        TrainConfig(epochs=3, average_last=4).validate()
    with pytest.raises(ConfigError, match=r"train\.average_last"):
        TrainConfig(average_last=-1).validate()
    TrainConfig(epochs=3, average_last=3).validate()


def test_a_run_stopped_before_the_averaging_window_says_so(tiny_bert, tmp_path, caplog):
    model, feats, enc = _setup(tiny_bert)
    cfg = TrainConfig(lr=5e-3, epochs=3, batch_size=4, seed=1, max_steps=2, log_every=1000, average_last=2)
    tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), ner_loss, None, tmp_path, cfg, progress=False)
    with caplog.at_level("WARNING", logger="biobert.train"):
        s = tr.train()
    assert s["averaged_epochs"] == 0 and not s["best_is_average"]
    assert "average_last=2, but only 0 epoch end(s)" in caplog.text


def _fgm_run(tiny_bert, out, eps, kill_at=None, max_steps=4):
    """``max_steps`` steps with FGM; records, for every loss call, the embedding matrix and its gradient at that call."""
    model, feats, enc = _setup(tiny_bert)
    cfg = TrainConfig(lr=5e-3, epochs=2, batch_size=4, seed=1, checkpoint_every=1, max_steps=max_steps, log_every=1000,
                      adversarial_epsilon=eps)
    calls = []

    def loss_fn(m, b):
        emb = model.get_input_embeddings().weight
        calls.append((emb.detach().clone(), None if emb.grad is None else emb.grad.detach().clone()))
        if kill_at is not None and len(calls) > kill_at:
            raise KeyboardInterrupt  # after the step-`kill_at // 2` checkpoint
        return ner_loss(m, b)

    tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), loss_fn, None, out, cfg, progress=False)
    tr.train()
    return model, calls


def test_fgm_moves_the_embeddings_by_epsilon_along_the_gradient_and_restores_them(tiny_bert, tmp_path):
    model, calls = _fgm_run(tiny_bert, tmp_path / "fgm", 0.5)
    assert len(calls) == 8  # a clean and an adversarial pass per step
    for k in range(0, 8, 2):
        (clean, g0), (adv, g) = calls[k], calls[k + 1]
        assert g0 is None  # gradients are cleared between optimizer steps
        r = adv - clean
        assert torch.linalg.vector_norm(r).item() == pytest.approx(0.5, rel=1e-4)
        assert torch.allclose(r, 0.5 * g / torch.linalg.vector_norm(g), atol=1e-7)
    # rows of tokens absent from a batch have no gradient, so they are not perturbed
    assert (calls[1][0] == calls[0][0]).all(dim=1).any()


def test_fgm_restores_the_embeddings_exactly_and_adds_its_gradient(tiny_bert, tmp_path):
    model, feats, enc = _setup(tiny_bert)
    tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), ner_loss, None, tmp_path,
                 TrainConfig(adversarial_epsilon=1.0), progress=False)
    batch = ner_collate(feats[:4], enc.pad_id)
    ner_loss(model, batch).backward()
    emb = model.get_input_embeddings().weight
    before, g_clean = emb.detach().clone(), emb.grad.clone()
    tr._adversarial_backward(batch, 1.0)
    assert torch.equal(emb, before)  # bit for bit: copied back, not subtracted
    assert not torch.allclose(emb.grad, g_clean)  # the adversarial gradient was added


def test_fgm_changes_the_update_and_zero_turns_it_off(tiny_bert, tmp_path):
    plain, calls0 = _fgm_run(tiny_bert, tmp_path / "plain", 0.0)
    fgm, _ = _fgm_run(tiny_bert, tmp_path / "fgm", 1.0)
    assert len(calls0) == 4
    emb = lambda m: m.get_input_embeddings().weight
    assert not torch.allclose(emb(plain), emb(fgm))


def test_fgm_resumes_exactly(tiny_bert, tmp_path):
    straight, _ = _fgm_run(tiny_bert, tmp_path / "straight", 1.0)
    with pytest.raises(KeyboardInterrupt):
        _fgm_run(tiny_bert, tmp_path / "killed", 1.0, kill_at=5)  # in step 3, after the step-2 checkpoint
    resumed, _ = _fgm_run(tiny_bert, tmp_path / "killed", 1.0)
    for (n, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), n


def test_adversarial_epsilon_is_range_checked():
    from biobert.errors import ConfigError

    with pytest.raises(ConfigError, match=r"train\.adversarial_epsilon"):
        TrainConfig(adversarial_epsilon=-0.1).validate()
    TrainConfig(adversarial_epsilon=1.0).validate()


def test_dropout_sets_every_dropout_layer_and_the_config(tiny_bert, tmp_path):
    from biobert.train import set_dropout

    model, feats, enc = _setup(tiny_bert)
    drops = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops and all(m.p == pytest.approx(0.1) for m in drops)  # the fixture's BertConfig default
    cfg = TrainConfig(lr=5e-3, epochs=1, batch_size=4, seed=1, log_every=1000, dropout=0.0)
    Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), ner_loss, None, tmp_path, cfg, progress=False)
    assert all(m.p == 0.0 for m in drops)
    assert model.config.hidden_dropout_prob == 0.0 and model.config.attention_probs_dropout_prob == 0.0
    assert model.config.classifier_dropout == 0.0  # None ("use hidden_dropout_prob") in the checkpoint
    # with every dropout off, two training-mode forwards agree; at 0.5 they do not
    model.train()
    batch = ner_collate(feats[:4], enc.pad_id)
    run = lambda: model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert torch.equal(run(), run())
    assert set_dropout(model, 0.5) == len(drops)
    assert not torch.equal(run(), run())
    model.save_pretrained(tmp_path / "saved")
    saved = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert saved["hidden_dropout_prob"] == 0.5 and saved["attention_probs_dropout_prob"] == 0.5


def test_dropout_on_a_model_without_dropout_is_a_typed_error_and_the_value_is_range_checked():
    from biobert.errors import ConfigError, TrainingError
    from biobert.train import set_dropout

    with pytest.raises(TrainingError, match="E506"):
        set_dropout(torch.nn.Linear(2, 2), 0.1)
    with pytest.raises(ConfigError, match=r"train\.dropout"):
        TrainConfig(dropout=1.0).validate()
    with pytest.raises(ConfigError, match=r"train\.dropout"):
        TrainConfig(dropout=-0.1).validate()
    TrainConfig(dropout=0.0).validate()


def test_describe_lists_the_basics_and_only_the_regularisers_that_are_on():
    from biobert.train import describe

    assert describe(TrainConfig(lr=2e-4, batch_size=32, epochs=8, seed=3)) == "lr 0.0002, batch 32, epochs 8, seed 3"
    line = describe(TrainConfig(layer_decay=0.8, average_last=3, adversarial_epsilon=1.0, dropout=0.0))
    assert "layer-wise lr decay 0.8" in line and "last 3 epochs" in line and "epsilon 1.0" in line
    assert line.endswith("; dropout 0.0")  # 0.0 is a setting, not "off"
    assert "at most 2 optimizer steps" in describe(TrainConfig(max_steps=2))


def test_a_run_stopped_by_max_steps_inside_an_epoch_is_still_scored_on_dev(tiny_bert, tmp_path):
    """Per-epoch evaluation with max_steps ending the first epoch early: the run was never scored on dev
    (best step -1), and a run without dev kept the weights of the last epoch end instead of the final ones."""
    model, feats, enc = _setup(tiny_bert)
    calls = []
    cfg = TrainConfig(lr=5e-3, epochs=3, batch_size=4, seed=1, max_steps=2, log_every=1000)
    tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), ner_loss, lambda m: calls.append(1) or {"f1": 0.5},
                 tmp_path / "dev", cfg, progress=False)
    assert tr.steps_per_epoch > 2
    summary = tr.train()
    assert len(calls) == 1 and tr.state.best_step == 2 and tr.state.history[-1]["step"] == 2, summary
    model, feats, enc = _setup(tiny_bert)
    tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), ner_loss, None, tmp_path / "nodev", cfg, progress=False)
    tr.train()
    final = {k: v.clone() for k, v in model.state_dict().items()}
    tr.load_best()  # what the saved model directory would hold
    assert all(torch.equal(final[k], v) for k, v in model.state_dict().items())


def test_two_spellings_of_one_path_are_the_same_setting_for_resume(tmp_path, monkeypatch):
    from biobert.train import _same_setting

    (tmp_path / "enc").mkdir()
    monkeypatch.chdir(tmp_path)
    assert _same_setting("enc", str(tmp_path / "enc")) and _same_setting("./enc/", "enc")
    assert not _same_setting("enc", "other") and not _same_setting("minilm", "enc") and not _same_setting(1, "1")


@pytest.mark.parametrize("patience, evals", [(1, 2), (2, 3)])
def test_early_stopping_stops_after_patience_evaluations_without_improvement(tiny_bert, tmp_path, patience, evals):
    model, feats, enc = _setup(tiny_bert)
    scores = iter([0.5, 0.4, 0.3, 0.2, 0.1])
    cfg = TrainConfig(lr=5e-3, epochs=5, batch_size=4, seed=1, log_every=1000, patience=patience)
    tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), ner_loss, lambda m: {"f1": next(scores)},
                 tmp_path / "es", cfg, progress=False)
    summary = tr.train(resume=False)
    # once per epoch: the first evaluation is the best, and `patience` worse ones stop the run
    assert len(summary["history"]) == evals and summary["epochs_completed"] == evals
    assert summary["best_step"] == summary["history"][0]["step"]


def _probe_trainer(tmp_path, xs, **cfg_kw):
    """A one-weight model whose loss is mean(w * x): its gradient is the mean of the batch's x, so what reaches
    the optimizer (accumulation, clipping) and in which order the examples come can be read off exactly."""
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1, bias=False)
    feats = [{"input_ids": [0], "x": float(x)} for x in xs]
    seen: list[list[float]] = []

    def loss_fn(m, b):
        seen.append(b["x"].tolist())
        return (m.weight[0, 0] * b["x"]).mean()

    collate = lambda b: {"input_ids": torch.zeros(len(b), 1, dtype=torch.long), "x": torch.tensor([f["x"] for f in b])}  # noqa: E731
    cfg = TrainConfig(**{"lr": 0.1, "epochs": 1, "batch_size": 1, "seed": 2, "log_every": 1000, "device": "cpu",
                         "checkpoint_every": 10_000, **cfg_kw})
    tr = Trainer(model, feats, collate, loss_fn, None, tmp_path, cfg, progress=False)
    grads, lrs = [], []
    step = tr.optimizer.step

    def spy(*a, **k):  # what the optimizer is given: the clipped, accumulated gradient and the scheduled rate
        grads.append(float(model.weight.grad[0, 0]))
        lrs.append(tr.optimizer.param_groups[0]["lr"])
        return step(*a, **k)

    tr.optimizer.step = spy
    tr.train(resume=False)
    return seen, grads, lrs


def test_gradients_are_accumulated_as_a_mean_clipped_and_the_last_partial_group_steps(tmp_path):
    seen, grads, _ = _probe_trainer(tmp_path / "a", [0.1, 0.2, 0.3], grad_accum=2, max_grad_norm=100.0)
    order = [x[0] for x in seen]
    # two micro-batches per step: their mean (not their sum); the third batch alone still makes a step
    assert len(grads) == 2
    assert grads[0] == pytest.approx((order[0] + order[1]) / 2) and grads[1] != 0
    _, grads, _ = _probe_trainer(tmp_path / "b", [30.0, 40.0], max_grad_norm=1.0)
    assert all(abs(g) == pytest.approx(1.0) for g in grads)  # clipped to the norm


def test_learning_rate_warms_up_linearly_then_decays_to_zero(tmp_path):
    _, _, lrs = _probe_trainer(tmp_path, [0.1] * 8, warmup_ratio=0.25)
    # 8 steps, 2 of warm-up: 0.05, 0.1, then linear decay over the other 6
    assert lrs == pytest.approx([0.05, 0.1, 0.1, 0.1 * 5 / 6, 0.1 * 4 / 6, 0.1 * 3 / 6, 0.1 * 2 / 6, 0.1 * 1 / 6])


def test_examples_come_shuffled_and_in_another_order_each_epoch(tmp_path):
    xs = [float(i) for i in range(12)]
    seen, _, _ = _probe_trainer(tmp_path, xs, epochs=2, batch_size=3)
    first, second = [x for b in seen[:4] for x in b], [x for b in seen[4:] for x in b]
    assert sorted(first) == sorted(second) == xs  # every example once per epoch
    assert first != xs and first != second  # shuffled, and reshuffled per epoch


def test_length_grouped_batches_shuffle_within_length_groups_and_reorder_the_batches_per_seed():
    """Survivor TR6: examples are shuffled before the length sort (so equal lengths are batched differently per seed,
    and without grouping the order is random), and the batches of a length group come in a shuffled order (not
    longest first). The same seed gives the same batches; the trainer's seed changes every epoch."""
    distinct = list(range(1, 41))
    runs = {s: length_grouped_batches(distinct, 4, seed=s) for s in range(4)}
    for s, batches in runs.items():
        assert batches == length_grouped_batches(distinct, 4, seed=s)
        assert sorted(i for b in batches for i in b) == list(range(40))
        # grouped: every batch holds 4 neighbouring lengths (little padding) ...
        assert all(max(distinct[i] for i in b) - min(distinct[i] for i in b) == 3 for b in batches)
        # ... but the batches do not come longest first
        tops = [max(distinct[i] for i in b) for b in batches]
        assert tops != sorted(tops, reverse=True), s
    assert len({tuple(map(tuple, b)) for b in runs.values()}) == len(runs)  # another order for every seed

    # equal lengths: which examples share a batch is decided by the shuffle, not by their index
    same = [7] * 40
    sequential = {frozenset(range(k, k + 4)) for k in range(0, 40, 4)}
    memberships = [{frozenset(b) for b in length_grouped_batches(same, 4, seed=s)} for s in range(3)]
    assert all(m != sequential for m in memberships) and memberships[0] != memberships[1]

    # without grouping the order is a plain shuffle
    plain = [[i for b in length_grouped_batches(distinct, 4, seed=s, group=False) for i in b] for s in range(2)]
    assert plain[0] != list(range(40)) and plain[0] != plain[1] and sorted(plain[0]) == list(range(40))


def _run_summary(tiny_bert, out, max_steps, resume=True, kill_at=None):
    """:func:`_run`, returning the trainer's summary too."""
    model, feats, enc = _setup(tiny_bert)
    cfg = TrainConfig(lr=5e-3, epochs=6, batch_size=4, seed=1, checkpoint_every=3, max_steps=max_steps, log_every=1000)
    losses = []

    def loss_fn(m, b):
        l = ner_loss(m, b)
        losses.append(float(l.detach()))
        if kill_at is not None and len(losses) > kill_at:
            raise KeyboardInterrupt
        return l

    tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), loss_fn, None, out, cfg, progress=False)
    tr.total_steps = 24
    tr.scheduler = torch.optim.lr_scheduler.LambdaLR(tr.optimizer, lambda s: max(0.0, (24 - s) / 24))
    return model, losses, tr.train(resume=resume)


def test_a_kill_between_the_checkpoint_renames_neither_blocks_saving_nor_restarts_the_run(tiny_bert, tmp_path):
    """Saving renames last -> last.old, last.tmp -> last, then deletes last.old. A kill after the 2nd rename left a
    stale last.old on which every later save failed (untyped OSError "Directory not empty", --no-resume too); a kill
    after the 1st left only last.old, and the run silently started over at step 0."""
    import shutil

    straight, _, _ = _run_summary(tiny_bert, tmp_path / "straight", 12)
    killed = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        _run_summary(tiny_bert, killed, 12, kill_at=6)
    ckpt = killed / "checkpoints"
    shutil.copytree(ckpt, tmp_path / "at-step-6")
    # killed after the 2nd rename: a stale last.old beside last
    shutil.copytree(ckpt / "last", ckpt / "last.old")
    resumed, losses, summary = _run_summary(tiny_bert, killed, 12)
    assert len(losses) == 6 and summary["resumed_from"] == "last" and summary["steps"] == 12
    assert not (ckpt / "last.old").exists()
    for (n, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), n
    # ... and a fresh start (--no-resume) over it saves too
    shutil.copytree(ckpt / "last", ckpt / "last.old")
    _run_summary(tiny_bert, killed, 3, resume=False)
    assert json.loads((ckpt / "last" / "state.json").read_text())["global_step"] == 3 and not (ckpt / "last.old").exists()
    # killed after the 1st rename: only last.old (complete) and a half-written last.tmp
    shutil.rmtree(ckpt)
    shutil.copytree(tmp_path / "at-step-6", ckpt)
    (ckpt / "last").rename(ckpt / "last.old")
    (ckpt / "last.tmp").mkdir()
    resumed, losses, summary = _run_summary(tiny_bert, killed, 12)
    assert len(losses) == 6, "restarted from step 0"
    assert summary["resumed_from"] == "last.old" and summary["resume_check"] == "verified" and summary["steps"] == 12
    assert (ckpt / "last" / "state.json").exists() and not (ckpt / "last.old").exists()
    for (n, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), n


@pytest.mark.parametrize("with_dev", [False, True])
def test_a_run_killed_after_its_max_steps_checkpoint_resumes_without_an_extra_step(tiny_bert, tmp_path, monkeypatch, with_dev):
    """The checkpoint at max_steps is written inside the loop; a kill before the final one left the max_steps check
    to after the next step, so the resumed run made step 13 of 12 (at lr 0, moments and RNG advanced, more tokens),
    and with eval_every dividing max_steps it evaluated step 12 a second time."""
    def run(out, kill=False):
        model, feats, enc = _setup(tiny_bert)
        cfg = TrainConfig(lr=5e-3, epochs=6, batch_size=4, seed=1, checkpoint_every=3, max_steps=12, log_every=1000,
                          eval_every=4 if with_dev else None)
        losses = []

        def loss_fn(m, b):
            losses.append(1)
            return ner_loss(m, b)

        scores = iter([0.1 * i for i in range(1, 20)])
        tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), loss_fn,
                     (lambda m: {"f1": next(scores)}) if with_dev else None, out, cfg, progress=False)
        if kill:
            save = Trainer.save_checkpoint

            def save_then_die(self):
                save(self)
                if self.state.global_step == 12 and not self.state.finished:
                    raise KeyboardInterrupt  # killed right after the in-loop checkpoint of step 12

            monkeypatch.setattr(Trainer, "save_checkpoint", save_then_die)
        try:
            return model, losses, tr.train()
        finally:
            monkeypatch.undo()

    straight, _, s_sum = run(tmp_path / "straight")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "killed", kill=True)
    resumed, losses, r_sum = run(tmp_path / "killed")
    assert losses == [] and r_sum["steps"] == s_sum["steps"] == 12
    assert r_sum["tokens_seen"] == s_sum["tokens_seen"] and r_sum["history"] == s_sum["history"]
    assert r_sum["best_step"] == s_sum["best_step"]
    for (n, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), n
