"""One trainer for every task: AdamW, warmup + linear decay, clipping, length-grouped
dynamic-padding batches, dev-set model selection with early stopping, seeds,
checkpoints and exact resume.

A task plugs in three callables:

* ``collate(features) -> batch``: pads a list of feature dicts (dynamic padding);
* ``loss_fn(model, batch) -> Tensor``: the training loss;
* ``evaluate(model) -> dict``: dev metrics; ``select_metric`` picks the one to maximise.

Resume is exact: the batch order of an epoch is a pure function of
``(seed, epoch)``, so a resumed run skips the batches it has already seen and
restores the optimizer, scheduler and RNG states (every process's, in a data-parallel run); the result
equals an uninterrupted run with the same number of processes.

Launched by ``torchrun`` as several processes, the same trainer runs data-parallel (DDP): the global batch
is split across processes, process 0 evaluates, selects and checkpoints (:mod:`biobert.distributed`). The
weights match a single process's only without dropout: each process draws its own dropout masks.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import shutil
import signal
import threading
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from biobert import distributed
from biobert.device import autocast, grad_scaler, resolve_device, to_device
from biobert.errors import ConfigError, TrainingError

__all__ = ["TrainConfig", "Trainer", "set_seed", "length_grouped_batches", "run_fingerprint", "encoder_fingerprint",
           "require_data_path"]

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Optimisation settings shared by all tasks (defaults follow BioBERT's NER recipe)."""

    lr: float = 5e-5
    epochs: int = 10
    batch_size: int = 32
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    #: layer-wise learning-rate decay (Clark et al. 2020; Sun et al. 2019): the task head keeps ``lr``, encoder layer
    #: k of L (1-based) gets ``lr * layer_decay**(L + 1 - k)`` and the embeddings ``lr * layer_decay**(L + 1)``;
    #: 1.0 (the default) gives every parameter the same rate
    layer_decay: float = 1.0
    grad_accum: int = 1
    seed: int = 42
    #: evaluate on dev every N optimizer steps (None: once per epoch)
    eval_every: int | None = None
    #: stop after this many evaluations without improvement (None: never)
    patience: int | None = None
    #: save a resumable checkpoint every N optimizer steps (None: at evaluations only)
    checkpoint_every: int | None = None
    #: stop after this many optimizer steps (None: run all epochs)
    max_steps: int | None = None
    group_by_length: bool = True
    log_every: int = 50
    select_metric: str = "f1"
    #: where to train: "auto" (a CUDA GPU if present, else MPS, else the CPU), "cpu", "cuda", "cuda:N", "mps"
    device: str = "auto"
    #: "fp32", "bf16" (autocast) or "fp16" (autocast + loss scaling, CUDA only); weights stay fp32 (biobert.device)
    precision: str = "fp32"
    #: average the weights at the ends of the last K epochs (uniform stochastic weight averaging, Izmailov et al.
    #: 2018); 0 turns it off. Without dev evaluation the average is the final model; with it, the average is scored
    #: on dev once after training and kept only if it beats the best epoch. The last epoch's own weights stay in
    #: ``checkpoints/last`` either way, so the two can be compared.
    average_last: int = 0
    #: adversarial training with the fast gradient method on the word embeddings (FGM; Miyato et al. 2017): every batch
    #: gets a second forward/backward with the embedding matrix moved by ``epsilon * g / ||g||``, g being its gradient
    #: so far in this optimizer step, and the step follows the sum of the clean and adversarial gradients. About twice
    #: the cost per step; 0 turns it off.
    adversarial_epsilon: float = 0.0
    #: dropout probability for every dropout layer of the model (embeddings, attention, hidden, task head), set
    #: before training and written into the saved config's ``*dropout*`` keys; None keeps the checkpoint's own
    #: (0.1 in BERT-family configs). Small encoders fine-tuned on small corpora may want another value.
    dropout: float | None = None

    def validate(self, where: str = "train", metrics: Sequence[str] | None = None) -> None:
        """Check the values (types are checked by :func:`biobert.config.from_dict`) before anything loads.

        Args:
            where: dotted key of this section in the run config, used in messages.
            metrics: the dev metrics the task reports; ``select_metric`` must be one of them (unchecked if None).

        Raises:
            ConfigError: E415 naming the key, e.g. ``train.epochs: expected a value >= 1, got -1``.
        """
        from biobert.config import check_choice, check_range
        from biobert.device import PRECISIONS

        where = where or "train"
        # 0 or negative epochs would "train" no step and save an untrained model
        check_range(self.epochs, f"{where}.epochs", ge=1)
        check_range(self.batch_size, f"{where}.batch_size", ge=1)
        check_range(self.grad_accum, f"{where}.grad_accum", ge=1)
        check_range(self.lr, f"{where}.lr", gt=0, lt=math.inf)
        check_range(self.warmup_ratio, f"{where}.warmup_ratio", ge=0, lt=1, note="fraction of the optimizer steps")
        check_range(self.weight_decay, f"{where}.weight_decay", ge=0, lt=math.inf)
        # gradients are always clipped to this norm: 0 would zero every update
        check_range(self.max_grad_norm, f"{where}.max_grad_norm", gt=0)
        check_range(self.layer_decay, f"{where}.layer_decay", gt=0, le=1, note="1.0 turns layer-wise decay off")
        check_range(self.eval_every, f"{where}.eval_every", ge=1, note="optimizer steps; leave unset for once per epoch")
        # the trainer stops when bad evaluations >= patience, so 0 would stop at the first evaluation
        check_range(self.patience, f"{where}.patience", ge=1, note="evaluations without improvement; leave unset to never stop early")
        check_range(self.checkpoint_every, f"{where}.checkpoint_every", ge=1)
        check_range(self.max_steps, f"{where}.max_steps", ge=1)
        check_range(self.log_every, f"{where}.log_every", ge=1)
        check_range(self.average_last, f"{where}.average_last", ge=0, le=self.epochs,
                    note="epochs whose end weights are averaged; 0 turns averaging off")
        check_range(self.adversarial_epsilon, f"{where}.adversarial_epsilon", ge=0, lt=math.inf,
                    note="L2 norm of the embedding perturbation (about 1.0 is usual); 0 turns adversarial training off")
        check_range(self.dropout, f"{where}.dropout", ge=0, lt=1, note="a probability; leave unset for the checkpoint's own")
        check_choice(self.precision, f"{where}.precision", PRECISIONS)
        if metrics is not None:
            check_choice(self.select_metric, f"{where}.select_metric", metrics)


