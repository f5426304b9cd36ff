"""Pre-anonymised relation-extraction TSV files (BioBERT GAD / EU-ADR, ChemProt and DDI in BLUE / BioBERT style).

Each row is one candidate pair whose two arguments were replaced by mask
tokens in the text. A row becomes a :class:`~biobert.types.Document` holding

* the sentence, unchanged (the masks stay in the text);
* two :class:`~biobert.types.Span` s lying exactly on the mask tokens, typed by
  the mask (``@GENE$`` -> ``Gene``, ``BC6ENTC`` / ``@CHEMICAL$`` -> ``Chemical``,
  ``@DRUG$`` -> ``drug``);
* one :class:`~biobert.types.Relation` ``(head, tail, label)`` with the row's
  label, including the negative label (``"0"``, ``"False"``, ``"false"``).

Layouts (detected from the first line):

* BioBERT ``train.tsv``: no header, ``sentence<TAB>label``;
* BioBERT / BLUE ``test.tsv``: header ``index<TAB>sentence<TAB>label``, then ``index<TAB>sentence<TAB>label``;
  the index is an id, an integer (GAD) or a string (BLUE: ``23264615.T19.T41``, ``DDI-DrugBank.d519.s3.p3``);
* BLUE / bio_electra ChemProt: header ``sentence<TAB>label``, then ``sentence<TAB>label``.

Mask and label spellings (each file's own; the readers canonicalise the labels so that the
ChemProt and DDI metrics, which compare exact strings, see every positive):

* ChemProt: ``BC6ENTC`` / ``BC6ENTG`` (bio_electra) or ``@CHEMICAL$`` / ``@GENE$`` (BLUE, BioBERT);
  ``CPR:3`` or ``cpr:3`` -> ``CPR:3``, ``False`` or ``false`` -> ``False``. BLUE writes a pair whose two
  mentions overlap as a single ``@CHEM-GENE$``: such a row has no separate masks (E251, or skipped
  and counted with ``missing_mask="skip"``).
* DDI: ``@DRUG$`` for both arguments (BioBERT) or typed ``@drug$`` / ``@brand$`` / ``@group$`` /
  ``@drug_n$`` (BLUE), any case; ``DDI-mechanism`` or ``mechanism`` -> ``mechanism``, ``DDI-false`` ->
  ``false``. The first mask in the text is the head (DDI pairs are unordered).

Errors (:class:`~biobert.errors.DataFormatError`): E250 wrong number of
columns; E251 a mask token does not occur exactly once (with
``missing_mask="skip"`` such rows are skipped and counted instead); E252 a
label outside ``labels``; E253 an empty index column or an empty sentence.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Callable, Iterator, Mapping, Sequence

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
    "BLUE_CHEMPROT_MASKS",
    "DDI_TSV_LABELS",
    "read_ddi_tsv",
]

#: mask token -> entity type, in (head, tail) order
GAD_MASKS: dict[str, str] = {"@GENE$": "Gene", "@DISEASE$": "Disease"}
CHEMPROT_MASKS: dict[str, str] = {"BC6ENTC": "Chemical", "BC6ENTG": "Gene"}
#: BLUE's and BioBERT's ChemProt masks (the types are those of ``CHEMPROT_MASKS``: one model reads both)
BLUE_CHEMPROT_MASKS: dict[str, str] = {"@CHEMICAL$": "Chemical", "@GENE$": "Gene"}
CHEMPROT_LABELS = ("CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9", "False")
#: canonical DDI labels, as :mod:`biobert.io.ddi` gives them and :func:`biobert.metrics.ddi_scores` scores them
DDI_TSV_LABELS = ("advise", "effect", "int", "mechanism", "false")
# BioBERT masks both drugs as @DRUG$, BLUE by their XML type (@drug$, @brand$, @group$, @drug_n$); drug_n first
# so that "@drug_n$" is not read as a truncated "@drug"
_DDI_MASK = re.compile(r"@(drug_n|drug|brand|group)\$", re.IGNORECASE)


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


def _iter_rows(path: PathOrStream, name: str, stem: str) -> Iterator[tuple[int, str, str, str]]:
    """``(line, document id, sentence, label)`` of each data row, with the layout checks (E250, E253).

    The id is ``<stem>:<index>`` for indexed files and ``<stem>:<line>`` otherwise.
    """
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
            # BLUE's indexes are pair ids ("23264615.T19.T41"), BioBERT's GAD / EU-ADR ones integers
            if not idx.strip():
                raise DataFormatError("E253", name, lineno, "a non-empty index (pair id) in the first column", found=line)
            doc_id = f"{stem}:{idx.strip()}"
        else:
            sentence, label = cols
            doc_id = f"{stem}:{lineno}"
        if not sentence.strip():
            raise DataFormatError("E253", name, lineno, "a non-empty sentence", found=line)
        yield lineno, doc_id, sentence, label.strip()


def _group(doc_id: str, sentence: str) -> str:
    """What keeps related rows on one side of a train / dev split (``metadata["group"]``).

    BLUE pair ids start with their abstract or DDI document (``23264615.T19.T41`` -> ``23264615``,
    ``DDI-DrugBank.d519.s3.p3`` -> ``DDI-DrugBank.d519``); rows without such an id are grouped by
    sentence, so that the pairs of one sentence never straddle the split.
    """
    idx = doc_id.split(":", 1)[1]
    parts = idx.split(".")
    if len(parts) >= 3:
        return ".".join(parts[:2]) if idx.startswith("DDI-") else parts[0]
    return sentence


def _skip_or_fail(missing_mask: str, name: str, lineno: int, expected: str, sentence: str, label: str,
                  stats: Counter, skipped: list[dict] | None) -> None:
    """E251, or count the row (and its label) as skipped, for an evaluation to score it as missed."""
    if missing_mask == "error":
        raise DataFormatError("E251", name, lineno, f"{expected}; pass missing_mask='skip' (data.missing_mask in a config, --missing-mask skip for evaluate re) to skip and count such rows", found=sentence)
    stats["rows_skipped_mask_count"] += 1
    stats[f"rows_skipped_mask_count_label={label}"] += 1
    if skipped is not None:
        skipped.append({"line": lineno, "label": label, "sentence": sentence})


def _canonical(label: str, canonical: Callable[[str], str] | None, stats: Counter) -> str:
    if canonical is None:
        return label
    out = canonical(label)
    if out != label:
        stats[f"labels_renamed_{label}_to_{out}"] += 1
    return out


def _labelled_rows(path: PathOrStream, name: str, stem: str, missing_mask: str, canonical: Callable[[str], str] | None,
                   labels: Sequence[str] | None, stats: Counter, hint: str = "") -> Iterator[tuple[int, str, str, str]]:
    """The rows of :func:`_iter_rows` with their label respelled by ``canonical`` (counted) and checked against
    ``labels`` (E252; ``hint`` is appended to what was expected)."""
    if missing_mask not in ("error", "skip"):
        raise ValueError(f"missing_mask must be 'error' or 'skip', got {missing_mask!r}")
    allowed = set(labels) if labels is not None else None
    for lineno, doc_id, sentence, label in _iter_rows(path, name, stem):
        label = _canonical(label, canonical, stats)
        if allowed is not None and label not in allowed:
            raise DataFormatError("E252", name, lineno, f"a label in {sorted(allowed)}{hint}", found=label)
        yield lineno, doc_id, sentence, label


def read_masked_tsv(
    path: PathOrStream,
    masks: Mapping[str, str] | Sequence[Mapping[str, str]],
    *,
    labels: Sequence[str] | None = None,
    missing_mask: str = "error",
    stats: Counter | None = None,
    skipped: list[dict] | None = None,
    canonical: Callable[[str], str] | None = None,
) -> list[Document]:
    """Read a masked RE TSV file (see the module docstring for the layouts).

    Args:
        masks: exactly two ``mask token -> entity type`` items; the first is the head. Or a list of such
            mask sets, for files written with either (ChemProt: ``BC6ENTC`` / ``BC6ENTG`` or ``@CHEMICAL$`` /
            ``@GENE$``): each row uses the first set of which it holds a token.
        labels: allowed labels, after ``canonical`` (``None``: anything).
        missing_mask: ``"error"`` (E251) or ``"skip"`` for rows where a mask does not occur exactly once.
        stats: counter updated with ``rows``, ``rows_skipped_mask_count``, labels of skipped rows and
            ``labels_renamed_X_to_Y`` (rows whose label ``canonical`` respelled).
        skipped: if given, receives ``{"line", "label", "sentence"}`` of each skipped row, so that
            an evaluation can still count a skipped gold positive as a miss.
        canonical: maps a label as written to the one the metrics expect (``cpr:3`` -> ``CPR:3``).
    """
    mask_sets = [masks] if isinstance(masks, Mapping) else list(masks)
    if not mask_sets or any(len(m) != 2 for m in mask_sets):
        raise ValueError(f"masks must have exactly two items (head, tail), got {masks!r}")
    stats = stats if stats is not None else Counter()
    name, stem = describe(path)
    docs: list[Document] = []
    for lineno, doc_id, sentence, label in _labelled_rows(path, name, stem, missing_mask, canonical, labels, stats):
        found = [(m, [_find_once(sentence, tok) for tok in m]) for m in mask_sets]
        m, (hs, ts) = next(((m, f) for m, f in found if any(f)), found[0])
        (head_tok, head_type), (tail_tok, tail_type) = list(m.items())
        if len(hs) != 1 or len(ts) != 1:
            want = " or ".join(f"one {a} and one {b}" for a, b in (list(x) for x in mask_sets))
            _skip_or_fail(missing_mask, name, lineno, f"exactly {want} (found {len(hs)} {head_tok} and {len(ts)} {tail_tok})",
                          sentence, label, stats, skipped)
            continue
        head = Span(hs[0], hs[0] + len(head_tok), head_type, text=head_tok)
        tail = Span(ts[0], ts[0] + len(tail_tok), tail_type, text=tail_tok)
        docs.append(
            Document(doc_id, sentence, spans=tuple(sorted((head, tail), key=lambda s: s.start)),
                     relations=(Relation(head, tail, label),),
                     metadata={"source": name, "line": lineno, "group": _group(doc_id, sentence)})
        )
        stats["rows"] += 1
    return docs


def read_biobert_re_tsv(path: PathOrStream, *, masks: Mapping[str, str] | None = None, **kw) -> list[Document]:
    """GAD / EU-ADR in BioBERT's layout (labels ``0``/``1``, masks ``@GENE$``/``@DISEASE$``, head = gene)."""
    kw.setdefault("labels", ("0", "1"))
    return read_masked_tsv(path, masks or GAD_MASKS, **kw)


