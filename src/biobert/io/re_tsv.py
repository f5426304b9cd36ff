"""Pre-anonymised relation-extraction TSV files (BioBERT GAD / EU-ADR, BLUE ChemProt).

Each row is one candidate pair whose two arguments were replaced by mask
tokens in the text. A row becomes a :class:`~biobert.types.Document` holding

* the sentence, unchanged (the masks stay in the text);
* two :class:`~biobert.types.Span` s lying exactly on the mask tokens, typed by
  the mask (``@GENE$`` -> ``Gene``, ``BC6ENTC`` -> ``Chemical``);
* one :class:`~biobert.types.Relation` ``(head, tail, label)`` with the row's
  label, including the negative label (``"0"``, ``"False"``).

Layouts (detected from the first line):

* BioBERT ``train.tsv``: no header, ``sentence<TAB>label``;
* BioBERT ``test.tsv``: header ``index<TAB>sentence<TAB>label``, then ``index<TAB>sentence<TAB>label``;
* BLUE / bio_electra ChemProt: header ``sentence<TAB>label``, then ``sentence<TAB>label``.

Errors (:class:`~biobert.errors.DataFormatError`): E250 wrong number of
columns; E251 a mask token does not occur exactly once (with
``missing_mask="skip"`` such rows are skipped and counted instead); E252 a
label outside ``labels``; E253 a non-integer index column or an empty sentence.
"""

from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

from biobert.errors import DataFormatError
from biobert.io._common import PathOrStream, describe, iter_lines
from biobert.types import Document, Relation, Span

__all__ = [
    "GAD_MASKS",
    "CHEMPROT_MASKS",
    "CHEMPROT_LABELS",
    "read_masked_tsv",
    "read_biobert_re_tsv",
    "read_chemprot_tsv",
]

#: mask token -> entity type, in (head, tail) order
GAD_MASKS: dict[str, str] = {"@GENE$": "Gene", "@DISEASE$": "Disease"}
CHEMPROT_MASKS: dict[str, str] = {"BC6ENTC": "Chemical", "BC6ENTG": "Gene"}
CHEMPROT_LABELS = ("CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9", "False")


def _find_once(text: str, token: str) -> list[int]:
    """Start offsets of ``token`` in ``text`` as a whole token (not inside a longer word)."""
    out = []
    i = text.find(token)
    while i >= 0:
        before = text[i - 1] if i > 0 else " "
        after = text[i + len(token)] if i + len(token) < len(text) else " "
        # "BC6ENTG" must not match inside "BC6ENTGX"; masks like "@GENE$" are self-delimiting
        if not (token[0].isalnum() and (before.isalnum() or before == "_")) and not (token[-1].isalnum() and (after.isalnum() or after == "_")):
            out.append(i)
        i = text.find(token, i + 1)
    return out


def read_masked_tsv(
    path: PathOrStream,
    masks: Mapping[str, str],
    *,
    labels: Sequence[str] | None = None,
    missing_mask: str = "error",
    stats: Counter | None = None,
    skipped: list[dict] | None = None,
) -> list[Document]:
    """Read a masked RE TSV file (see the module docstring for the layouts).

    Args:
        masks: exactly two ``mask token -> entity type`` items; the first is the head.
        labels: allowed labels (``None``: anything).
        missing_mask: ``"error"`` (E251) or ``"skip"`` for rows where a mask does not occur exactly once.
        stats: counter updated with ``rows``, ``rows_skipped_mask_count`` and labels of skipped rows.
        skipped: if given, receives ``{"line", "label", "sentence"}`` of each skipped row, so that
            an evaluation can still count a skipped gold positive as a miss.
    """
    if len(masks) != 2:
        raise ValueError(f"masks must have exactly two items (head, tail), got {list(masks)}")
    if missing_mask not in ("error", "skip"):
        raise ValueError(f"missing_mask must be 'error' or 'skip', got {missing_mask!r}")
    stats = stats if stats is not None else Counter()
    name, stem = describe(path)
    (head_tok, head_type), (tail_tok, tail_type) = list(masks.items())
    allowed = set(labels) if labels is not None else None
    docs: list[Document] = []
    layout: str | None = None
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        cols = line.split("\t")
        if layout is None:
            if cols == ["index", "sentence", "label"]:
                layout = "indexed"
                continue
            if cols == ["sentence", "label"]:
                layout = "plain"
                continue
            layout = "indexed" if len(cols) == 3 else "plain"
        want = 3 if layout == "indexed" else 2
        if len(cols) != want:
            shape = "index<TAB>sentence<TAB>label" if want == 3 else "sentence<TAB>label"
            raise DataFormatError("E250", name, lineno, f"{want} tab-separated columns ({shape})", found=line)
        if layout == "indexed":
            idx, sentence, label = cols
            if not idx.strip().lstrip("-").isdigit():
                raise DataFormatError("E253", name, lineno, "an integer index in the first column", found=idx)
            doc_id = f"{stem}:{idx.strip()}"
        else:
            sentence, label = cols
            doc_id = f"{stem}:{lineno}"
        label = label.strip()
        if not sentence.strip():
            raise DataFormatError("E253", name, lineno, "a non-empty sentence", found=line)
        if allowed is not None and label not in allowed:
            raise DataFormatError("E252", name, lineno, f"a label in {sorted(allowed)}", found=label)
        hs, ts = _find_once(sentence, head_tok), _find_once(sentence, tail_tok)
        if len(hs) != 1 or len(ts) != 1:
            if missing_mask == "error":
                raise DataFormatError(
                    "E251", name, lineno,
                    f"exactly one {head_tok} and one {tail_tok} (found {len(hs)} and {len(ts)}); "
                    "pass missing_mask='skip' to skip and count such rows",
                    found=sentence,
                )
            stats["rows_skipped_mask_count"] += 1
            stats[f"rows_skipped_mask_count_label={label}"] += 1
            if skipped is not None:
                skipped.append({"line": lineno, "label": label, "sentence": sentence})
            continue
        head = Span(hs[0], hs[0] + len(head_tok), head_type, text=head_tok)
        tail = Span(ts[0], ts[0] + len(tail_tok), tail_type, text=tail_tok)
        docs.append(
            Document(doc_id, sentence, spans=tuple(sorted((head, tail), key=lambda s: s.start)),
                     relations=(Relation(head, tail, label),), metadata={"source": name, "line": lineno})
        )
        stats["rows"] += 1
    return docs


def read_biobert_re_tsv(path: PathOrStream, *, masks: Mapping[str, str] | None = None, **kw) -> list[Document]:
    """GAD / EU-ADR in BioBERT's layout (labels ``0``/``1``, masks ``@GENE$``/``@DISEASE$``, head = gene)."""
    kw.setdefault("labels", ("0", "1"))
    return read_masked_tsv(path, masks or GAD_MASKS, **kw)


def read_chemprot_tsv(path: PathOrStream, *, missing_mask: str = "error", **kw) -> list[Document]:
    """ChemProt in the BLUE / BioBERT layout (``BC6ENTC`` chemical = head, ``BC6ENTG`` gene = tail).

    Some rows of the public files lack one mask (the chemical is nested in a
    gene name and was rewritten ``CHEM``); read them with
    ``missing_mask="skip"`` to skip and count them.
    """
    kw.setdefault("labels", CHEMPROT_LABELS)
    return read_masked_tsv(path, CHEMPROT_MASKS, missing_mask=missing_mask, **kw)