def describe(config: TrainConfig) -> str:
    """One line of the settings a model card lists: the optimisation basics, then every optional regulariser that is on."""
    parts = [f"lr {config.lr}, batch {config.batch_size}, epochs {config.epochs}, seed {config.seed}"]
    if config.max_steps:
        parts.append(f"at most {config.max_steps} optimizer steps")
    if config.layer_decay != 1.0:
        parts.append(f"layer-wise lr decay {config.layer_decay}")
    if config.average_last:
        parts.append(f"weights averaged over the last {config.average_last} epochs")
    if config.adversarial_epsilon:
        parts.append(f"FGM adversarial training, epsilon {config.adversarial_epsilon}")
    if config.dropout is not None:
        parts.append(f"dropout {config.dropout}")
    return "; ".join(parts)


_LAYER_RE = re.compile(r"(?:^|\.)layers?\.(\d+)\.")


def layer_lr_scales(names: Sequence[str], layer_decay: float) -> dict[str, float]:
    """Learning-rate multiplier of each parameter under layer-wise decay.

    Depth is read from the parameter name, the way Hugging Face encoders name them: ``...embeddings...`` is depth 0,
    ``...layer.<k>...`` (BERT, RoBERTa, ELECTRA, DeBERTa) or ``...layers.<k>...`` is depth k + 1, and everything else
    (pooler, task heads) is depth L + 1, the top, with multiplier 1.

    Args:
        names: parameter names, as ``model.named_parameters()`` gives them.
        layer_decay: in (0, 1]; 1.0 returns 1.0 for every name.

    Returns:
        name -> multiplier ``layer_decay ** (L + 1 - depth)``.

    Raises:
        ConfigError: E410 when ``layer_decay < 1`` and no name carries a layer index (ALBERT, for one, shares a single
            layer, so there is nothing to decay over).
    """
    if layer_decay == 1.0:
        return {n: 1.0 for n in names}
    depth: dict[str, int | None] = {}
    for n in names:
        m = _LAYER_RE.search(n)
        depth[n] = int(m.group(1)) + 1 if m else (0 if any(part.startswith("embeddings") for part in n.split(".")) else None)
    layers = [d for d in depth.values() if d]
    if not layers:
        raise ConfigError(
            f"E410 train.layer_decay={layer_decay}: no parameter name has a layer index (expected names like "
            "'encoder.layer.3.attention...'); this architecture has no per-layer parameters to decay over, so set 1.0"
        )
    top = max(layers) + 1
    return {n: layer_decay ** (top - (top if d is None else d)) for n, d in depth.items()}


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int, group: bool = True) -> list[list[int]]:
    """Batches of indices for one epoch, deterministic in ``seed``.

    With ``group``, indices are shuffled, cut into mega-batches of 50 batches,
    sorted by length inside each (so padding is small) and the batch order is
    shuffled again (so length does not correlate with training time).
    """
    rng = random.Random(seed)
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    if group:
        mega = batch_size * 50
        ordered: list[int] = []
        for k in range(0, len(idx), mega):
            ordered += sorted(idx[k : k + mega], key=lambda i: -lengths[i])
        idx = ordered
    batches = [idx[k : k + batch_size] for k in range(0, len(idx), batch_size)]
    if group:
        rng.shuffle(batches)
    return batches


#: settings that change where or how often a run writes or logs, never what it learns: left out of fingerprints
FINGERPRINT_EXCLUDE = ("out", "name", "save_half", "label_names", "train.log_every", "train.checkpoint_every", "train.device")


def _data_hash(p: Path) -> str:
    """SHA-256 of a file, or of a directory's files (relative names and bytes); ``missing`` when absent."""
    import hashlib

    from biobert.report import file_sha256

    if p.is_file():
        return file_sha256(p)
    if p.is_dir():
        h = hashlib.sha256()
        for f in sorted(x for x in p.rglob("*") if x.is_file()):
            h.update(f"{f.relative_to(p)}\0{file_sha256(f)}\n".encode())
        return "dir:" + h.hexdigest()
    return "missing"