def _chemprot_label(label: str) -> str:
    """``cpr:3`` (BioBERT) -> ``CPR:3``; ``false`` (BLUE, BioBERT) -> ``False`` (bio_electra); others unchanged."""
    if label.lower().startswith("cpr:"):
        return label.upper()
    return "False" if label.lower() == "false" else label


def read_chemprot_tsv(path: PathOrStream, *, missing_mask: str = "error", **kw) -> list[Document]:
    """ChemProt in the BLUE / BioBERT / bio_electra layouts (chemical = head, gene = tail).

    Masks ``BC6ENTC`` / ``BC6ENTG`` (bio_electra) or ``@CHEMICAL$`` / ``@GENE$`` (BLUE, BioBERT); labels are
    canonicalised to ``CPR:n`` and ``False`` (see the module docstring). Some rows of the public files lack
    one mask (bio_electra: the chemical is nested in a gene name and was rewritten ``CHEM``; BLUE: the
    overlapping pair was written ``@CHEM-GENE$``); read them with ``missing_mask="skip"`` to skip and count them.
    """
    kw.setdefault("labels", CHEMPROT_LABELS)
    kw.setdefault("canonical", _chemprot_label)
    return read_masked_tsv(path, [CHEMPROT_MASKS, BLUE_CHEMPROT_MASKS], missing_mask=missing_mask, **kw)


