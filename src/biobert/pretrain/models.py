"""Start points for pre-training and the encoder directory that comes out.

* **continue** from any checkpoint (``init``): its vocabulary is kept (the BioBERT recipe); the
  MLM head is created and initialised (``N(0, initializer_range)`` dense, LayerNorm 1/0, zero
  bias, decoder tied to the input embeddings) when the checkpoint has none, as for the default
  encoder (all-MiniLM-L6-v2 ships a bare ``BertModel``). Its pooler, if any, is kept aside and
  written back into the output so ``AutoModel`` loads it unchanged.
* **from scratch** with a WordPiece tokenizer (``biobert vocab``) and a size preset or an
  explicit config (the PubMedBERT recipe).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from biobert.encoders import NAMED_ENCODERS, fp32_kwargs, load_checked, quiet_transformers
from biobert.errors import ConfigError, ModelLoadError
from biobert.hub import hub_kwargs

__all__ = [
    "SIZE_PRESETS",
    "ModelBundle",
    "resolve_init",
    "load_tokenizer",
    "build_models",
    "save_encoder",
    "electra_generator_dir",
    "write_wordpiece_vocab",
]

# hidden, layers, heads, intermediate
SIZE_PRESETS: dict[str, dict[str, int]] = {
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
    "mini": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "small": dict(hidden_size=512, num_hidden_layers=4, num_attention_heads=8, intermediate_size=2048),
    "medium": dict(hidden_size=512, num_hidden_layers=8, num_attention_heads=8, intermediate_size=2048),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}


def resolve_init(init: str | os.PathLike | None) -> str:
    """``None`` / ``"default"`` -> the default general encoder (all-MiniLM-L6-v2); else unchanged."""
    if init is None or str(init) in ("default", "minilm", "all-MiniLM-L6-v2"):
        return NAMED_ENCODERS["minilm"]()  # E302 when its package is not installed
    return str(init)


def load_tokenizer(path: str | os.PathLike):
    from transformers import AutoTokenizer

    try:
        with quiet_transformers():
            tok = AutoTokenizer.from_pretrained(str(path), **hub_kwargs(path))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"E318 cannot load a tokenizer from {str(path)!r}: {exc}") from exc
    if not getattr(tok, "is_fast", False):
        raise ModelLoadError(f"E304 the tokenizer in {str(path)!r} is not a fast (tokenizers) tokenizer")
    return tok


@dataclass
class ModelBundle:
    """What an objective trains, and how to write the encoder directory afterwards."""

    objective: str
    model: nn.Module  # MLM / SOP model, or the ELECTRA discriminator
    generator: nn.Module | None = None  # ELECTRA only
    extra_state: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. the pooler kept aside
    created_head: list[str] = field(default_factory=list)  # parameter names newly initialised
    source: str = ""
    generator_source: str | None = None  # ELECTRA: the generator checkpoint continued, or "new" (random)


def _config_dict(model_config: dict | str | os.PathLike | None) -> dict[str, Any]:
    if model_config is None:
        return {}
    if isinstance(model_config, dict):
        return dict(model_config)
    p = Path(model_config)
    if not p.exists():
        raise ConfigError(f"E461 model config {str(p)!r} not found")
    if p.suffix in (".yaml", ".yml"):
        import yaml

        return dict(yaml.safe_load(p.read_text()) or {})
    return json.loads(p.read_text())


def _check_config_keys(model_type: str, keys: Iterable[str], where: str) -> None:
    """Refuse keys the transformers config class of ``model_type`` does not know.

    ``PretrainedConfig`` keeps any keyword as an attribute, so a misspelt key (``num_hidden_layer``) built a
    model of the preset size without a word.

    Raises:
        ConfigError: E401 naming the unknown keys and their close matches.
    """
    import difflib
    import inspect

    from transformers import AutoConfig

    cfg = AutoConfig.for_model(model_type)
    known = set(cfg.to_dict()) | set(getattr(cfg, "attribute_map", {}))
    for klass in type(cfg).__mro__:  # keyword arguments the constructors take (some are not stored under their name)
        if "__init__" in vars(klass):
            known |= {n for n, p in inspect.signature(klass.__init__).parameters.items() if p.kind == p.POSITIONAL_OR_KEYWORD}
    known.discard("self")
    unknown = sorted(k for k in keys if k not in known)
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, sorted(known), n=3)
            hints.append(f"{k!r}" + (f" (did you mean {', '.join(map(repr, close))}?)" if close else ""))
        raise ConfigError(f"E401 {where}: unknown {model_type} config key(s) {', '.join(hints)}")


def _scratch_config(model_type: str, tokenizer, size: str, overrides: dict[str, Any], max_length: int):
    from transformers import AutoConfig

    if size not in SIZE_PRESETS:
        raise ConfigError(f"E462 unknown model size {size!r}; expected one of {', '.join(SIZE_PRESETS)}")
    kw: dict[str, Any] = dict(SIZE_PRESETS[size])
    kw.update(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
        max_position_embeddings=max(512, max_length),
        type_vocab_size=2,
    )
    if model_type == "albert":
        kw["embedding_size"] = min(128, kw["hidden_size"])
        kw["num_hidden_groups"] = 1
    if model_type == "electra":
        kw["embedding_size"] = kw["hidden_size"]
    kw.update(overrides)
    kw.pop("model_type", None)
    return AutoConfig.for_model(model_type, **kw)


def _read_tensors(init: str, predicate) -> dict[str, torch.Tensor]:
    """Tensors of a local checkpoint whose names satisfy ``predicate`` (safetensors or .bin)."""
    d = Path(init)
    out: dict[str, torch.Tensor] = {}
    if not d.is_dir():
        return out
    files = sorted(d.glob("*.safetensors"))
    if files:
        from safetensors import safe_open

        for f in files:
            with safe_open(str(f), framework="pt") as fh:
                for k in fh.keys():
                    if predicate(k):
                        out[k] = fh.get_tensor(k)
        return out
    for f in sorted(d.glob("pytorch_model*.bin")):
        sd = torch.load(f, map_location="cpu", weights_only=True)
        out.update({k: v for k, v in sd.items() if predicate(k)})
    return out


def _init_head(model: nn.Module, names: set[str]) -> None:
    """(Re)initialise newly created head parameters the way BERT does, never touching a weight
    tied to the input embeddings."""
    std = getattr(model.config, "initializer_range", 0.02)
    emb = model.get_input_embeddings().weight
    params = dict(model.named_parameters(remove_duplicate=False))
    modules = dict(model.named_modules())
    with torch.no_grad():
        # in the model's parameter order, not the set's: a set of strings iterates in a per-process hash order, and
        # each normal_() draw takes the next random numbers, so two new head matrices (SOP: transform + classifier)
        # came out different under the same seed from one process to the next
        for name, p in params.items():
            if name not in names or p is emb:
                continue
            owner = modules.get(name.rsplit(".", 1)[0]) if "." in name else model
            leaf = name.rsplit(".", 1)[-1]
            if isinstance(owner, nn.LayerNorm) or "LayerNorm" in name or "layer_norm" in name:
                p.fill_(1.0 if leaf == "weight" else 0.0)
            elif leaf == "bias" or p.dim() == 1:
                p.zero_()
            else:
                p.normal_(0.0, std)


def _load_with_head(cls, init: str) -> tuple[nn.Module, list[str]]:
    """``cls.from_pretrained(init)``; heads missing from the checkpoint (and a pooler) are created and
    initialised. A missing encoder weight is an error (E316: wrong architecture or parameter names)."""
    model, head = load_checked(cls, init, new_head=True)
    if head:
        _init_head(model, set(head))
    model.tie_weights()
    return model, head


def _pooler_aside(init: str, model: nn.Module) -> dict[str, torch.Tensor]:
    """The checkpoint's pooler weights when the training model has no pooler (BERT MLM)."""
    own = set(model.state_dict())
    prefix = model.base_model_prefix
    found = _read_tensors(init, lambda k: "pooler." in k)
    out = {}
    for k, v in found.items():
        name = k if k.startswith(prefix + ".") else f"{prefix}.{k}"
        if name not in own:
            out[name] = v
    return out


