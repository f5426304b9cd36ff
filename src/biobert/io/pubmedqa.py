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
(entries of the unlabelled PQA-U set, which have no ``final_decision``, are
accepted with ``labelled=False``).
"""

from __future__ import annotations

from collections import Counter

from biobert.errors import DataFormatError
from biobert.io._common import PathOrStream
from biobert.io.squad import QAExample, load_json

__all__ = ["read_pubmedqa", "PUBMEDQA_LABELS"]

PUBMEDQA_LABELS = ("yes", "no", "maybe")


def read_pubmedqa(path: PathOrStream, *, labelled: bool = True, stats: Counter | None = None) -> list[QAExample]:
    """Read PubMedQA entries as yes/no/maybe QA examples (see the module docstring)."""
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
        if labelled and label not in PUBMEDQA_LABELS:
            raise DataFormatError("E273", name, None, f"final_decision of {pmid} in {PUBMEDQA_LABELS}", found=str(label))
        meta = {k.lower(): e[k] for k in ("LONG_ANSWER", "LABELS", "MESHES", "YEAR") if k in e}
        out.append(QAExample(str(pmid), e["QUESTION"], " ".join(ctx), str(pmid), "yesno", (), (), label, meta))
        stats[f"label={label}"] += 1
    stats["examples"] += len(out)
    return out