def _ddi_label(label: str) -> str:
    """``DDI-mechanism`` (BioBERT, BLUE) -> ``mechanism``; ``DDI-false`` -> ``false``; lower-cased."""
    low = label.lower()
    return low[4:] if low.startswith("ddi-") else low


def read_ddi_tsv(
    path: PathOrStream,
    *,
    labels: Sequence[str] | None = DDI_TSV_LABELS,
    missing_mask: str = "error",
    stats: Counter | None = None,
    skipped: list[dict] | None = None,
) -> list[Document]:
    """DDI-2013 pairs in the BioBERT / BLUE TSV layouts: two drug masks per row (see the module docstring).

    The spans are typed by the mask, lower-cased as in the DDI XML (``drug``, ``brand``, ``group``,
    ``drug_n``); labels are canonicalised (``DDI-effect`` -> ``effect``). A row without exactly two masks
    (BLUE writes overlapping arguments as one ``@drug-drug$``) is E251, or skipped and counted with
    ``missing_mask="skip"`` (``skipped`` as in :func:`read_masked_tsv`).
    """
    stats = stats if stats is not None else Counter()
    name, stem = describe(path)
    docs: list[Document] = []
    for lineno, doc_id, sentence, label in _labelled_rows(path, name, stem, missing_mask, _ddi_label, labels, stats,
                                                          hint=" (or 'DDI-' + one of them)"):
        found = list(_DDI_MASK.finditer(sentence))
        if len(found) != 2:
            _skip_or_fail(missing_mask, name, lineno, f"exactly two drug masks such as @DRUG$ (found {len(found)})",
                          sentence, label, stats, skipped)
            continue
        head, tail = (Span(x.start(), x.end(), x.group(1).lower(), text=x.group(0)) for x in found)
        docs.append(
            Document(doc_id, sentence, spans=(head, tail), relations=(Relation(head, tail, label),),
                     metadata={"source": name, "line": lineno, "group": _group(doc_id, sentence)})
        )
        stats["rows"] += 1
    return docs
