"""PubMedQA JSON (``ori_pqal.json`` and its splits): ``{pmid: {QUESTION, CONTEXTS, LABELS, final_decision, LONG_ANSWER, ...}}``.

Each entry becomes one yes/no/maybe :class:`~biobert.io.squad.QAExample`
(``qtype="yesno"``, ``label=final_decision``) in the reasoning-required
setting: the context is the abstract without its conclusion, i.e. the
``CONTEXTS`` paragraphs joined by a single space. ``LONG_ANSWER``,
``LABELS``, ``MESHES`` and ``YEAR`` are kept in ``metadata``. Entries keep
the file's order (the official 10-fold split depends on it).

Errors (:class:`~biobert.errors.DataFormatError`): E274 not JSON; E273 not an
object of entries, an entry without a string ``QUESTION``, a list of strings
``CONTEXTS``, or ``final_decision`` outside ``yes`` / ``no`` / ``maybe``
(entries of the unlabelled PQA-U set, or test entries whose labels are kept
apart in ``test_ground_truth.json``, have no ``final_decision``: they are
accepted with ``labelled=False``, with ``label=None``, and counted). A label
file ``{pmid: "yes" | "no" | "maybe"}`` (``test_ground_truth.json``, or
predictions as PubMedQA's ``evaluation.py`` reads them) is read by
:func:`read_pubmedqa_labels`.
"""

from __future__ import annotations

from collections import Counter

from biobert.errors import DataFormatError
from biobert.io._common import PathOrStream
from biobert.io.squad import QAExample, load_json

__all__ = ["read_pubmedqa", "read_pubmedqa_labels", "PUBMEDQA_LABELS"]

PUBMEDQA_LABELS = ("yes", "no", "maybe")


def read_pubmedqa(path: PathOrStream, *, labelled: bool = True, stats: Counter | None = None) -> list[QAExample]:
    """Read PubMedQA entries as yes/no/maybe QA examples (see the module docstring).

    Args:
        labelled: every entry must have a ``final_decision``; with ``False`` an entry without one has label
            ``None`` (counted as ``questions_without_gold``), but a ``final_decision`` that is there must still
            be yes, no or maybe.
        stats: counter with ``label=<label>``, ``questions_without_gold`` and ``examples``.
    """
    stats = stats if stats is not None else Counter()
    obj, name = load_json(path)
    if not isinstance(obj, dict):
        raise DataFormatError("E273", name, None, "an object {pmid: entry}", found=str(obj)[:120])
    out = []
    for pmid, e in obj.items():
        if not isinstance(e, dict) or not isinstance(e.get("QUESTION"), str):
            raise DataFormatError("E273", name, None, f"entry {pmid} with a string 'QUESTION'", found=str(e)[:120])
        ctx = e.get("CONTEXTS")
        if not isinstance(ctx, list) or not all(isinstance(c, str) for c in ctx):
            raise DataFormatError("E273", name, None, f"entry {pmid} with 'CONTEXTS' as a list of strings", found=str(ctx)[:120])
        label = e.get("final_decision")
        # an unlabelled entry is allowed only when asked for; a label that is there is always checked ("Yes", a typo)
        if (label is not None or labelled) and label not in PUBMEDQA_LABELS:
            raise DataFormatError("E273", name, None, f"final_decision of {pmid} in {PUBMEDQA_LABELS}", found=str(label))
        meta = {k.lower(): e[k] for k in ("LONG_ANSWER", "LABELS", "MESHES", "YEAR") if k in e}
        out.append(QAExample(str(pmid), e["QUESTION"], " ".join(ctx), str(pmid), "yesno", (), (), label, meta))
        stats[f"label={label}"] += 1
        if label is None:
            stats["questions_without_gold"] += 1
    stats["examples"] += len(out)
    return out


def read_pubmedqa_labels(path: PathOrStream, stats: Counter | None = None) -> dict[str, str]:
    """Read a PubMedQA label file, ``{pmid: "yes" | "no" | "maybe"}``: the official ``test_ground_truth.json``, or a
    predictions file as PubMedQA's ``evaluation.py`` reads it. Labels are compared lower-cased and stripped.

    Args:
        stats: counter with ``labels`` and ``label=<label>``.

    Raises:
        DataFormatError: E274 not JSON; E273 not an object of PMIDs to yes, no or maybe (an ``ori_pqal.json``-style
            file of entries is named as such).
    """
    stats = stats if stats is not None else Counter()
    obj, name = load_json(path)
    if not isinstance(obj, dict):
        raise DataFormatError("E273", name, None, "an object {pmid: 'yes' | 'no' | 'maybe'}", found=str(obj)[:120])
    out: dict[str, str] = {}
    for pmid, raw in obj.items():
        label = raw.strip().lower() if isinstance(raw, str) else raw
        if label not in PUBMEDQA_LABELS:
            if isinstance(raw, dict) and "QUESTION" in raw:
                what = "an entry with QUESTION and CONTEXTS (an ori_pqal.json-style file, not a label file)"
            elif isinstance(raw, dict):
                # `biobert answer`'s JSON output, say: a label file holds the label alone
                what = f"an object with keys {sorted(raw)[:6]}"
            else:
                what = repr(raw)
            raise DataFormatError("E273", name, None, f"the label of {pmid} in {PUBMEDQA_LABELS} ({{pmid: label}}, as "
                                  "`biobert answer --output-format pubmedqa` writes)", found=what[:120])
        out[str(pmid)] = label
        stats["labels"] += 1
        stats[f"label={label}"] += 1
    return out
