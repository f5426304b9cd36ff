"""Original (TensorFlow 1) BERT checkpoints -> Hugging Face directories, without TensorFlow.

The BioBERT, BlueBERT and original BERT releases are TF checkpoints: ``model.ckpt-N.index`` +
``model.ckpt-N.data-00000-of-00001`` beside ``bert_config.json`` and ``vocab.txt``. Users who tried
to load them hit optimizer variables in the checkpoint (``BERTAdam``, biobert#2) and dead conversion
links (biobert-pytorch#6, #10). This module reads the checkpoint format itself, so conversion needs
neither TensorFlow nor a network:

* :func:`read_tf_checkpoint` parses the tensor-bundle index (a LevelDB-format table of
  ``BundleEntryProto`` records) and slices each tensor out of its data shard, checking the
  stored CRC32C when ``google-crc32c`` is installed.
* :func:`convert_bert_checkpoint` maps BERT's variable names to ``BertForPreTraining``
  (``BertModel`` when the checkpoint has no ``cls/`` heads; ``kernel`` matrices transposed), leaves out the optimizer's variables (``adam_m``,
  ``adam_v``, ``global_step``, ...) and lists every other variable it did not use, saves
  safetensors + config + tokenizer + a model card, then reloads the directory and checks that
  every converted tensor is bit-identical to the checkpoint's.

    biobert convert-tf biobert_v1.1_pubmed/model.ckpt-1000000 --out biobert-v1.1 [--cased]

Error codes: E290 not a readable checkpoint (index or data file), E291 a tensor type this reader
does not handle, E292 CRC mismatch; E340 variables the model lacks or needs (ModelLoadError).
"""

from __future__ import annotations

import json
import logging
import re
import struct
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from biobert.errors import BiobertError, DataFormatError, ModelLoadError

logger = logging.getLogger(__name__)

__all__ = ["read_tf_checkpoint", "list_tf_variables", "tf_variable_to_hf", "convert_bert_checkpoint", "checkpoint_prefix",
           "OPTIMIZER_VARIABLE"]

_MAGIC = 0xDB4775248B80FB57
# tensorflow/core/framework/types.proto
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16, 6: np.int8, 9: np.int64,
           10: np.bool_, 17: np.uint16, 19: np.float16, 22: np.uint32, 23: np.uint64}
_BFLOAT16 = 14
#: variables that belong to the optimizer or the training loop, never to the model
OPTIMIZER_VARIABLE = re.compile(r"(^|/)(adam_[mv]|Adam(_\d+)?|global_step|beta[12]_power|Momentum|good_steps|loss_scale)(/|$)")


# -- protobuf wire format (the two small messages the index holds) -----------------
def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = _varint(buf, i)
        elif wt == 1:
            val, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = _varint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wt == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"protobuf wire type {wt}")
        yield num, wt, val


def _entry(buf: bytes) -> dict[str, Any]:
    e: dict[str, Any] = {"dtype": 0, "shape": [], "shard_id": 0, "offset": 0, "size": 0, "crc32c": None, "sliced": False}
    for num, _, val in _fields(buf):
        if num == 1:
            e["dtype"] = val
        elif num == 2:
            e["shape"] = [next((v for n, _, v in _fields(dim) if n == 1), 0) for n, _, dim in _fields(val) if n == 2]
        elif num == 3:
            e["shard_id"] = val
        elif num == 4:
            e["offset"] = val
        elif num == 5:
            e["size"] = val
        elif num == 6:
            e["crc32c"] = struct.unpack("<I", val)[0]
        elif num == 7:
            e["sliced"] = True
    return e


# -- the LevelDB table format of the index file -------------------------------------
def _block(data: bytes, offset: int, size: int, where: str) -> list[tuple[bytes, bytes]]:
    if offset + size + 5 > len(data):
        raise DataFormatError("E290", where, None, "a block inside the index file", found=f"block at {offset}+{size} past its end")
    if data[offset + size] != 0:  # trailer: compression type (0 none, 1 snappy), then a CRC
        raise DataFormatError("E290", where, None, "an uncompressed index block (TensorFlow writes them so)",
                              found=f"compression type {data[offset + size]}")
    blk = data[offset:offset + size]
    n_restarts = struct.unpack("<I", blk[-4:])[0]
    end = len(blk) - 4 - 4 * n_restarts
    out, i, key = [], 0, b""
    while i < end:
        shared, i = _varint(blk, i)
        non_shared, i = _varint(blk, i)
        vlen, i = _varint(blk, i)
        key = key[:shared] + blk[i:i + non_shared]
        i += non_shared
        out.append((key, blk[i:i + vlen]))
        i += vlen
    return out