def require_data_path(path: str | Path, key: str, allow_dir: bool = False) -> Path:
    """``path`` if it is an existing file (or directory, with ``allow_dir``), else ConfigError E423 naming the
    config ``key``: checked before any model loads, instead of a FileNotFoundError / IsADirectoryError later."""
    p = Path(path)
    if p.is_file() or (allow_dir and p.is_dir()):
        return p
    want = "a file or a directory" if allow_dir else "a file"
    got = "is a directory" if p.is_dir() else "does not exist"
    raise ConfigError(f"E423 {key}: data path {str(p)!r} {got}; expected {want} (fix the config or --set {key}=PATH)")


def run_fingerprint(config: dict[str, Any], data: dict[str, str | Path | None] | None = None,
                    exclude: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    """The settings that determine a fine-tuning run, as flat ``key -> value`` (JSON-normalised).

    ``config`` is flattened (``train.lr``, ``corpora.0.train``); keys matching :data:`FINGERPRINT_EXCLUDE` or
    ``exclude`` (fnmatch patterns; a pattern also drops everything under it) are left out. ``data`` maps a
    config key to its resolved path: the value becomes the file's SHA-256 (so moving the data is fine,
    changing it is not). ``extra`` (labels, ...) is added as is.
    """
    from fnmatch import fnmatchcase

    flat: dict[str, Any] = {}

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, dict) and v:
            for k, x in v.items():
                walk(f"{prefix}.{k}" if prefix else str(k), x)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, x in enumerate(v):
                walk(f"{prefix}.{i}", x)
        else:
            flat[prefix] = v

    walk("", config)
    pats = [*FINGERPRINT_EXCLUDE, *exclude]

    def dropped(k: str) -> bool:
        return any(fnmatchcase(k, pat) or fnmatchcase(k, pat + ".*") for pat in pats)

    fp = {k: v for k, v in flat.items() if not dropped(k)}
    for k, path in (data or {}).items():
        if path is not None and not dropped(k):
            fp[k] = "sha256:" + _data_hash(Path(path))
    fp.update(extra)
    return json.loads(json.dumps(fp, default=str, sort_keys=True))


#: fingerprint keys of what the encoder setting named (:func:`encoder_fingerprint`); a checkpoint made before they
#: were recorded lacks them, and is resumed, unverified on those
ENCODER_IDENTITY_KEYS = ("encoder_vocab_sha256", "encoder_weights")


def encoder_fingerprint(encoder: str | os.PathLike[str] | None, tokenizer: Any) -> dict[str, Any]:
    """What the encoder a run starts from is, beyond its name (for ``run_fingerprint(..., **extra)``).

    ``encoder_vocab_sha256``: the loaded tokenizer's vocabulary, in id order
    (:func:`biobert.pretrain.vocab.tokenizer_vocab_sha256`): a vocabulary permuted or replaced in place, same size or
    not, maps the training text to other ids. ``encoder_weights``: the SHA-256 of each weight file of a local
    encoder directory, or the commit a hub id's cache holds (:func:`biobert.report.encoder_identity`). Without
    them a checkpoint made from other weights or another vocabulary under the same path was resumed as "verified".
    """
    from biobert.pretrain.vocab import tokenizer_vocab_sha256
    from biobert.report import encoder_identity

    ident = encoder_identity(encoder) or {}
    return {"encoder_vocab_sha256": tokenizer_vocab_sha256(tokenizer) if tokenizer is not None else None,
            "encoder_weights": ident.get("weights_sha256") or ident.get("hub_revision")}


def _same_setting(a: Any, b: Any) -> bool:
    """Two fingerprint values that mean the same: equal, or two spellings of one existing path (``--encoder tiny``
    and ``--encoder /abs/tiny``, a relative path from another working directory)."""
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str) and a and b:
        try:
            pa, pb = Path(a), Path(b)
            return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()
        except (OSError, ValueError):
            return False
    return False


