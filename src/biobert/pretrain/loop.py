"""The pre-training loop: one function, :func:`pretrain`, driven by a :class:`PretrainConfig`.

* AdamW (no decay on biases and LayerNorm), linear warm-up then linear decay to 0,
  gradient clipping, gradient accumulation.
* Distributed through ``accelerate`` (DDP; NCCL on GPUs, gloo on CPUs); launch with
  ``torchrun --nproc_per_node N -m biobert.pretrain --corpus ... --output ...`` or
  ``accelerate launch --multi_gpu --num_processes N -m biobert.pretrain ...`` (add ``--cpu`` to
  run the processes on CPUs with gloo; ``accelerate launch --cpu`` alone starts one process).
  Each process reads its own shard of documents; the effective batch is
  ``batch_size x processes x grad_accum`` sequences.
* Checkpoints every ``save_every`` steps under ``<output>/checkpoints/step-N/``: model,
  optimizer, scheduler, trainer state (curve, tokens, time) and, per process, the RNG states
  (python, numpy, torch) and the exact data position. ``resume=True`` continues the latest
  complete checkpoint; the continuation is bit-identical to an uninterrupted run on the same
  hardware and thread count.
* Validation perplexity (MLM; + SOP / discriminator accuracy) every ``eval_every`` steps on
  a fixed held-out slice with fixed masks.
* Output: ``<output>`` is a Hugging Face encoder directory (config, safetensors, tokenizer),
  refreshed at every checkpoint, plus ``report.json`` and ``curve.png``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import shutil
import signal
import sys
import time
import typing
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from biobert.errors import ConfigError, TrainingError
from biobert.pretrain.corpus import (
    PretrainStream,
    encoding_warning,
    expand_path,
    file_fingerprints,
    resolve_corpus,
    restore_skipped,
    scan_encoding,
    skipped_records,
    validation_examples,
)
from biobert.pretrain.models import (
    ModelBundle,
    build_models,
    electra_generator_dir,
    load_tokenizer,
    resolve_init,
    save_encoder,
)
from biobert.pretrain.objectives import ElectraObjective, MLMObjective, SOPObjective, make_mask_spec
from biobert.pretrain.report import plot_curve, versions, write_model_card, write_report
from biobert.train import StopSignals

__all__ = ["PretrainConfig", "pretrain", "load_run_config", "latest_checkpoint", "OBJECTIVE_ALIASES"]

OBJECTIVE_ALIASES = {
    "mlm": "mlm",
    "bert": "mlm",
    "sop": "sop",
    "mlm+sop": "sop",
    "albert": "sop",
    "electra": "electra",
    "rtd": "electra",
}

# settings that define the run: they must not change when resuming
CRITICAL_FIELDS = (
    "corpus",
    "objective",
    "whole_word_mask",
    "init",
    "from_scratch",
    "tokenizer",
    "vocab_size",
    "lowercase",
    "model_size",
    "model_config",
    "generator_scale",
    "disc_weight",
    "format",
    "text_field",
    "max_length",
    "cross_document",
    "batch_size",
    "grad_accum",
    "lr",
    "weight_decay",
    # restored from the optimizer state on resume: a new value would be reported but not used
    "adam_beta1",
    "adam_beta2",
    "adam_eps",
    "mask_prob",
    "val_fraction",
    "shuffle_buffer",
    "seed",
    # the LR schedule is a function of these (the scheduler state saves only its step): a new value changed the
    # learning rate in the middle of the run; the others change what is validated or how the steps are computed
    "max_steps",
    "warmup_steps",
    "warmup_ratio",
    "head_warmup_steps",
    "max_grad_norm",
    "val_max_examples",
    "precision",
)


@dataclass
class PretrainConfig:
    """Every setting of a pre-training run (YAML keys and CLI options have the same names).

    The defaults suit continued MLM of a small encoder on a CPU; see
    ``configs/pretrain/*.yaml`` for complete examples.
    """

    corpus: list[str] = field(default_factory=list)  # files, directories or globs; $BIOBERT_DATA expands
    output: str = "runs/pretrain/run"
    objective: str = "mlm"  # mlm | sop (mlm+sop, albert) | electra
    whole_word_mask: bool = False
    # start point
    init: str | None = "default"  # checkpoint to continue ("default" = all-MiniLM-L6-v2)
    from_scratch: bool = False
    tokenizer: str | None = None  # tokenizer dir for --from-scratch (else one is trained on the corpus)
    vocab_size: int = 30522  # for the on-the-fly vocabulary
    lowercase: bool = True
    model_size: str = "small"  # tiny | mini | small | medium | base (from scratch)
    model_config: dict | str | None = None  # config overrides (dict or JSON/YAML file)
    generator_scale: float = 0.25  # ELECTRA generator size / discriminator size
    disc_weight: float = 50.0  # ELECTRA loss = gen MLM + disc_weight * RTD
    # data
    format: str = "auto"
    text_field: str = "text"
    max_length: int = 128
    cross_document: bool = True
    shuffle_buffer: int = 10000
    val_fraction: float = 0.005
    val_max_examples: int = 512
    # optimisation
    batch_size: int = 32  # sequences per process per micro-step
    grad_accum: int = 1
    lr: float = 1e-4
    weight_decay: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-6
    warmup_steps: int | None = None
    warmup_ratio: float = 0.06
    max_steps: int = 1000
    max_grad_norm: float = 1.0
    # steps at the start during which only the newly created head learns (the encoder gets no update), so
    # that a random MLM head does not send noise into a pre-trained encoder; counted inside max_steps
    head_warmup_steps: int = 0
    mask_prob: float = 0.15
    seed: int = 42
    # bookkeeping
    save_every: int = 500
    keep_checkpoints: int = 2
    eval_every: int = 500
    log_every: int = 10
    threads: int | None = None  # torch intra-op threads per process
    cpu: bool = False  # force CPU even when a GPU is present
    precision: str = "no"  # fp32 (or accelerate's "no") | fp16 | bf16 (accelerate mixed precision)
    max_time: float | None = None  # seconds for this invocation, then checkpoint and stop
    halt_after: int | None = None  # stop this invocation after this step (checkpointed)
    progress: bool | None = None  # rich progress bar; None = only on a terminal

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PretrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"E469 unknown pre-training setting(s): {', '.join(unknown)}")
        d = dict(d)
        if isinstance(d.get("corpus"), str):
            d["corpus"] = [d["corpus"]]
        # model_config is a mapping or a file path; the shared converter would turn a stray number into a path
        mc = d.get("model_config")
        if mc is not None and not isinstance(mc, (dict, str)):
            raise ConfigError(f"E402 model_config: expected a mapping or the path of a JSON/YAML file, got {mc!r}")
        # the same strict conversion as the fine-tuning configs: lr "2e-5" (a string to PyYAML) -> 2e-05,
        # but whole_word_mask 'false' or batch_size 2.5 are refused instead of silently changing meaning
        from biobert.config import convert

        hints = typing.get_type_hints(cls)
        return cls(**{k: convert(hints[k], v, k) for k, v in d.items()})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        obj = OBJECTIVE_ALIASES.get(self.objective)
        if obj is None:
            raise ConfigError(f"E463 unknown objective {self.objective!r}; expected one of {', '.join(OBJECTIVE_ALIASES)}")
        self.objective = obj
        if not self.corpus:
            raise ConfigError("E450 no corpus given (--corpus)")
        for name in ("batch_size", "grad_accum", "max_steps", "max_length", "save_every", "eval_every", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"E470 {name} must be at least 1, got {getattr(self, name)}")
        # checked here rather than left to torch.optim.AdamW, whose ValueError would come after the model loads
        if not 0 < self.lr < math.inf:
            raise ConfigError(f"E470 lr must be > 0, got {self.lr}")
        if not 0 <= self.weight_decay < math.inf:
            raise ConfigError(f"E470 weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"E470 warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise ConfigError(f"E470 warmup_steps must be >= 0, got {self.warmup_steps}")
        if not 0 < self.mask_prob < 1:
            raise ConfigError(f"E470 mask_prob must be in (0, 1), got {self.mask_prob}")
        if not 0 <= self.val_fraction < 0.5:
            raise ConfigError(f"E470 val_fraction must be in [0, 0.5), got {self.val_fraction}")
        if self.head_warmup_steps < 0 or self.head_warmup_steps >= self.max_steps:
            raise ConfigError(f"E470 head_warmup_steps must be in [0, max_steps), got {self.head_warmup_steps}")
        if self.head_warmup_steps and self.from_scratch:
            raise ConfigError("E470 head_warmup_steps needs a pre-trained encoder to protect; it does not apply with from_scratch")
        if not 0 < self.generator_scale <= 1:  # ELECTRA's generator is a smaller copy of the discriminator
            raise ConfigError(f"E470 generator_scale must be in (0, 1], got {self.generator_scale}")
        if self.threads is not None and self.threads < 1:  # torch.set_num_threads(-1) raised a bare RuntimeError
            raise ConfigError(f"E470 threads must be at least 1 (or unset for torch's default), got {self.threads}")
        if self.precision not in ("no", "fp32", "fp16", "bf16"):
            raise ConfigError(f"E470 precision must be fp32 (or no), fp16 or bf16, got {self.precision!r}")


def _barrier(acc: Any) -> None:
    """Every process waits here. In a CPU (gloo) run on a machine that has GPUs, accelerate's own barrier names
    the GPU of this process's local rank (torch then runs the barrier there), which fails where there are fewer
    GPUs than processes (seen: 2 gloo processes on a one-GPU machine); torch's plain barrier stays on the CPU."""
    if acc.num_processes > 1 and acc.device.type == "cpu":
        torch.distributed.barrier()
    else:
        acc.wait_for_everyone()


def load_run_config(output: str | os.PathLike) -> PretrainConfig:
    """The configuration saved by a run in ``output`` (to resume it with no other options)."""
    p = Path(output) / "pretrain_config.json"
    if not p.exists():
        raise ConfigError(f"E471 {str(p)!r} not found: {str(output)!r} is not a pre-training run directory")
    return PretrainConfig.from_dict(json.loads(p.read_text()))


def latest_checkpoint(output: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint of a run, or ``None``."""
    d = Path(output) / "checkpoints"
    if not d.is_dir():
        return None
    done = [p for p in d.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp") and (p / "COMPLETE").exists()]
    return max(done, key=lambda p: int(p.name.split("-")[1])) if done else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _no_decay(name: str) -> bool:
    n = name.lower()
    return n.endswith(".bias") or "layernorm" in n or "layer_norm" in n or n.endswith("norm.weight")


def _head_warmup_frozen(objective: torch.nn.Module, created_head: list[str]) -> list[torch.nn.Parameter]:
    """The parameters to hold still during the head warm-up: all but the newly created head's.

    ``created_head`` names parameters of the wrapped model (``cls.predictions...``); the objective module
    prefixes them (``model.cls.predictions...``). A head tied to the word embeddings (BERT's decoder
    weight) is not "created", so it stays frozen with the encoder and the new layers learn to fit it.

    Raises:
        ConfigError: E470 when the start point brought its own head, so there is nothing to warm up.
    """
    created = set(created_head)
    frozen, warm = [], 0
    for name, p in objective.named_parameters():
        if name.split(".", 1)[-1] in created:
            warm += 1
        else:
            frozen.append(p)
    if not warm:
        raise ConfigError(
            "E470 head_warmup_steps is set but the start point already has its pre-training head "
            "(no newly created parameters to warm up); drop the setting"
        )
    return frozen


def _make_optimizer(module: torch.nn.Module, cfg: PretrainConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in module.named_parameters():
        if p.requires_grad:
            (no_decay if _no_decay(name) else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.adam_beta1, cfg.adam_beta2), eps=cfg.adam_eps)


def _make_scheduler(optimizer, cfg: PretrainConfig):
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else int(round(cfg.warmup_ratio * cfg.max_steps))
    total = cfg.max_steps

    def factor(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _rng_state() -> dict[str, Any]:
    st = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def _set_rng_state(st: dict[str, Any]) -> None:
    random.setstate(st["python"])
    np.random.set_state(st["numpy"])
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _build_tokenizer(cfg: PretrainConfig, files: list[Path], out: Path, acc) -> Any:
    if not cfg.from_scratch:
        init = resolve_init(cfg.init)
        if not cfg.tokenizer:
            return load_tokenizer(init)
        tok = load_tokenizer(expand_path(cfg.tokenizer))
        _check_init_vocabulary(tok, cfg.tokenizer, init)
        return tok
    if cfg.tokenizer:
        return load_tokenizer(expand_path(cfg.tokenizer))
    vocab_dir = out / "vocab"
    if acc.is_main_process and not (vocab_dir / "tokenizer.json").exists():
        from biobert.pretrain.vocab import train_wordpiece

        train_wordpiece(files, vocab_dir, vocab_size=cfg.vocab_size, lowercase=cfg.lowercase, fmt=cfg.format, text_field=cfg.text_field, val_fraction=cfg.val_fraction)
    _barrier(acc)
    return load_tokenizer(vocab_dir)


def _check_init_vocabulary(tokenizer: Any, tokenizer_path: str, init: str) -> None:
    """Refuse a tokenizer whose vocabulary is not the one ``init`` was trained with.

    A continued checkpoint's embedding row ``i`` means the token ``i`` of its own vocabulary: another
    vocabulary of the same or a smaller size loaded without any error and trained every id as another word.

    Raises:
        ConfigError: E466 when the vocabularies differ (sha256 of the token list in id order).
    """
    from biobert.errors import ModelLoadError
    from biobert.pretrain.vocab import tokenizer_vocab_sha256

    try:
        own = load_tokenizer(init)
    except ModelLoadError:
        # a checkpoint saved without a tokenizer: nothing to compare with; the embedding-size check (E466 in
        # build_models) still applies
        return
    mine, theirs = tokenizer_vocab_sha256(tokenizer), tokenizer_vocab_sha256(own)
    if mine != theirs:
        raise ConfigError(
            f"E466 the tokenizer {tokenizer_path!r} ({len(tokenizer)} tokens, vocab sha256 {mine[:12]}…) is not the "
            f"vocabulary of --init {init!r} ({len(own)} tokens, sha256 {theirs[:12]}…): a continued model must keep its "
            "vocabulary (drop --tokenizer), or use --from-scratch to train a new model with this one"
        )


def _build_objective(cfg: PretrainConfig, bundle: ModelBundle, tokenizer):
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    if cfg.objective == "electra":
        # ELECTRA's own masking (pretrain_helpers.mask): 85 % of the chosen positions become [MASK], the rest
        # keep their token and no random ones are drawn; the generator still predicts all of them
        spec = make_mask_spec(tokenizer, cfg.mask_prob, cfg.whole_word_mask, mask_frac=0.85, random_frac=0.0)
        return ElectraObjective(bundle.generator, bundle.model, spec, pad, cfg.disc_weight)
    spec = make_mask_spec(tokenizer, cfg.mask_prob, cfg.whole_word_mask)
    if cfg.objective == "sop":
        return SOPObjective(bundle.model, spec, pad)
    return MLMObjective(bundle.model, spec, pad)


def _anchored(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with relative local paths (corpus entries, and tokenizer / init when they name a local path)
    made absolute, so that a run saved from one directory resumes from any other with ``--resume -o RUN`` alone.
    ``{data}`` / ``$VAR`` entries and hub ids are left as written."""
    out = dict(settings)

    def anchor(value: Any, must_exist: bool) -> Any:
        if not isinstance(value, str) or not value or value[0] in "{$~" or os.path.isabs(value):
            return value
        if must_exist and not os.path.exists(value):
            return value  # a hub id or a named encoder ("minilm"), not a path
        return os.path.abspath(value)

    if isinstance(out.get("corpus"), list):
        out["corpus"] = [anchor(c, False) for c in out["corpus"]]
    elif isinstance(out.get("corpus"), str):
        out["corpus"] = anchor(out["corpus"], False)
    for key in ("tokenizer", "init"):
        out[key] = anchor(out.get(key), True)
    return out


def _check_resume(cfg: PretrainConfig, out: Path) -> None:
    p = out / "pretrain_config.json"
    if not p.exists():
        return
    saved = _anchored(json.loads(p.read_text()))
    now = _anchored(cfg.to_dict())
    for d in (saved, now):  # "fp32" and accelerate's "no" are the same precision
        if d.get("precision") == "fp32":
            d["precision"] = "no"
    changed = [k for k in CRITICAL_FIELDS if k in saved and saved[k] != now.get(k)]
    if changed:
        detail = "; ".join(f"{k}: {saved[k]!r} -> {now.get(k)!r}" for k in changed)
        raise ConfigError(f"E472 cannot resume {str(out)!r} with different settings ({detail}); resume with the saved "
                          f"ones, or start a new stage from this run's weights with --init {str(out)!r} and a new --output")


@torch.no_grad()
def evaluate(objective, examples, cfg: PretrainConfig, acc, batch_size: int | None = None) -> dict[str, float]:
    """Validation statistics on fixed masks; sums are reduced over processes."""
    objective.eval()
    g = torch.Generator().manual_seed(cfg.seed + 99991)
    sg = torch.Generator(device=acc.device).manual_seed(cfg.seed + 4242)
    bs = batch_size or cfg.batch_size
    sums = torch.zeros(6, dtype=torch.float64)  # mlm loss*n, n, correct, order correct, pairs, disc correct
    n_tok = torch.zeros(1, dtype=torch.float64)
    for i in range(0, len(examples), bs):
        batch = objective.prepare(examples[i : i + bs], g)
        batch = {k: v.to(acc.device) for k, v in batch.items()}
        if isinstance(objective, ElectraObjective):
            out = objective(**batch, sample_generator=sg)
        else:
            out = objective(**batch)
        n = float(out["n_masked"])
        sums[0] += float(out["mlm_loss"]) * n
        sums[1] += n
        sums[2] += float(out["mlm_correct"])
        if "sop_correct" in out:
            sums[3] += float(out["sop_correct"])
            sums[4] += float(out["n_pairs"])
        if "disc_correct" in out:
            sums[5] += float(out["disc_correct"])
            n_tok += float(out["n_tokens"])
    sums = torch.cat([sums, n_tok])
    if acc.num_processes > 1:
        sums = acc.reduce(sums.to(acc.device), reduction="sum").cpu()
    objective.train()
    res: dict[str, float] = {}
    if sums[1] > 0:
        loss = float(sums[0] / sums[1])
        res.update(val_loss=loss, val_ppl=math.exp(min(loss, 50.0)), val_mlm_acc=float(sums[2] / sums[1]))
    if sums[4] > 0:
        res["val_sop_acc"] = float(sums[3] / sums[4])
    if sums[6] > 0:
        res["val_disc_acc"] = float(sums[5] / sums[6])
    return res


def pretrain(config: PretrainConfig | dict, resume: bool = False, overwrite: bool = False,
             command: str | None = None) -> dict[str, Any]:
    """Run (or continue) a pre-training run and return its report.

    Args:
        config: the run's settings.
        resume: continue from the newest complete checkpoint in ``config.output`` (starts
            fresh when there is none).
        overwrite: delete existing checkpoints in ``config.output`` and start again.
        command: the command line of this invocation, for the session record and the model card (``README.md``).

    Raises:
        ConfigError: E468 when ``output`` already holds checkpoints and neither ``resume`` nor
            ``overwrite`` is set; E472 when resuming with different defining settings (optimizer
            hyper-parameters included: the saved optimizer state would override them); E495 when a
            corpus file's content changed since the checkpoint.
    """
    from accelerate import Accelerator

    cfg = config if isinstance(config, PretrainConfig) else PretrainConfig.from_dict(config)
    cfg = dataclasses.replace(cfg)
    if resume and overwrite:
        raise ConfigError("E470 resume continues the checkpoints that overwrite deletes: give one of them")
    cfg.validate()
    out = Path(expand_path(cfg.output))
    ckpt = latest_checkpoint(out)
    # checked before the Accelerator is created: a second Accelerator in the process with another precision
    # raised accelerate's ValueError instead of the E472 that names the changed setting
    if ckpt is not None and not resume and not overwrite:
        raise ConfigError(f"E468 {str(out)!r} already has checkpoints ({ckpt.name}); pass --resume to continue or --overwrite to start again")
    if ckpt is not None and not overwrite:
        _check_resume(cfg, out)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    acc = Accelerator(cpu=cfg.cpu or not torch.cuda.is_available(), mixed_precision="no" if cfg.precision == "fp32" else cfg.precision)
    if cfg.precision not in ("fp32", "no"):
        from biobert.device import half_precision_attention

        half_precision_attention(acc.device)  # cuDNN attention rebuilds per shape (biobert.device)
    rank, world = acc.process_index, acc.num_processes
    main = acc.is_main_process
    ckpt_root = out / "checkpoints"
    if overwrite and main and ckpt_root.exists():
        shutil.rmtree(ckpt_root)
    if overwrite and main and cfg.from_scratch and not cfg.tokenizer and (out / "vocab").exists():
        # the run's own vocabulary is an output too: kept, it ignored a new vocab_size or corpus
        shutil.rmtree(out / "vocab")
    if overwrite:
        ckpt = None
    _barrier(acc)

    invocation_start = session_start = time.time()
    files = resolve_corpus(cfg.corpus)
    if main:
        out.mkdir(parents=True, exist_ok=True)
        saved = _anchored(cfg.to_dict())  # absolute local paths: `--resume -o RUN` works from any directory
        saved.update(halt_after=None, max_time=None)  # limits of this invocation only
        (out / "pretrain_config.json").write_text(json.dumps(saved, indent=2))
    _barrier(acc)

    # ---- model, tokenizer, objective (same seed on every process: identical initial weights)
    _seed_all(cfg.seed)
    tokenizer = _build_tokenizer(cfg, files, out, acc)
    from biobert.pretrain.vocab import tokenizer_vocab_sha256

    vocab_digest = tokenizer_vocab_sha256(tokenizer)  # equal to sha256(vocab.txt) of a `biobert vocab` directory
    bundle = build_models(
        cfg.objective,
        tokenizer,
        init=cfg.init,
        from_scratch=cfg.from_scratch,
        model_size=cfg.model_size,
        model_config=cfg.model_config,
        max_length=cfg.max_length,
        generator_scale=cfg.generator_scale,
        # continuing a biobert ELECTRA run: its trained generator, not a new random one (which would first have to
        # relearn MLM while the discriminator is fed easy replacements)
        generator_init=(electra_generator_dir(resolve_init(cfg.init))
                        if cfg.objective == "electra" and not cfg.from_scratch else None),
    )
    from biobert.encoders import check_fits, max_input_length

    # a checkpoint's position table is fixed: longer sequences failed at the first batch with a tensor-size error
    check_fits(cfg.max_length, max_input_length(bundle.model, tokenizer), "pretrain")
    objective = _build_objective(cfg, bundle, tokenizer)
    frozen_in_warmup = _head_warmup_frozen(objective, bundle.created_head) if cfg.head_warmup_steps else []
    optimizer = _make_optimizer(objective, cfg)
    scheduler = _make_scheduler(optimizer, cfg)

    state: dict[str, Any] = {
        "step": 0,
        "tokens_seen": 0,
        "train_seconds": 0.0,
        "wall_seconds": 0.0,
        "curve": [],
        "evals": [],
        "sessions": [],
        "world_size": world,
        "vocab_sha256": vocab_digest,
    }
    rank_state = None
    if ckpt is not None:
        saved_state = json.loads((ckpt / "trainer_state.json").read_text())
        trained_on = saved_state.get("vocab_sha256")
        if trained_on is not None and trained_on != vocab_digest:
            # a smaller or larger vocabulary failed in load_state_dict with a size mismatch, one of the same size
            # resumed silently with every id meaning another word
            raise ConfigError(f"E558 {ckpt} was trained with another vocabulary (sha256 {trained_on[:12]}…, now "
                              f"{vocab_digest[:12]}… from {cfg.tokenizer or cfg.init or 'the run'!s}); resume with the "
                              "tokenizer the run started with")
        objective.load_state_dict(torch.load(ckpt / "model.pt", map_location="cpu", weights_only=True))
        optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", map_location="cpu", weights_only=True))
        scheduler.load_state_dict(torch.load(ckpt / "scheduler.pt", map_location="cpu", weights_only=False))
        state = saved_state
        # the readers count skipped records per process when they reach a file's end; the counts of the sessions
        # before were saved with the checkpoint
        restore_skipped(state.get("skipped_records"))
        state.setdefault("vocab_sha256", vocab_digest)  # checkpoints from before it was recorded
        if state.get("world_size", world) != world:
            raise ConfigError(f"E456 {ckpt} was written by {state['world_size']} processes, now {world}; resume with the same number")
        rank_file = ckpt / f"rank-{rank}.pt"
        rank_state = torch.load(rank_file, map_location="cpu", weights_only=False)

    model, optimizer = acc.prepare(objective, optimizer)
    unwrapped = acc.unwrap_model(model)

    kind = "sop" if cfg.objective == "sop" else "mlm"
    # content hashes: in the report, and saved with the data position so that a resume on rewritten files fails (E495)
    fingerprints = file_fingerprints(files)
    encoding = scan_encoding(files) if main else None  # invalid UTF-8 the readers replace with U+FFFD
    stream = PretrainStream(
        files,
        tokenizer,
        cfg.max_length,
        kind=kind,
        seed=cfg.seed,
        rank=rank,
        world_size=world,
        val_fraction=cfg.val_fraction,
        shuffle_buffer=cfg.shuffle_buffer,
        fmt=cfg.format,
        text_field=cfg.text_field,
        cross_document=cfg.cross_document,
        fingerprints=fingerprints,
    )
    tokens_local = 0
    if rank_state is not None:
        stream.load_state_dict(rank_state["data"])
        _set_rng_state(rank_state["rng"])
        tokens_local = rank_state.get("tokens_local", 0)
    else:
        _seed_all(cfg.seed * 1009 + 7919 * (rank + 1))  # different masks/dropout per process
    val_stats: dict[str, int] = {}
    val_all = validation_examples(files, tokenizer, cfg.max_length, kind, cfg.val_fraction, cfg.val_max_examples, cfg.seed,
                                  cfg.format, cfg.text_field, stats=val_stats)
    val = val_all[rank::world]

    start_step = state["step"]
    step = start_step
    session = {"started": _now(), "start_step": start_step, "processes": world, "threads": torch.get_num_threads(), "device": str(acc.device),
               "command": command}
    state["sessions"].append(session)

    def log(msg: str) -> None:
        if main:
            line = f"[{datetime.now().strftime('%H:%M:%S')}] {msg}"
            if progress is not None:
                progress.console.print(line)
            else:
                print(line, file=sys.stderr, flush=True)

    def build_report(final: bool) -> dict[str, Any]:
        train_s = state["train_seconds"]
        return {
            "kind": "biobert-pretrain",
            "final": final,
            "objective": cfg.objective,
            "whole_word_mask": cfg.whole_word_mask,
            "start_point": {"from_scratch": cfg.from_scratch, "source": bundle.source, "created_head": bundle.created_head,
                            "generator": bundle.generator_source},
            "model_type": bundle.model.config.model_type,
            "parameters": sum(p.numel() for p in unwrapped.parameters()),
            "vocab_size": len(tokenizer),
            "vocab_sha256": vocab_digest,
            "settings": cfg.to_dict(),
            "versions": versions(),
            "data": {"files": fingerprints, "val_fraction": cfg.val_fraction, "val_examples": len(val_all), "invalid_utf8": encoding,
                     "skipped_records": skipped_records(files),
                     # corpus tokens that went into no example (SOP one-token remainders), all processes, up to
                     # the last checkpoint; and those of the validation documents read
                     "tokens_truncated": state.get("tokens_truncated", 0),
                     "val_tokens_truncated": val_stats.get("tokens_truncated", 0)},
            "processes": world,
            "distributed": acc.distributed_type.value if hasattr(acc.distributed_type, "value") else str(acc.distributed_type),
            "replicas_in_sync": state.get("replicas_in_sync"),
            "effective_batch_sequences": cfg.batch_size * world * cfg.grad_accum,
            "step": step,
            "max_steps": cfg.max_steps,
            "tokens_seen": state["tokens_seen"],
            "train_seconds": round(train_s, 2),
            "wall_seconds": round(state["wall_seconds"], 2),
            "throughput_tokens_per_s": round(state["tokens_seen"] / train_s, 1) if train_s > 0 else None,
            "sessions": state["sessions"],
            "curve": state["curve"],
            "evals": state["evals"],
            "last_eval": state["evals"][-1] if state["evals"] else None,
        }

    last_plot = [time.time()]

    def replicas_in_sync() -> bool:
        """Every process holds the same weights (DDP kept them in step)."""
        if world == 1:
            return True
        with torch.no_grad():
            total = sum(float(p.double().sum()) for p in unwrapped.parameters())
        t = torch.tensor([total, -total], dtype=torch.float64, device=acc.device)
        t = acc.reduce(t, reduction="max").cpu()  # max(x) == -max(-x) == min(x) <=> all equal
        return bool(abs(float(t[0]) + float(t[1])) <= 1e-6 * max(1.0, abs(total)))

    def save_checkpoint() -> None:
        if not replicas_in_sync():
            raise TrainingError(f"E556 the processes hold different weights at step {step}; distributed training is broken")
        state["replicas_in_sync"] = world > 1 or None
        name = f"step-{step:08d}"
        tmp = ckpt_root / (name + ".tmp")
        if main:
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
        _barrier(acc)
        # the loss window too, so that a resume between two log steps logs the same curve as an unbroken run
        win = {"loss": window["loss"], "n": window["n"], "tokens": window["tokens"], "elapsed": time.time() - window["t0"]}
        torch.save({"rng": _rng_state(), "data": stream.state_dict(), "tokens_local": tokens_local, "window": win},
                   tmp / f"rank-{rank}.pt")
        if main:
            torch.save(unwrapped.state_dict(), tmp / "model.pt")
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
            torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
            (tmp / "trainer_state.json").write_text(json.dumps(state, default=str))
        _barrier(acc)
        if main:
            (tmp / "COMPLETE").write_text(_now())
            final = ckpt_root / name
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
            done = sorted((p for p in ckpt_root.glob("step-*") if (p / "COMPLETE").exists()), key=lambda p: int(p.name.split("-")[1]))
            for old in done[: max(0, len(done) - max(1, cfg.keep_checkpoints))]:
                shutil.rmtree(old, ignore_errors=True)
            save_encoder(bundle, tokenizer, out)
            interim = build_report(final=False)
            write_report(out / "report.json", interim)
            write_model_card(out, interim, command)
            if time.time() - last_plot[0] > 120:  # plotting costs ~0.3 s; the final plot is always drawn
                plot_curve(out / "curve.png", state["curve"], state["evals"], f"{cfg.objective} · {out.name}")
                last_plot[0] = time.time()
        _barrier(acc)

    # ---- progress display
    from rich.console import Console

    console = Console(stderr=True)
    show = main and (cfg.progress if cfg.progress is not None else console.is_terminal)
    progress = None
    if show:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        progress = Progress(
            TextColumn("[bold]pretrain {task.fields[obj]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[tps]} tok/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        progress.start()
        task = progress.add_task("pretrain", total=cfg.max_steps, completed=step, obj=cfg.objective, loss="-", tps="-")

    log(
        f"pretrain {cfg.objective}{' +wwm' if cfg.whole_word_mask else ''} | {'resume from ' + ckpt.name if ckpt else 'start'} "
        f"| step {step}/{cfg.max_steps} | {world} process(es) on {acc.device} ({type(model).__name__}) | {len(files)} file(s) | "
        f"{len(val_all)} validation sequences | params {sum(p.numel() for p in unwrapped.parameters()):,} | pid {os.getpid()}"
    )
    if encoding is not None and encoding_warning(encoding):
        log(encoding_warning(encoding))

    stopper = StopSignals((signal.SIGTERM, signal.SIGINT))
    window = {"loss": 0.0, "n": 0, "tokens": 0, "t0": time.time()}
    if rank_state is not None and "window" in rank_state:  # checkpoints before this field restart the window
        w = rank_state["window"]
        window = {"loss": w["loss"], "n": w["n"], "tokens": w["tokens"], "t0": time.time() - w["elapsed"]}
    session_tokens = 0
    # train_time is the optimizer time since the last checkpoint (added to the run total there);
    # session_train_time is this invocation's total, for the progress bar and the session record
    train_time = 0.0
    session_train_time = 0.0
    halt_reason = None
    accum = cfg.grad_accum
    # a checkpoint loaded with from_pretrained is in eval mode: without this, a continued run would train with
    # dropout off whenever no step-0 validation (which ends in train()) ran first, e.g. after every resume
    model.train()
    try:
        with stopper:
            if step == 0 and cfg.eval_every and val_all:  # every process joins (its slice may be empty)
                ev = evaluate(unwrapped, val, cfg, acc)
                if ev:
                    state["evals"].append({"step": 0, **ev})
                    log("step 0 validation: " + " ".join(f"{k} {v:.4f}" for k, v in ev.items()))
            while step < cfg.max_steps:
                t_step = time.time()
                step_loss = 0.0
                empty_batch = False  # a (micro-)batch with nothing to predict
                for micro in range(accum):
                    batch = unwrapped.prepare(stream.take(cfg.batch_size))
                    n_tok = int(batch["attention_mask"].sum())
                    batch = {k: v.to(acc.device) for k, v in batch.items()}
                    ctx = acc.no_sync(model) if micro < accum - 1 else nullcontext()
                    with ctx:
                        with acc.autocast():
                            outputs = model(**batch)
                        acc.backward(outputs["loss"] / accum)
                    step_loss += float(outputs["loss"].detach()) / accum
                    empty_batch |= int(outputs.get("n_masked", 1)) == 0
                    tokens_local += n_tok
                    window["tokens"] += n_tok
                    session_tokens += n_tok
                if step < cfg.head_warmup_steps:
                    # AdamW skips parameters without a gradient: no moment update, no weight decay
                    for p in frozen_in_warmup:
                        p.grad = None
                if cfg.max_grad_norm and cfg.max_grad_norm > 0:
                    acc.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                train_time += time.time() - t_step
                if not math.isfinite(step_loss):
                    if empty_batch:
                        # [UNK] and the other special tokens are never masked: text the vocabulary cannot read
                        # leaves nothing to predict, and the mean over no positions is NaN
                        raise TrainingError(f"E552 step {step} had no token to predict: every token of its batch was "
                                            "special or [UNK]. Does the vocabulary fit the corpus (script, casing)? "
                                            "Try `biobert vocab` on it, or from_scratch with a new vocabulary")
                    raise TrainingError(f"E552 the loss became {step_loss} at step {step}; lower the learning rate")
                window["loss"] += step_loss
                window["n"] += 1

                if progress is not None:
                    tps = session_tokens * world / max(session_train_time + train_time, 1e-9)
                    progress.update(task, completed=step, loss=f"{step_loss:.3f}", tps=f"{tps:,.0f}")

                if step % cfg.log_every == 0 or step == cfg.max_steps:
                    stats = torch.tensor([window["loss"], window["n"], window["tokens"]], dtype=torch.float64)
                    if world > 1:
                        stats = acc.reduce(stats.to(acc.device), reduction="sum").cpu()
                    dt = time.time() - window["t0"]
                    loss = float(stats[0] / stats[1])
                    entry = {
                        "step": step,
                        "loss": round(loss, 5),
                        "lr": scheduler.get_last_lr()[0],
                        "tokens": None,
                        "tokens_per_s": round(float(stats[2]) / dt, 1) if dt > 0 else None,
                        "seconds": round(dt, 4),
                        "steps_averaged": window["n"],
                    }
                    tot = torch.tensor([tokens_local], dtype=torch.float64)
                    if world > 1:
                        tot = acc.reduce(tot.to(acc.device), reduction="sum").cpu()
                    state["tokens_seen"] = int(tot.item())
                    entry["tokens"] = state["tokens_seen"]
                    state["curve"].append(entry)
                    log(
                        f"step {step}/{cfg.max_steps} loss {loss:.4f} lr {entry['lr']:.2e} "
                        f"{entry['tokens_per_s'] or 0:,.0f} tok/s tokens {state['tokens_seen']:,}"
                    )
                    window = {"loss": 0.0, "n": 0, "tokens": 0, "t0": time.time()}

                if step % cfg.eval_every == 0 or step == cfg.max_steps:
                    if val_all:
                        ev = evaluate(unwrapped, val, cfg, acc)
                        if ev:
                            state["evals"].append({"step": step, **ev})
                            log(f"step {step} validation: " + " ".join(f"{k} {v:.4f}" for k, v in ev.items()))

                # stop requests must be agreed by every process
                flag = 0.0
                if stopper.requested:
                    flag, halt_reason = 1.0, "signal"
                elif cfg.halt_after is not None and step >= cfg.halt_after:
                    flag, halt_reason = 1.0, f"halt_after={cfg.halt_after}"
                elif cfg.max_time is not None and time.time() - invocation_start >= cfg.max_time:
                    flag, halt_reason = 1.0, f"max_time={cfg.max_time}s"
                if world > 1:
                    flag = float(acc.reduce(torch.tensor([flag], device=acc.device), reduction="max").item())
                    halt_reason = halt_reason or ("peer stop" if flag else None)
                stopping = flag > 0 and step < cfg.max_steps

                if step % cfg.save_every == 0 or step == cfg.max_steps or stopping:
                    tot = torch.tensor([tokens_local], dtype=torch.float64)
                    if world > 1:
                        tot = acc.reduce(tot.to(acc.device), reduction="sum").cpu()
                    state["tokens_seen"] = int(tot.item())
                    cut = torch.tensor([stream.builder.tokens_truncated], dtype=torch.float64)
                    if world > 1:
                        cut = acc.reduce(cut.to(acc.device), reduction="sum").cpu()
                    state["tokens_truncated"] = int(cut.item())
                    state["skipped_records"] = skipped_records(files)
                    state["step"] = step
                    state["train_seconds"] = state.get("train_seconds", 0.0) + train_time
                    state["wall_seconds"] = state.get("wall_seconds", 0.0) + (time.time() - session_start)
                    session_train_time += train_time
                    train_time = 0.0
                    session.update(
                        ended=_now(), end_step=step, tokens=session_tokens * world,
                        train_seconds=round(session_train_time, 2),
                    )
                    session_start = time.time()
                    save_checkpoint()
                    log(f"checkpoint step {step} -> {ckpt_root / f'step-{step:08d}'}")
                if stopping:
                    log(f"stopping at step {step} ({halt_reason}); continue with --resume")
                    break
    finally:
        if progress is not None:
            progress.stop()

    report = build_report(final=step >= cfg.max_steps)
    # why this invocation stopped before max_steps (None: it did not); a signal is not a success (the CLI exits 2)
    report["stopped_by"] = halt_reason if step < cfg.max_steps else None
    if main:
        write_report(out / "report.json", report)
        write_model_card(out, report, command)
        plot_curve(out / "curve.png", state["curve"], state["evals"], f"{cfg.objective} · {out.name}")
    _barrier(acc)
    return report