def _index_entries(index_path: Path) -> list[tuple[str, bytes]]:
    data = index_path.read_bytes()
    where = str(index_path)
    if len(data) < 48 or struct.unpack("<Q", data[-8:])[0] != _MAGIC:
        raise DataFormatError("E290", where, None, "a TensorFlow checkpoint index (LevelDB table magic at its end)",
                              found=f"{len(data)} bytes without it")
    footer = data[-48:]
    _, i = _varint(footer, 0)
    _, i = _varint(footer, i)  # metaindex handle (unused)
    idx_off, i = _varint(footer, i)
    idx_size, _ = _varint(footer, i)
    out = []
    for _, handle in _block(data, idx_off, idx_size, where):
        off, j = _varint(handle, 0)
        size, _ = _varint(handle, j)
        out += [(k.decode("utf-8"), v) for k, v in _block(data, off, size, where)]
    return out


def _crc32c_checker() -> Any:
    try:
        import google_crc32c  # optional: a C implementation; pure Python would take minutes per checkpoint

        return google_crc32c.value
    except ImportError:
        return None


def _unmask(crc: int) -> int:
    rot = (crc - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


@contextmanager
def _parsing(index: str | Path, what: str) -> Iterator[None]:
    """Turn what a damaged index does to the parsers (a varint running off the buffer, a bad wire type, a name
    that is not UTF-8, a shape that does not fit the bytes) into E290 naming the index file."""
    try:
        yield
    except BiobertError:
        raise
    except (IndexError, ValueError, TypeError, UnicodeDecodeError, struct.error) as exc:
        raise DataFormatError("E290", index, None, what, found=f"{type(exc).__name__}: {exc}") from None


def _open_index(prefix: str | Path) -> tuple[Path, list[tuple[str, bytes]], int]:
    p = Path(str(prefix).removesuffix(".index"))
    index = Path(f"{p}.index")
    if not index.is_file():
        raise DataFormatError("E290", index, None, "the .index file of a TensorFlow checkpoint", found="no such file")
    with _parsing(index, "a readable TensorFlow checkpoint index (it looks damaged)"):
        entries = _index_entries(index)
        num_shards = 1
        if entries and entries[0][0] == "":  # the BundleHeaderProto
            for num, _, val in _fields(entries[0][1]):
                if num == 1:
                    num_shards = val
                elif num == 2 and val != 0:
                    raise DataFormatError("E290", index, None, "a little-endian checkpoint", found="big-endian")
    return p, [(k, v) for k, v in entries if k != ""], num_shards


def list_tf_variables(prefix: str | Path) -> dict[str, tuple[str, list[int]]]:
    """Name -> (dtype, shape) of every variable in a checkpoint, without reading any tensor data."""
    _, entries, _ = _open_index(prefix)
    names = {code: np.dtype(t).name for code, t in _DTYPES.items()} | {7: "string", _BFLOAT16: "bfloat16"}
    out = {}
    for name, raw in entries:
        with _parsing(f"{Path(str(prefix).removesuffix('.index'))}.index", f"a readable index entry for {name!r}"):
            e = _entry(raw)
        out[name] = (names.get(e["dtype"], f"dtype {e['dtype']}"), e["shape"])
    return out


def read_tf_checkpoint(prefix: str | Path, select: Callable[[str], bool] | None = None,
                       stats: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """Tensors of a TF (V2) checkpoint as numpy arrays, by variable name.

    Each tensor is read from its data shard with one seek, so variables left out by ``select``
    (optimizer slots are two thirds of a pre-training checkpoint) cost nothing.

    Args:
        prefix: the checkpoint prefix (``.../model.ckpt-1000000``); ``.index`` may be included.
        select: read only variables for which this returns true (``None``: all).
        stats: filled with ``variables``, ``read``, ``bytes_read``, ``crc_checked`` and ``skipped_string_tensors``.

    Raises:
        DataFormatError: E290 unreadable index/data file, E291 unsupported tensor type, E292 CRC mismatch.
    """
    stats = stats if stats is not None else {}
    p, entries, num_shards = _open_index(prefix)
    index = f"{p}.index"
    crc = _crc32c_checker()
    files: dict[int, Any] = {}
    out: dict[str, np.ndarray] = {}
    stats.update(variables=len(entries), read=0, bytes_read=0, crc_checked=0, crc_unchecked=0, skipped_string_tensors=0)
    try:
        for name, raw in entries:
            if select is not None and not select(name):
                continue
            with _parsing(index, f"a readable index entry for {name!r}"):
                e = _entry(raw)
            if e["dtype"] == 7:  # DT_STRING (e.g. a saved iterator state): not model weights
                stats["skipped_string_tensors"] += 1
                continue
            if e["sliced"] or (e["dtype"] not in _DTYPES and e["dtype"] != _BFLOAT16):
                raise DataFormatError("E291", index, None, "an unpartitioned numeric tensor", found=f"{name!r}: dtype {e['dtype']}, sliced {e['sliced']}")
            shard = e["shard_id"]
            data_path = Path(f"{p}.data-{shard:05d}-of-{num_shards:05d}")
            if shard not in files:
                if not data_path.is_file():
                    raise DataFormatError("E290", data_path, None, f"data shard {shard} of {num_shards} of {p.name}", found="no such file")
                files[shard] = open(data_path, "rb")
            f = files[shard]
            f.seek(e["offset"])
            buf = f.read(e["size"])
            if len(buf) != e["size"]:
                raise DataFormatError("E290", data_path, None, f"{e['size']} bytes for {name!r} at offset {e['offset']}", found=f"{len(buf)} bytes")
            if crc is None and e["crc32c"] is not None:
                stats["crc_unchecked"] = stats.get("crc_unchecked", 0) + 1
            if crc is not None and e["crc32c"] is not None:
                if crc(buf) != _unmask(e["crc32c"]):
                    raise DataFormatError("E292", data_path, None, f"the bytes whose CRC32C {str(index)!r} stores for {name!r}", found="different bytes")
                stats["crc_checked"] += 1
            if e["dtype"] == _BFLOAT16:
                arr = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                arr = np.frombuffer(buf, dtype=np.dtype(_DTYPES[e["dtype"]]).newbyteorder("<")).copy()
            with _parsing(index, f"a shape of {name!r} that fits its {e['size']} bytes"):
                out[name] = arr.reshape(e["shape"])
            stats["read"] += 1
            stats["bytes_read"] += e["size"]
    finally:
        for f in files.values():
            f.close()
    if stats["crc_unchecked"]:
        # the CRCs the index stores went unchecked: a damaged data file would be converted without a word
        logger.warning("W293 %s: %d tensor CRC32C(s) not checked (install google-crc32c, the 'convert' extra, to "
                       "check them)", index, stats["crc_unchecked"])
    return out


# -- BERT names -> Hugging Face names ------------------------------------------------------
def tf_variable_to_hf(name: str) -> tuple[str, bool] | None:
    """The ``BertForPreTraining`` parameter a BERT TF variable fills, and whether it is transposed (``None``: not BERT's)."""
    if not (name.startswith("bert/") or name.startswith("cls/")):
        return None
    if name == "cls/predictions/output_bias":
        return "cls.predictions.bias", False
    if name.startswith("cls/seq_relationship/"):
        leaf = name.rsplit("/", 1)[1]
        return {"output_weights": ("cls.seq_relationship.weight", False), "output_bias": ("cls.seq_relationship.bias", False)}.get(leaf)
    parts = [re.sub(r"^layer_(\d+)$", r"layer.\1", x) for x in name.split("/")]
    leaf = parts[-1]
    if leaf in ("word_embeddings", "token_type_embeddings", "position_embeddings"):
        return ".".join(parts) + ".weight", False
    ren = {"kernel": "weight", "gamma": "weight", "beta": "bias", "bias": "bias"}
    if leaf not in ren:
        return None
    return ".".join(parts[:-1] + [ren[leaf]]), leaf == "kernel"


def _is_cased(vocab: Path) -> bool:
    """A BERT vocabulary is cased when ordinary tokens carry capitals (uncased ones have none outside [SPECIAL])."""
    caps = 0
    with open(vocab, encoding="utf-8") as f:
        for line in f:
            t = line.strip()
            if t and not (t.startswith("[") and t.endswith("]")) and any(c.isupper() for c in t):
                caps += 1
    return caps > 100


def checkpoint_prefix(prefix: str | Path) -> Path:
    """The checkpoint prefix, also when given a release directory (``biobert_v1.1_pubmed/``) holding one."""
    p = Path(str(prefix).removesuffix(".index"))
    if not p.is_dir():
        return p
    found = sorted(i.with_suffix("") for i in p.glob("*.index"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise ModelLoadError(f"E340 {str(p)!r} is a directory with no TensorFlow checkpoint (*.index) in it; "
                             "give the checkpoint prefix, e.g. DIR/model.ckpt-1000000")
    raise ModelLoadError(f"E340 {str(p)!r} holds {len(found)} checkpoints ({', '.join(f.name for f in found[:5])}); "
                         "give the prefix of the one to convert")


def _bert_config(path: Path) -> tuple[Any, dict[str, Any]]:
    """``BertConfig`` from ``bert_config.json`` and the parameter shapes it implies, or E340 naming the file."""
    from transformers import BertConfig, BertForPreTraining

    text = path.read_text(encoding="utf-8")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"E340 {str(path)!r} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                             "expected BERT's bert_config.json") from None
    if not isinstance(raw, dict):
        raise ModelLoadError(f"E340 {str(path)!r} holds a JSON {type(raw).__name__}; expected BERT's bert_config.json object")
    try:
        cfg = BertConfig(**raw)
        import torch

        with torch.device("meta"):  # names, shapes and dtypes only: no memory, no random initialisation
            reference = BertForPreTraining(cfg).state_dict()
    except (TypeError, ValueError, AttributeError) as exc:
        raise ModelLoadError(f"E340 {str(path)!r} does not describe a BERT model: {exc}") from None
    return cfg, reference


def convert_bert_checkpoint(prefix: str | Path, out: str | Path, *, config: str | Path | None = None,
                            vocab: str | Path | None = None, cased: bool | None = None) -> dict[str, Any]:
    """Convert a TF BERT checkpoint into a Hugging Face ``BertForPreTraining`` directory and verify it.

    Args:
        prefix: checkpoint prefix; ``bert_config.json`` and ``vocab.txt`` are looked for beside it
            unless given.
        out: the output directory.
        cased: the tokenizer keeps case; ``None``: decided from the vocabulary (BioBERT v1.1 is cased).

    Returns:
        a report: variables read, converted, left out as optimizer state, other variables not used
        (listed by name), the casing decision and the verification result.

    Raises:
        ModelLoadError: E340 when a model parameter has no variable or a BERT variable has no parameter.
    """
    import torch
    from transformers import BertForPreTraining, BertModel, BertTokenizerFast

    p = checkpoint_prefix(prefix)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ModelLoadError(f"E341 the output {str(out)!r} is a file; give a directory to write the model into")
    config = Path(config) if config else p.parent / "bert_config.json"
    vocab = Path(vocab) if vocab else p.parent / "vocab.txt"
    for f, what in ((config, "bert_config.json"), (vocab, "vocab.txt")):
        if not f.is_file():
            raise ModelLoadError(f"E340 {what} not found at {str(f)!r}; pass it with --config / --vocab")
    stats: dict[str, int] = {}
    optimizer: list[str] = []

    def model_variable(name: str) -> bool:  # optimizer slots are listed, never read
        if OPTIMIZER_VARIABLE.search(name):
            optimizer.append(name)
            return False
        return True

    tensors = read_tf_checkpoint(p, select=model_variable, stats=stats)
    cfg, reference = _bert_config(config)
    tokens = vocab.read_text(encoding="utf-8").split("\n")
    ids = {t: i for i, t in enumerate(tokens[:-1] if tokens and tokens[-1] == "" else tokens)}
    if len(ids) > cfg.vocab_size:
        # ids past the embedding table: an IndexError at the first such token, long after the conversion
        raise ModelLoadError(f"E340 {str(vocab)!r} has {len(ids)} tokens, but {str(config)!r} says vocab_size "
                             f"{cfg.vocab_size}: they are not from the same model; pass the matching --vocab / --config")
    new: dict[str, torch.Tensor] = {}
    unused = []
    for name, arr in tensors.items():
        m = tf_variable_to_hf(name)
        if m is None:
            unused.append(name)  # e.g. a fine-tuned task head ("output_weights"): listed, not converted
            continue
        key, transpose = m
        if key not in reference:
            raise ModelLoadError(f"E340 checkpoint variable {name!r} maps to {key!r}, which BertForPreTraining lacks")
        t = torch.from_numpy(arr.T.copy() if transpose else arr)
        if tuple(t.shape) != tuple(reference[key].shape):
            raise ModelLoadError(f"E340 {name!r} has shape {tuple(arr.shape)}; {key!r} needs {tuple(reference[key].shape)} (bert_config.json differs?)")
        new[key] = t.to(reference[key].dtype)
    # pre-training checkpoints carry the MLM/NSP heads (cls/...); fine-tuned ones often only the encoder
    if any(k.startswith("cls.") for k in new):
        model: Any = BertForPreTraining(cfg)
        load = new
    else:
        model = BertModel(cfg, add_pooling_layer=any(k.startswith("bert.pooler.") for k in new))
        load = {k.removeprefix("bert."): v for k, v in new.items()}
    state = model.state_dict()
    tied = set(getattr(model, "_tied_weights_keys", None) or {})
    missing = [k for k in state if k not in load and k not in tied and not k.endswith("position_ids")]
    if missing:
        raise ModelLoadError(f"E340 the checkpoint has no variable for {len(missing)} model parameter(s): {missing[:8]}")
    model.load_state_dict(load, strict=False)
    model.tie_weights()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    lower = (not _is_cased(vocab)) if cased is None else (not cased)
    # transformers 5 takes the vocabulary as a mapping (its ``vocab_file=`` keyword is silently ignored)
    tok = BertTokenizerFast(vocab=ids, do_lower_case=lower, model_max_length=cfg.max_position_embeddings)
    if len(tok) != len(ids):
        raise ModelLoadError(f"E340 the tokenizer built from {str(vocab)!r} has {len(tok)} tokens, the file {len(ids)}")
    tok.save_pretrained(out)
    # verification: a fresh load of what was written holds exactly the checkpoint's numbers
    back = type(model).from_pretrained(out).state_dict()
    mismatched = [k for k, t in load.items() if not torch.equal(back[k], t)]
    if mismatched:
        raise ModelLoadError(f"E340 the saved model differs from the checkpoint in {mismatched[:8]}")
    report = {
        "source": str(p), "config": str(config), "vocab": str(vocab), "output": str(out),
        "variables": stats["variables"], "converted": len(new), "optimizer_variables_left_out": len(optimizer),
        "other_variables_not_converted": sorted(unused), "string_tensors_skipped": stats["skipped_string_tensors"],
        "bytes_read": stats["bytes_read"],
        # embedding rows no vocab.txt token reaches (some releases pad vocab_size): kept, and counted
        "embedding_rows_without_token": cfg.vocab_size - len(ids), "crc32c_checked": stats["crc_checked"], "crc32c_not_checked": stats["crc_unchecked"], "lower_case": lower, "architecture": type(model).__name__,
        # bit-identity says the saved model holds what was read; the CRCs say what was read is what TF wrote
        "verified": f"{len(new)} tensors bit-identical after reloading {out}" + (
            f"; {stats['crc_unchecked']} not checked against the checkpoint's CRC32C (google-crc32c missing)"
            if stats["crc_unchecked"] else ""),
    }
    (out / "conversion.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(
        f"# {p.name} (converted)\n\nBERT TensorFlow checkpoint `{p}` converted by `biobert convert-tf` without TensorFlow.\n\n"
        f"* {len(new)} tensors converted (kernels transposed), {len(optimizer)} optimizer variables left out"
        f"{', ' + str(len(unused)) + ' other variables not converted: ' + ', '.join(sorted(unused)) if unused else ''}.\n"
        f"* Tokenizer: `vocab.txt`, {'lower-cased' if lower else 'cased'}.\n"
        f"* Every converted tensor was checked bit-identical after reloading this directory; see `conversion.json`.\n",
        encoding="utf-8")
    return report
