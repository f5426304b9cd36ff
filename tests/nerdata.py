"""Tiny gold NER data built from the fixture abstracts by dictionary matching."""

from __future__ import annotations

import re
from pathlib import Path

from biobert.types import Document, Span

FIXTURES = Path(__file__).parent / "fixtures"
LEXICON = {
    "Gene": ["BRCA1", "TP53", "p53", "CFTR", "IL-6 receptor", "COX-1", "COX-2", "TNF-α", "HTT", "APOE", "CYP2C9"],
    "Chemical": ["Tamoxifen", "Cisplatin", "magnesium sulfate", "Metformin", "glucose", "Doxorubicin", "Insulin",
                 "tocilizumab", "Aspirin", "acetylsalicylic acid", "Haloperidol", "1,2-dimethylhydrazine",
                 "Lithium carbonate", "Warfarin"],
    "Disease": ["breast cancer", "ovarian cancer", "nephrotoxicity", "colorectal cancer", "type 2 diabetes mellitus",
                "cystic fibrosis", "cardiotoxicity", "leukemia", "diabetes", "rheumatoid arthritis",
                "myocardial infarction", "Crohn's disease", "catalepsy", "Huntington disease",
                "nephrogenic diabetes insipidus", "Alzheimer disease", "bleeding"],
}


def annotate(text: str, doc_id: str, types: set[str] | None = None) -> Document:
    spans = []
    taken: set[int] = set()
    entries = sorted(((n, t) for t, ns in LEXICON.items() for n in ns), key=lambda x: -len(x[0]))
    for name, typ in entries:
        if types is not None and typ not in types:
            continue
        for m in re.finditer(r"(?<![\w-])" + re.escape(name) + r"(?![\w])", text):
            if taken & set(range(m.start(), m.end())):
                continue
            taken.update(range(m.start(), m.end()))
            spans.append(Span(m.start(), m.end(), typ))
    return Document(doc_id, text).with_spans(spans)


def gold_docs(types: set[str] | None = None) -> list[Document]:
    lines = [l for l in (FIXTURES / "abstracts.txt").read_text(encoding="utf-8").splitlines() if l.strip()]
    return [annotate(l, str(i), types) for i, l in enumerate(lines)]