def _fresh_pooler(model: nn.Module) -> dict[str, torch.Tensor]:
    """A freshly initialised pooler for BERT/RoBERTa MLM models trained from scratch, so the saved
    directory loads with ``AutoModel`` without random weights."""
    cfg = model.config
    if cfg.model_type not in ("bert", "roberta") or any("pooler" in k for k in model.state_dict()):
        return {}
    h = cfg.hidden_size
    w = torch.empty(h, h).normal_(0.0, getattr(cfg, "initializer_range", 0.02))
    prefix = model.base_model_prefix
    return {f"{prefix}.pooler.dense.weight": w, f"{prefix}.pooler.dense.bias": torch.zeros(h)}


def _generator_config(disc_cfg, scale: float, overrides: dict[str, Any]):
    cfg = disc_cfg.__class__.from_dict(disc_cfg.to_dict())
    heads = max(1, round(disc_cfg.num_attention_heads * scale))
    head_dim = disc_cfg.hidden_size // disc_cfg.num_attention_heads
    cfg.num_attention_heads = heads
    cfg.hidden_size = heads * head_dim
    cfg.intermediate_size = max(1, round(disc_cfg.intermediate_size * scale))
    cfg.architectures = ["ElectraForMaskedLM"]
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return cfg


def build_models(
    objective: str,
    tokenizer,
    init: str | None = "default",
    from_scratch: bool = False,
    model_size: str = "small",
    model_config: dict | str | None = None,
    max_length: int = 128,
    generator_scale: float = 0.25,
    generator_init: str | None = None,
) -> ModelBundle:
    """Create the model(s) an objective trains.

    Args:
        objective: ``"mlm"``, ``"sop"`` or ``"electra"``.
        tokenizer: the tokenizer (its size sets the vocabulary of scratch models; a continued model
            must match it).
        init: checkpoint to continue from (ignored with ``from_scratch``).
        from_scratch: new random model of ``model_size`` (+ ``model_config`` overrides).
        generator_scale: ELECTRA generator size relative to the discriminator (hidden size,
            heads, intermediate size); ELECTRA recommends 1/4 to 1/2.
        generator_init: an existing ELECTRA generator checkpoint to continue.

    Raises:
        ConfigError / ModelLoadError (E30x, E46x).
    """
    from transformers import (
        AlbertForPreTraining,
        AutoConfig,
        AutoModelForMaskedLM,
        BertForPreTraining,
        ElectraForMaskedLM,
        ElectraForPreTraining,
    )

    overrides = _config_dict(model_config)
    if objective not in ("mlm", "sop", "electra"):
        raise ConfigError(f"E463 unknown objective {objective!r}; expected mlm, sop or electra")

    gen_overrides = overrides.get("generator") if objective == "electra" else None
    if gen_overrides is not None and not isinstance(gen_overrides, dict):
        raise ConfigError(f"E402 model_config.generator: expected a mapping of ELECTRA config keys, got {gen_overrides!r}")
    if gen_overrides and generator_init:
        raise ConfigError(f"E470 model_config.generator applies to a new generator; the one in {str(generator_init)!r} is "
                          "continued as it is: drop model_config.generator")
    if not from_scratch:
        ignored = sorted(k for k in overrides if not (k == "generator" and objective == "electra"))
        if ignored:
            # the continued checkpoint's config.json defines the model; these were dropped without a word
            raise ConfigError(f"E470 model_config ({', '.join(ignored)}) applies to a model built from scratch; with --init the "
                              "checkpoint's own config is used: drop model_config, or add --from-scratch")
    if from_scratch:
        mt = {"mlm": overrides.get("model_type", "bert"), "sop": overrides.get("model_type", "albert"), "electra": "electra"}[objective]
        _check_config_keys(mt, [k for k in overrides if k not in ("model_type", "generator")], "model_config")
        cfg = _scratch_config(mt, tokenizer, model_size, overrides, max_length)
        with quiet_transformers():
            if objective == "mlm":
                model = AutoModelForMaskedLM.from_config(cfg)
            elif objective == "sop":
                model = AlbertForPreTraining(cfg) if mt == "albert" else BertForPreTraining(cfg)
            else:
                model = ElectraForPreTraining(cfg)
        bundle = ModelBundle(objective, model, source="scratch")
        if objective == "mlm":
            bundle.extra_state = _fresh_pooler(model)
    else:
        init = resolve_init(init)
        try:
            cfg = AutoConfig.from_pretrained(init, **hub_kwargs(init))
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"E319 cannot load a model config from {init!r}: {exc}") from exc
        if objective == "mlm":
            model, head = _load_with_head(AutoModelForMaskedLM, init)
            bundle = ModelBundle(objective, model, created_head=head, source=init)
            bundle.extra_state = _pooler_aside(init, model)
        elif objective == "sop":
            cls = {"albert": AlbertForPreTraining, "bert": BertForPreTraining}.get(cfg.model_type)
            if cls is None:
                raise ConfigError(f"E464 sentence-order prediction needs an ALBERT or BERT checkpoint, {init!r} is {cfg.model_type!r}")
            model, head = _load_with_head(cls, init)
            bundle = ModelBundle(objective, model, created_head=head, source=init)
        else:
            if cfg.model_type != "electra":
                raise ConfigError(f"E465 ELECTRA pre-training continues an ELECTRA checkpoint; {init!r} is {cfg.model_type!r} (use --from-scratch)")
            model, head = _load_with_head(ElectraForPreTraining, init)
            bundle = ModelBundle(objective, model, created_head=head, source=init)
        if model.get_input_embeddings().weight.shape[0] < len(tokenizer):
            raise ConfigError(
                f"E466 the tokenizer has {len(tokenizer)} tokens but {init!r} embeds {model.get_input_embeddings().weight.shape[0]}"
            )

    if objective == "electra":
        if generator_init:
            with quiet_transformers():
                gen = ElectraForMaskedLM.from_pretrained(generator_init, **fp32_kwargs(), **hub_kwargs(generator_init))
            bundle.generator_source = str(generator_init)
        else:
            bundle.generator_source = "new"
            _check_config_keys("electra", gen_overrides or {}, "model_config.generator")
            gcfg = _generator_config(bundle.model.config, generator_scale, gen_overrides or {})
            with quiet_transformers():
                gen = ElectraForMaskedLM(gcfg)
        bundle.generator = gen
    return bundle