def _rng_state(device: torch.device) -> dict[str, Any]:
    """This process's Python, NumPy, torch (and CUDA) random states."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
    }


def _set_rng_state(st: dict[str, Any], device: torch.device) -> None:
    """Restore what :func:`_rng_state` returned."""
    random.setstate(st["python"])
    np.random.set_state(st["numpy"])
    torch.set_rng_state(st["torch"])
    if device.type == "cuda" and st.get("cuda") is not None:
        torch.cuda.set_rng_state_all(st["cuda"])


def _complete_checkpoint(d: Path) -> bool:
    """Whether ``d`` is a checkpoint that can be resumed: its ``state.json`` (written after the weights and the
    training state, in ``last.tmp``, which is renamed only when whole) is the completeness marker."""
    return (d / "state.json").is_file()


@dataclass
class _State:
    epoch: int = 0
    batch_in_epoch: int = 0
    global_step: int = 0
    best_metric: float = -math.inf
    best_step: int = -1
    bad_evals: int = 0
    tokens_seen: int = 0
    train_seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    #: epoch ends in the running weight average (``average_last``), and whether that average is the kept model
    averaged_epochs: int = 0
    best_is_average: bool = False


_DROPOUT_KEYS = re.compile(r"(^|_)dropout(_prob|_rate)?$|^dropout_", re.IGNORECASE)


def set_dropout(model: torch.nn.Module, p: float) -> int:
    """Set the probability of every ``nn.Dropout`` in ``model`` to ``p``, and the config's dropout keys with it.

    Works on any architecture: transformers' attention reads its probability from its ``nn.Dropout`` module at
    each call (``self.dropout.p``), so changing the modules changes the whole model. The config keys
    (``hidden_dropout_prob``, ``attention_probs_dropout_prob``, ``classifier_dropout``...) are set too, so the saved
    directory says what the weights were trained with and a further fine-tuning starts from the same setting.

    Returns:
        the number of dropout modules changed.

    Raises:
        TrainingError: E506 when the model has no dropout module (the setting would do nothing).
    """
    mods = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    if not mods:
        raise TrainingError(f"E506 train.dropout is set but {type(model).__name__} has no dropout layer to set")
    for m in mods:
        m.p = float(p)
    for cfg in {id(c): c for c in (getattr(m, "config", None) for m in model.modules()) if c is not None}.values():
        for key, value in list(vars(cfg).items()):
            # classifier_dropout is None in most configs (meaning "hidden_dropout_prob"); set it all the same
            if _DROPOUT_KEYS.search(key) and (value is None or isinstance(value, float)):
                setattr(cfg, key, float(p))
    return len(mods)


class Trainer:
    """Fine-tunes ``model`` on ``features`` and keeps the best weights by dev metric.

    Args:
        model: a ``torch.nn.Module`` (a transformers model).
        features: training examples as dicts with at least ``input_ids``.
        collate: turns a list of features into a batch of tensors.
        loss_fn: computes the loss of a batch.
        evaluate: dev evaluation returning a metrics dict (``None`` disables selection).
        out_dir: where checkpoints (``out_dir/checkpoints``) go.
        config: optimisation settings.
        fingerprint: the settings that determine the run (:func:`run_fingerprint`), saved with every checkpoint;
            resuming from a checkpoint made with other settings raises E504 (``train.*`` are always included).
        lr_multipliers: parameter-name prefix -> learning-rate multiplier, on top of layer-wise decay (a CRF's
            transition scores, say, which start at zero and need far larger steps than the encoder's weights).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        features: list[dict[str, Any]],
        collate: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]],
        loss_fn: Callable[[torch.nn.Module, dict[str, torch.Tensor]], torch.Tensor],
        evaluate: Callable[[torch.nn.Module], dict[str, Any]] | None,
        out_dir: str | Path,
        config: TrainConfig,
        progress: bool = True,
        fingerprint: dict[str, Any] | None = None,
        lr_multipliers: dict[str, float] | None = None,
        loss_units: Callable[[dict[str, Any]], int] | None = None,
    ) -> None:
        """``loss_units(feature)``: the terms a feature adds to the mean ``loss_fn`` takes (labelled tokens for a
        token-mean loss), so that a data-parallel run weights each process's share as one process would; ``None``:
        the loss is a mean over examples."""
        if not features:
            raise TrainingError("E501 no training examples")
        # what a checkpoint must have been made with to be resumed (the batch positions and shapes depend on it)
        self.fingerprint = run_fingerprint({"train": asdict(config)}, n_train_features=len(features), **(fingerprint or {}))
        #: how the last resume was checked ("verified", "unverified: ..."); None when nothing was resumed
        self.resume_check: str | None = None
        #: the checkpoint directory the run resumed from ("last", or "last.old" after a kill during a save); None
        #: when nothing was resumed
        self.resumed_from: str | None = None
        #: how the processes' random states were resumed ("restored", "reseeded: ..."); None when nothing was resumed
        self.resume_rng: str | None = None
        self.model, self.features, self.collate = model, features, collate
        self.loss_fn, self.evaluate_fn, self.cfg = loss_fn, evaluate, config
        self.lr_multipliers = dict(lr_multipliers or {})
        self.units = [int(loss_units(f)) for f in features] if loss_units is not None else None
        if config.dropout is not None:
            n = set_dropout(model, config.dropout)
            log.info("dropout %.3g on %d dropout layers", config.dropout, n)
        self.out = Path(out_dir)
        self.ckpt_dir = self.out / "checkpoints"
        self.dist = distributed.setup(config.device)  # None unless launched as several processes
        self.progress = progress and (self.dist is None or self.dist.rank == 0)
        self.device = self.dist.device if self.dist else resolve_device(config.device)
        self.scaler = grad_scaler(self.device, config.precision)  # also checks the precision for this device
        self.model.to(self.device)  # before the optimizer is built, so its state lives on the same device
        #: what the loss sees: the model itself, or its DDP wrapper (which all-reduces gradients in backward)
        self.net: torch.nn.Module = self.model
        if self.dist is not None:
            from torch.nn.parallel import DistributedDataParallel

            # unused parameters are normal here: a QA batch of factoid questions leaves the yes/no head idle
            self.net = DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                                               find_unused_parameters=True)
        self.lengths = [len(f["input_ids"]) for f in features]
        self.batches_per_epoch = math.ceil(len(features) / config.batch_size)
        self.steps_per_epoch = math.ceil(self.batches_per_epoch / config.grad_accum)
        total = self.steps_per_epoch * config.epochs
        self.total_steps = min(total, config.max_steps) if config.max_steps else total
        self.optimizer = self._make_optimizer()
        warm = int(config.warmup_ratio * self.total_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda s: (s + 1) / max(1, warm) if s < warm else max(0.0, (self.total_steps - s) / max(1, self.total_steps - warm)),
        )
        self.state = _State()
        #: the optimizer step of the last evaluation in this process (None: none yet)
        self._evaluated_at: int | None = None
        #: running mean of the weights at the averaged epoch ends (``average_last``); None until the first one
        self.average: dict[str, torch.Tensor] | None = None

    # -- setup ------------------------------------------------------------------
    def _make_optimizer(self) -> torch.optim.Optimizer:
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        scales = layer_lr_scales([n for n, _ in named], self.cfg.layer_decay)
        for prefix, mult in self.lr_multipliers.items():
            matched = [n for n, _ in named if n.startswith(prefix)]
            if not matched:  # a typo would otherwise train those parameters at the base rate without a word
                raise ConfigError(f"E411 learning-rate multiplier for {prefix!r}: no trainable parameter name starts with it")
            for n in matched:
                scales[n] *= mult
        # one group per (learning-rate scale, weight decay); the order is fixed so that a checkpoint's optimizer
        # state lines up with the groups of the resumed run
        buckets: dict[tuple[float, bool], list[torch.nn.Parameter]] = {}
        for n, p in named:
            # no weight decay on biases and LayerNorm weights, as in BERT
            buckets.setdefault((scales[n], p.ndim >= 2), []).append(p)
        groups = [
            {"params": ps, "lr": self.cfg.lr * scale, "weight_decay": self.cfg.weight_decay if decays else 0.0}
            for (scale, decays), ps in sorted(buckets.items(), key=lambda kv: (-kv[0][0], not kv[0][1]))
        ]
        return torch.optim.AdamW(groups, lr=self.cfg.lr)

    def _base_lr(self) -> float:
        """The scheduled ``train.lr`` now; the first group may carry a layer-decay or head multiplier."""
        group = self.optimizer.param_groups[0]
        return self.cfg.lr * group["lr"] / group["initial_lr"]

    # -- checkpoints --------------------------------------------------------------
    def save_checkpoint(self) -> None:
        """Write a resumable checkpoint atomically (tmp dir, then rename); process 0 writes the weights and the
        training state, every other process its random state (``rng-rank-N.pt``: its own dropout masks)."""
        tmp = self.ckpt_dir / "last.tmp"
        if distributed.is_main():
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
        if self.dist is not None:
            distributed.barrier()  # the directory exists
            if self.dist.rank:
                torch.save(_rng_state(self.device), tmp / f"rng-rank-{self.dist.rank}.pt")
            distributed.barrier()  # every process's file is in it before process 0 renames it
        if distributed.is_main():
            self._write_checkpoint(tmp)
        distributed.barrier()  # nobody may read or resume from a half-written checkpoint

    def _write_checkpoint(self, tmp: Path) -> None:
        from safetensors.torch import save_model

        save_model(self.model, str(tmp / "model.safetensors"))
        if self.average is not None:
            from safetensors.torch import save_file

            save_file(self.average, str(tmp / "average.safetensors"))
        torch.save(
            {
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "rng": _rng_state(self.device),  # process 0's; the others' are in rng-rank-N.pt
                "world": self.dist.world if self.dist else 1,
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            },
            tmp / "training_state.pt",
        )
        (tmp / "state.json").write_text(json.dumps(asdict(self.state), indent=1))
        (tmp / "fingerprint.json").write_text(json.dumps(self.fingerprint, indent=1, sort_keys=True))
        final = self.ckpt_dir / "last"
        old = self.ckpt_dir / "last.old"
        # a kill between the renames below leaves `last.old` behind: next to a `last`, it is stale (removed first, or
        # the rename of `last` onto it fails with "Directory not empty" at every save); without a `last` it is the
        # only complete checkpoint (try_resume reads it), kept until the new `last` is in place
        if final.exists():
            if old.exists():
                shutil.rmtree(old)
            final.rename(old)
        tmp.rename(final)
        if old.exists():
            shutil.rmtree(old)

    def _save_best(self) -> None:
        from safetensors.torch import save_model

        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.ckpt_dir / "best.safetensors.tmp"
        save_model(self.model, str(tmp))
        os.replace(tmp, self.ckpt_dir / "best.safetensors")

    def try_resume(self) -> bool:
        """Load ``checkpoints/last`` if present; returns whether it did."""
        from safetensors.torch import load_model

        last = self.ckpt_dir / "last"
        if not _complete_checkpoint(last):
            # a kill between "last -> last.old" and "last.tmp -> last" (_write_checkpoint) leaves the previous
            # checkpoint, complete, as last.old only: resume from it rather than silently start over at step 0
            fallback = self.ckpt_dir / "last.old"
            if not _complete_checkpoint(fallback):
                return False
            log.warning("%s is missing (the run was killed while saving a checkpoint); resuming from the previous "
                        "checkpoint, %s", last, fallback)
            last = fallback
        self._check_fingerprint(last)  # before loading: a different label set would not even load
        load_model(self.model, str(last / "model.safetensors"))
        blob = torch.load(last / "training_state.pt", weights_only=False, map_location="cpu")  # the optimizer moves its state to the parameters
        self.optimizer.load_state_dict(blob["optimizer"])
        self.scheduler.load_state_dict(blob["scheduler"])
        _set_rng_state(blob["rng"], self.device)
        if self.scaler is not None and blob.get("scaler"):
            self.scaler.load_state_dict(blob["scaler"])
        self.state = _State(**json.loads((last / "state.json").read_text()))
        if (last / "average.safetensors").exists():
            from safetensors.torch import load_file

            self.average = load_file(str(last / "average.safetensors"), device=str(self.device))
        self._restore_process_rng(last, blob.get("world"))
        # a checkpoint written right after an evaluation (eval_every): that step is not evaluated again at the end
        h = self.state.history
        self._evaluated_at = self.state.global_step if h and h[-1].get("step") == self.state.global_step else None
        self.resumed_from = last.name
        log.info("resumed from %s, step %d (epoch %d, batch %d)", last, self.state.global_step, self.state.epoch, self.state.batch_in_epoch)
        return True

    def _restore_process_rng(self, last: Path, saved_world: int | None) -> None:
        """Give every process other than 0 the random state it saved (its own dropout masks go on as in an
        uninterrupted run); with another process count, or a checkpoint without them (older biobert), reseed them
        instead and say so in ``resume_rng`` (the run is then not the uninterrupted one whenever dropout is on)."""
        world, rank = (self.dist.world, self.dist.rank) if self.dist else (1, 0)
        if saved_world == world or (saved_world is None and world == 1):
            if rank:
                _set_rng_state(torch.load(last / f"rng-rank-{rank}.pt", weights_only=False, map_location="cpu"), self.device)
            self.resume_rng = "restored"
            return
        if rank:
            set_seed(self.cfg.seed + rank + 7919 * self.state.global_step)
        why = (f"the checkpoint was written by {saved_world} process(es), now {world}" if saved_world is not None
               else "the checkpoint holds process 0's random state only (made by an older biobert)")
        self.resume_rng = (f"reseeded: {why}; with dropout on, the continuation differs from an uninterrupted run")
        if rank == 0:
            log.warning("random states not restored exactly: %s", self.resume_rng)

    def _check_fingerprint(self, last: Path) -> None:
        fp_file = last / "fingerprint.json"
        if not fp_file.exists():
            self.resume_check = "unverified: the checkpoint has no fingerprint (made by an older biobert)"
            log.warning("resuming %s without checking its settings: %s", self.out, self.resume_check)
            return
        saved = json.loads(fp_file.read_text())
        # a training setting added after the checkpoint was made is absent from it; at its default it trains as the
        # older version did (e.g. train.layer_decay=1.0), so it is not a change
        defaults = run_fingerprint({"train": asdict(TrainConfig())})
        # a checkpoint from before the encoder's identity was recorded: only its name can be checked
        unrecorded = sorted(k for k in ENCODER_IDENTITY_KEYS if k in self.fingerprint and k not in saved)
        changed = sorted(
            k for k in set(saved) | set(self.fingerprint)
            if not _same_setting(saved.get(k, "<unset>"), self.fingerprint.get(k, "<unset>"))
            and not (k not in saved and k in defaults and self.fingerprint.get(k) == defaults[k])
            and k not in unrecorded
        )
        if changed:
            def show(v: Any) -> str:
                r = repr(v)
                return r if len(r) <= 80 else r[:77] + "..."

            detail = "; ".join(f"{k}: {show(saved.get(k, '<unset>'))} -> {show(self.fingerprint.get(k, '<unset>'))}" for k in changed[:12])
            more = f" (+{len(changed) - 12} more)" if len(changed) > 12 else ""
            raise TrainingError(
                f"E504 cannot resume the run in {str(self.out)!r}: its checkpoint was made with different settings "
                f"({detail}{more}); keep the saved settings, or start over with --no-resume (resume=False; this "
                "overwrites it) or choose a new out")
        if unrecorded:
            self.resume_check = (f"unverified: the checkpoint does not record {', '.join(unrecorded)} (made by an older "
                                 "biobert); the other settings match")
            log.warning("resuming %s: %s", self.out, self.resume_check)
            return
        self.resume_check = "verified"

    def load_best(self) -> None:
        """Load the best weights seen so far (or keep the current ones if none were saved)."""
        from safetensors.torch import load_model

        best = self.ckpt_dir / "best.safetensors"
        if best.exists():
            load_model(self.model, str(best))

    # -- loop -------------------------------------------------------------------
    def _score_dev(self, **extra: Any) -> float:
        """Score the current weights on dev (process 0 only), add the metrics (and ``extra``) to the history and
        return the selection metric."""
        st = self.state
        self.model.eval()
        with torch.inference_mode(), autocast(self.device, self.cfg.precision):
            metrics = self.evaluate_fn(self.model)
        self.model.train()
        st.history.append({"step": st.global_step, "epoch": st.epoch, **extra,
                           **{k: v for k, v in metrics.items() if isinstance(v, (int, float))}})
        value = metrics[self.cfg.select_metric]
        if value is None:
            raise TrainingError(f"E507 the selection metric {self.cfg.select_metric!r} is undefined on this dev set "
                                "(specificity with no gold negatives, say); select on another train.select_metric")
        return float(value)

    def _evaluate(self) -> bool:
        """Evaluate, keep the best weights; return True when training should stop early."""
        st = self.state
        # every process records it (only process 0 scores dev), so all agree on whether a final evaluation is due
        self._evaluated_at = st.global_step
        if self.evaluate_fn is None:
            if distributed.is_main():
                self._save_best()
            return False
        if not distributed.is_main():
            return bool(distributed.broadcast(None))  # process 0's decision
        value = self._score_dev()
        improved = value > st.best_metric
        if improved:
            st.best_metric, st.best_step, st.bad_evals = value, st.global_step, 0
            self._save_best()
        else:
            st.bad_evals += 1
        log.info("step %d dev %s=%.4f (best %.4f @ %d)", st.global_step, self.cfg.select_metric, value, st.best_metric, st.best_step)
        if self.progress:
            print(f"[eval] step {st.global_step} epoch {st.epoch} dev {self.cfg.select_metric}={value:.4f} best={st.best_metric:.4f}@{st.best_step}", file=sys.stderr, flush=True)
        return bool(distributed.broadcast(self.cfg.patience is not None and st.bad_evals >= self.cfg.patience))

    def train(self, resume: bool = True) -> dict[str, Any]:
        """Run (or continue) training; returns a summary with the best dev metric and throughput."""
        cfg, st = self.cfg, self.state
        if resume and self.try_resume():
            st = self.state
        else:
            # each process its own dropout masks (the weights are already equal: DDP copied process 0's)
            set_seed(cfg.seed + (self.dist.rank if self.dist else 0))
        if st.finished:
            self.load_best()
            return self._summary()
        self.model.train()
        # single-process runs only: distributed processes would first have to agree on the step to stop at
        with StopSignals(enabled=self.dist is None) as sigterm:
            return self._train_loop(sigterm)

    def _train_loop(self, sigterm: StopSignals) -> dict[str, Any]:
        cfg, st = self.cfg, self.state
        stop = False
        t_start = time.perf_counter()
        tokens_at_start = st.tokens_seen
        running, n_running = 0.0, 0
        # checked before stepping too: a run killed after its checkpoint at max_steps (written inside the loop, before
        # the final one) resumes there, and would otherwise make one step more than max_steps
        while st.epoch < cfg.epochs and not stop and not (cfg.max_steps and st.global_step >= cfg.max_steps):
            batches = length_grouped_batches(self.lengths, cfg.batch_size, cfg.seed * 1000 + st.epoch, cfg.group_by_length)
            for bi in range(st.batch_in_epoch, len(batches)):
                mine, weight = (distributed.shard(batches[bi], self.dist.rank, self.dist.world, self.units) if self.dist
                                else (batches[bi], 1.0))
                batch = to_device(self.collate([self.features[i] for i in mine]), self.device)
                steps_now = not (bi + 1) % cfg.grad_accum or bi + 1 == len(batches)
                # between optimizer steps DDP need not all-reduce: gradients just accumulate locally
                sync = nullcontext() if self.dist is None or steps_now else self.net.no_sync()
                try:
                    with sync:
                        loss = self._loss_backward(batch, weight)
                        if cfg.adversarial_epsilon:
                            self._adversarial_backward(batch, weight)
                except torch.OutOfMemoryError:
                    shape = tuple(batch["input_ids"].shape)
                    raise TrainingError(
                        f"E503 out of memory on {self.device} at a batch of {shape[0]} x {shape[1]} tokens; the same "
                        f"optimisation in less memory: --set train.batch_size={max(1, cfg.batch_size // 2)} "
                        f"--set train.grad_accum={cfg.grad_accum * 2} (or precision bf16/fp16 on a GPU); "
                        "start it again with --no-resume: checkpoints count batches of the old size") from None
                # tokens of the whole (global) batch: features are unpadded, so a length is a token count
                st.tokens_seen += sum(self.lengths[i] for i in batches[bi])
                running += float(loss.detach()) * cfg.grad_accum
                n_running += 1
                st.batch_in_epoch = bi + 1
                if not steps_now:
                    continue
                if self.scaler is not None:
                    self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the scaled ones
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                if self.scaler is not None:
                    self.scaler.step(self.optimizer)  # skips the step when a gradient overflowed
                    self.scaler.update()
                else:
                    self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                st.global_step += 1
                if sigterm.requested:
                    # a scheduler's warning before it kills the job: keep the work done, as pre-training does
                    self._bank_time(t_start)
                    self.save_checkpoint()
                    raise TrainingError(f"E505 stopped by SIGTERM at step {st.global_step}; a checkpoint was saved in "
                                        f"{self.ckpt_dir}: run the same command again to resume")
                if self.progress and st.global_step % cfg.log_every == 0:
                    el = time.perf_counter() - t_start
                    print(
                        f"[train] step {st.global_step}/{self.total_steps} epoch {st.epoch} loss {running / n_running:.4f} "
                        f"lr {self._base_lr():.2e} tok/s {(st.tokens_seen - tokens_at_start) / max(el, 1e-9):.0f}",
                        file=sys.stderr, flush=True,
                    )
                    running, n_running = 0.0, 0
                if cfg.eval_every and st.global_step % cfg.eval_every == 0:
                    self._bank_time(t_start)  # evaluation time is not training time
                    stop = self._evaluate()
                    self.save_checkpoint()
                    t_start, tokens_at_start = time.perf_counter(), st.tokens_seen
                elif cfg.checkpoint_every and st.global_step % cfg.checkpoint_every == 0:
                    self._bank_time(t_start)
                    t_start, tokens_at_start = time.perf_counter(), st.tokens_seen
                    self.save_checkpoint()
                if stop or (cfg.max_steps and st.global_step >= cfg.max_steps):
                    stop = True
                    break
            else:
                st.epoch += 1
                st.batch_in_epoch = 0
                self._bank_time(t_start)
                if cfg.average_last and st.epoch > cfg.epochs - cfg.average_last:
                    self._update_average()
                if not cfg.eval_every:
                    stop = self._evaluate() or stop
                self.save_checkpoint()
                t_start, tokens_at_start = time.perf_counter(), st.tokens_seen
        self._bank_time(t_start)
        if self._evaluated_at != st.global_step:
            # the last steps were never evaluated (eval_every, or max_steps ending an epoch early): without this, a
            # max_steps run was never scored on dev ("best step -1"), and without dev it kept the last epoch end's
            # weights instead of the final ones
            self._evaluate()
        if cfg.average_last and st.averaged_epochs < cfg.average_last:
            # early stopping (patience) or max_steps ended the run before the averaging window was complete
            log.warning("average_last=%d, but only %d epoch end(s) fell in the window before training stopped; "
                        "the summary's averaged_epochs says how many were averaged", cfg.average_last, st.averaged_epochs)
        if self.average is not None:
            self._use_average()
        st.finished = True
        self.save_checkpoint()
        self.load_best()
        return self._summary()

    def _loss_backward(self, batch: dict[str, torch.Tensor], weight: float) -> torch.Tensor:
        """Backpropagate one micro-batch's loss into the gradients, weighted by its share of a distributed batch and
        by the fp16 loss scale; returns the loss divided by ``grad_accum`` (without those weights), for logging."""
        with autocast(self.device, self.cfg.precision):
            loss = self.loss_fn(self.net, batch) / self.cfg.grad_accum
        scaled = loss * weight if self.dist else loss
        (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
        return loss

    def _adversarial_backward(self, batch: dict[str, torch.Tensor], weight: float) -> None:
        """FGM's second pass: loss at the embeddings moved along their gradient, backpropagated into the same grads.

        The whole word-embedding matrix moves by ``epsilon * g / ||g||``, as FGM does for NER; rows of tokens absent
        from the batch have zero gradient, so in effect only this batch's tokens move. The weights are restored from a
        copy, not by subtracting, so no rounding is left behind.
        """
        cfg = self.cfg
        emb = self.model.get_input_embeddings().weight
        if emb.grad is None:
            return
        norm = float(torch.linalg.vector_norm(emb.grad))
        # an fp16 step whose gradient overflowed is skipped by the scaler anyway: no direction to follow
        if not math.isfinite(norm) or norm == 0.0:
            return
        saved = emb.detach().clone()
        with torch.no_grad():
            emb.add_(emb.grad, alpha=cfg.adversarial_epsilon / norm)  # a loss scale cancels in g / ||g||
        try:
            self._loss_backward(batch, weight)
        finally:
            with torch.no_grad():
                emb.copy_(saved)

    # -- weight averaging -----------------------------------------------------------
    def _update_average(self) -> None:
        """Fold the current weights into the running mean (every process: their weights are equal under DDP)."""
        n = self.state.averaged_epochs
        with torch.no_grad():
            current = {k: v.detach() for k, v in self.model.state_dict().items()}
            if self.average is None:
                # clone: the state dict shares storage with the live parameters
                self.average = {k: v.clone().contiguous() for k, v in current.items()}
            else:
                for k, v in current.items():
                    if v.is_floating_point():  # integer buffers (position ids) are equal at every epoch
                        self.average[k].add_(v - self.average[k], alpha=1.0 / (n + 1))
        self.state.averaged_epochs = n + 1

    def _use_average(self) -> None:
        """Make the averaged weights the final model: always without a dev set, else only if they score higher."""
        st = self.state
        last = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.model.load_state_dict(self.average)
        if self.evaluate_fn is None:
            if distributed.is_main():
                self._save_best()
            st.best_is_average = True
        elif distributed.is_main():
            value, best_epoch = self._score_dev(average_of_epochs=st.averaged_epochs), st.best_metric
            better = value > st.best_metric
            if better:
                st.best_metric, st.best_is_average = value, True
                self._save_best()
            if self.progress:
                print(f"[eval] average of the last {st.averaged_epochs} epochs: dev {self.cfg.select_metric}={value:.4f}"
                      f" ({'kept' if better else 'not kept'}; best epoch {best_epoch:.4f})", file=sys.stderr, flush=True)
            st.best_is_average = bool(distributed.broadcast(better))
        else:
            st.best_is_average = bool(distributed.broadcast(None))
        # the last epoch's weights go into the final resumable checkpoint; load_best() then picks the kept ones
        self.model.load_state_dict(last)

    def _bank_time(self, t_start: float) -> None:
        self.state.train_seconds += time.perf_counter() - t_start

    def _summary(self) -> dict[str, Any]:
        st = self.state
        return {
            "best_dev": st.best_metric if st.best_metric > -math.inf else None,
            "best_step": st.best_step,
            "steps": st.global_step,
            "epochs_completed": st.epoch,
            "tokens_seen": st.tokens_seen,
            "train_seconds": round(st.train_seconds, 2),
            "tokens_per_second": round(st.tokens_seen / st.train_seconds, 1) if st.train_seconds else None,
            "processes": self.dist.world if self.dist else 1,
            "device": str(self.device),
            "resumed": self.resume_check is not None,
            "resume_check": self.resume_check,
            "resumed_from": self.resumed_from,
            "resume_rng": self.resume_rng,
            "averaged_epochs": st.averaged_epochs,
            "best_is_average": st.best_is_average,
            "history": st.history,
        }



class StopSignals:
    """Turns ``signals`` into a request that a training loop honours at its next step boundary (checkpoint, then
    stop); a second signal gives up at once (KeyboardInterrupt). Handlers are set only where Python allows them
    (the main thread) and when ``enabled``; the previous handlers come back on exit."""

    def __init__(self, signals: Sequence[int] = (signal.SIGTERM,), enabled: bool = True) -> None:
        self.signals = tuple(signals) if enabled and threading.current_thread() is threading.main_thread() else ()
        self.requested = False
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> "StopSignals":
        for sig in self.signals:
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