def electra_generator_dir(init: str | os.PathLike | None) -> str | None:
    """The ``generator/`` directory that :func:`save_encoder` writes next to an ELECTRA discriminator, when
    ``init`` (a local directory) has one; else ``None`` (a hub id or a discriminator saved without it)."""
    if init is None:
        return None
    gen = Path(init) / "generator"
    return str(gen) if (gen / "config.json").is_file() else None


def save_encoder(bundle: ModelBundle, tokenizer, out_dir: str | os.PathLike, state_dict: dict[str, torch.Tensor] | None = None) -> Path:
    """Write a Hugging Face directory (config, safetensors, tokenizer) that loads with
    ``AutoModel`` / ``AutoTokenizer`` (and ``AutoModelForMaskedLM`` / ``ElectraForPreTraining`` to
    continue pre-training). The ELECTRA generator goes to ``generator/``.

    The files are written into ``OUT/.encoder.tmp`` and each is then moved into place (an atomic rename): the
    interim encoder is rewritten at every checkpoint, and a kill in the middle of writing ``model.safetensors``
    left a truncated file where ``--encoder OUT`` would load it.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".encoder.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    _write_encoder(bundle, tokenizer, tmp, state_dict)
    for f in sorted(p for p in tmp.rglob("*") if p.is_file()):
        dest = out / f.relative_to(tmp)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, dest)
    shutil.rmtree(tmp)
    return out


def _write_encoder(bundle: ModelBundle, tokenizer, out: Path, state_dict: dict[str, torch.Tensor] | None) -> None:
    out.mkdir(parents=True)
    model = bundle.model
    sd = dict(model.state_dict()) if state_dict is None else dict(state_dict)
    sd.update({k: v.detach().cpu() for k, v in bundle.extra_state.items()})
    with quiet_transformers():
        model.save_pretrained(out, state_dict=sd, safe_serialization=True)
        tokenizer.save_pretrained(out)
        write_wordpiece_vocab(tokenizer, out)
        if bundle.generator is not None:
            gen = bundle.generator
            gsd = {k: v.detach().clone() for k, v in gen.state_dict().items()}  # break sharing for safetensors
            gen.save_pretrained(out / "generator", state_dict=gsd, safe_serialization=True)
            tokenizer.save_pretrained(out / "generator")
            write_wordpiece_vocab(tokenizer, out / "generator")


def write_wordpiece_vocab(tokenizer, out_dir: str | os.PathLike) -> Path | None:
    """Write ``vocab.txt`` (one token a line, in id order) for a WordPiece tokenizer when ``save_pretrained``
    left it out (a fast tokenizer loaded from ``tokenizer.json`` alone saves no vocabulary file): BERT tools
    outside transformers (the original TF code, BertTokenizer's slow path, vocab hashes) read that file.
    Returns the file written, or ``None`` (there was one, or the tokenizer is not WordPiece)."""
    target = Path(out_dir) / "vocab.txt"
    if target.exists():
        return None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or json.loads(backend.to_str()).get("model", {}).get("type") != "WordPiece":
        return None
    items = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    target.write_text("".join(t + "\n" for t, _ in items), encoding="utf-8")
    return target
