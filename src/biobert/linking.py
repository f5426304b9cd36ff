"""Entity linking: give spans identifiers from a user-supplied dictionary (MeSH, NCBI Gene, CTD, UMLS subsets, ...).

    from biobert import Tagger
    from biobert.linking import DictionaryLinker

    tagger = Tagger.load()
    linker = DictionaryLinker.from_tsv("ctd_diseases.tsv", labels=["Disease"])
    doc = linker(tagger("Familial adenomatous polyposis (FAP) predisposes to colon cancer."))
    [(s.text, s.ids) for s in doc.spans]
    # [('Familial adenomatous polyposis', (('MESH', 'MESH:D011125'),)), ('FAP', (('MESH', 'MESH:D011125'),)), ...]

CTD's vocabularies load as published (``DictionaryLinker.from_ctd("CTD_diseases.tsv.gz")``).
The linker works on spans from any source: a :class:`~biobert.pipeline.Tagger`,
a PubTator or BioC file, another tool's output.

**Dictionary file** (TSV, UTF-8; ``#`` starts a comment line)::

    MESH:D011125<TAB>Adenomatous Polyposis Coli<TAB>Familial adenomatous polyposis|FAP
    NCBIGene:672<TAB>BRCA1

Column 1 is the identifier: ``prefix:local id`` (Bioregistry style; ``db`` is
the prefix, the id is kept whole, as :func:`biobert.io._common.parse_ids` does)
or a bare id that gets ``default_db`` (by default what parse_ids infers, as every reader does: ``MESH`` for a
``C``/``D`` id, else ``ID``). Column 2 is the preferred name; further
columns, or ``|``-separated names inside them, are synonyms.

**Matching**, in this order; the first level that finds a name decides:

1. ``exact``: the mention as written;
2. ``normalised``: Unicode NFKC, case-folded, every run of characters that are
   not letters or digits read as one space (``Non-Hodgkin's`` = ``non hodgkin s``);
3. ``singular``: the normalised mention with a plural ``s`` / ``es`` removed
   from its last word (``breast cancers`` -> ``breast cancer``);
4. ``fuzzy`` (opt-in, ``fuzzy=0.8``): the name whose set of character trigrams is most similar (cosine of
   the sets), if at least that similar (``carcinoma of the breast`` is not found this way; ``hepatotoxic``
   -> ``hepatotoxicity`` is).

A name shared by several identifiers links the span to all of them, sorted
(counted as ``ambiguous``); nothing is guessed. A short form defined in the
document as ``long form (SF)`` (:mod:`biobert.text.abbreviations`) gets the
identifiers of its long form when it has none of its own (``via_abbreviation``): those of a span of its type
over the whole long form (none if that span is unlinked), else of the last linked span of its type inside it.
Spans that already carry ids keep them unless ``overwrite=True``.

Every outcome is counted in ``last_stats``: ``linked_exact``,
``linked_normalised``, ``linked_singular``, ``linked_fuzzy``, ``linked_via_abbreviation``,
``ambiguous``, ``unlinked``, ``kept_existing_ids``, ``skipped_label``.

Relations follow their spans: span relations are re-pointed at the linked copies, and document-level relations
between concept ids (PubTator ``CID`` lines, BioC concept relations: ``metadata["relations"]``) whose ids were
overwritten get the new ids (``document_relation_ids_relinked``), or, when one old id became several different ones,
keep it and are counted (``document_relation_ids_stale``), never left silently pointing at ids no span has.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, overload

from biobert.errors import ConfigError, DataFormatError
from biobert.io._common import format_ids, iter_lines, parse_ids
from biobert.text.abbreviations import find_abbreviations
from biobert.types import Document, Span

__all__ = ["DictionaryLinker", "is_ctd_vocabulary", "normalise_name", "LinkedTagger", "apply_linkers"]

_NON_ALNUM = re.compile(r"[^\w]+|_+")

Ids = tuple[tuple[str, str], ...]


def _trigrams(norm: str) -> set[str]:
    padded = f" {norm} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def normalise_name(name: str) -> str:
    """The form names are compared in: NFKC, case-folded, runs of non-alphanumerics -> one space, stripped."""
    return _NON_ALNUM.sub(" ", unicodedata.normalize("NFKC", name).casefold()).strip()


def _singulars(norm: str) -> list[str]:
    """Singular candidates of a normalised name whose last word looks plural (``-s``, ``-es``, ``-ies``)."""
    last = norm.rsplit(" ", 1)[-1]
    if len(last) < 4 or not last.endswith("s") or last.endswith(("ss", "us", "is")):
        return []
    out = [norm[:-1]]  # diseases -> disease, cancers -> cancer
    if last.endswith("es"):
        out.append(norm[:-2])  # -ches, -shes, -xes: "boxes" -> "box"
    if last.endswith("ies"):
        out.append(norm[:-3] + "y")  # cardiomyopathies -> cardiomyopathy
    return out


def _ctd_header(path: str | Path) -> bool:
    """Whether the ``#`` header lines at the top of ``path`` name CTD's columns (``# DiseaseName<TAB>DiseaseID``)."""
    for _, line in iter_lines(path):
        if not line.startswith("#"):
            return False
        cols = line.lstrip("#").strip().split("\t")
        if len(cols) >= 2 and cols[0].endswith("Name") and cols[1].endswith("ID"):
            return True
    return False


def is_ctd_vocabulary(path: str | Path) -> bool:
    """A CTD vocabulary as published: named ``CTD_*`` (any case: ``ctd_diseases.tsv.gz`` too) or headed by CTD's
    column names."""
    return Path(path).name.lower().startswith("ctd_") or _ctd_header(path)


class DictionaryLinker:
    """Link spans to identifiers by dictionary look-up of their mention text (see the module docstring).

    Args:
        names: name -> identifiers as ``(db, id)`` pairs.
        labels: link only spans with these labels (``None``: all).
        overwrite: replace ids a span already has.
        abbreviations: give a short form the ids of its long form (``long form (SF)``).
        fuzzy: when no level matches, take the dictionary name whose character-trigram set is most similar
            (cosine of the two sets) if that similarity is at least ``fuzzy``; ``None``: exact levels only.
            Trades precision for recall; BENCHMARKS.md has the curve it was chosen from.
    """

    LEVELS = ("exact", "normalised", "singular", "fuzzy")  # "singular" looks singular forms up among the normalised names

    def __init__(self, names: Mapping[str, Iterable[tuple[str, str]]], *, labels: Sequence[str] | None = None,
                 overwrite: bool = False, abbreviations: bool = True, fuzzy: float | None = None) -> None:
        if fuzzy is not None and not 0 < fuzzy <= 1:
            raise ConfigError(f"E487 fuzzy must be in (0, 1], got {fuzzy}")
        self.labels = set(labels) if labels is not None else None
        self.overwrite = overwrite
        self.abbreviations = abbreviations
        self.fuzzy = fuzzy
        self._tables: dict[str, dict[str, set[tuple[str, str]]]] = {"exact": {}, "normalised": {}}
        for name, ids in names.items():
            self._add(name, ids)
        self._grams: dict[str, list[int]] | None = None  # trigram -> normalised-name indices, built on first use
        self._names: list[str] = []
        self._sizes: list[int] = []
        self._fuzzy_cache: dict[str, tuple[Ids, float]] = {}  # mentions repeat across a corpus
        self.last_stats: Counter = Counter()
        self.last_doc_stats: list[Counter] = []

    def _fuzzy(self, norm: str) -> tuple[Ids, float]:
        """Ids of the normalised names most similar to ``norm`` by trigram-set cosine, and that similarity."""
        hit = self._fuzzy_cache.get(norm)
        if hit is not None:
            return hit
        if self._grams is None:
            self._names = list(self._tables["normalised"])
            self._grams = {}
            for i, n in enumerate(self._names):
                g = _trigrams(n)
                self._sizes.append(len(g))
                for t in g:
                    self._grams.setdefault(t, []).append(i)
        q = _trigrams(norm)
        if not q:
            return (), 0.0
        shared: Counter = Counter()
        for t in q:
            shared.update(self._grams.get(t, ()))
        best, hits = 0.0, []
        for i, c in shared.items():
            sim = c / math.sqrt(len(q) * self._sizes[i])
            if sim > best + 1e-12:
                best, hits = sim, [i]
            elif abs(sim - best) <= 1e-12:
                hits.append(i)
        ids = {x for i in hits for x in self._tables["normalised"][self._names[i]]}
        result = (tuple(sorted(ids)), best)
        if len(self._fuzzy_cache) < 100_000:
            self._fuzzy_cache[norm] = result
        return result

    def _add(self, name: str, ids: Iterable[tuple[str, str]]) -> None:
        ids = set(ids)
        self._tables["exact"].setdefault(name, set()).update(ids)
        norm = normalise_name(name)
        if norm:
            self._tables["normalised"].setdefault(norm, set()).update(ids)

    @property
    def size(self) -> int:
        """Number of distinct names (as written) in the dictionary."""
        return len(self._tables["exact"])

    @classmethod
    def from_file(cls, path: str | Path, **kw: Any) -> "DictionaryLinker":
        """Read a dictionary in whichever layout it has: CTD's (a ``CTD_*`` file name in any case, or CTD's
        ``# DiseaseName<TAB>DiseaseID...`` header) with :meth:`from_ctd`, else :meth:`from_tsv`."""
        return cls.from_ctd(path, **kw) if is_ctd_vocabulary(path) else cls.from_tsv(path, **kw)

    @classmethod
    def from_tsv(cls, path: str | Path, *, default_db: str | None = None, **kw: Any) -> "DictionaryLinker":
        """Read a dictionary file (see the module docstring).

        Raises:
            DataFormatError: E280 a line without an identifier and a name; the
                error names the file and the line. E281 the file has CTD's header: its first column is a name,
                not an id, and reading it as ``id<TAB>names`` would give every name itself as its id.
        """
        if _ctd_header(path):
            raise DataFormatError("E281", path, None, "'<id><TAB><name>...' rows", found="a CTD vocabulary header "
                                  "(name<TAB>id<TAB>...); read it with DictionaryLinker.from_ctd or from_file")
        names: dict[str, set[tuple[str, str]]] = {}
        for lineno, line in iter_lines(path):
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            ident = cols[0].strip()
            syns = [n.strip() for c in cols[1:] for n in c.split("|") if n.strip()]
            # "-1" or "|" read as no identifier at all: such a row would link its names to nothing
            if not ident or not syns or not parse_ids(ident, default_db):
                raise DataFormatError("E280", path, lineno, "'<id><TAB><name>[<TAB><synonym>|<synonym>...]'", found=line)
            for n in syns:
                names.setdefault(n, set()).update(parse_ids(ident, default_db))
        if not names:
            raise DataFormatError("E280", path, None, "at least one '<id><TAB><name>' line", found="no entries")
        return cls(names, **kw)

    @classmethod
    def from_ctd(cls, path: str | Path, **kw: Any) -> "DictionaryLinker":
        """Read a CTD vocabulary as published (``CTD_diseases.tsv[.gz]``, ``CTD_chemicals.tsv[.gz]``): the MeSH/OMIM
        vocabulary BC5CDR was annotated with. Columns used: name (1), id (2, ``MESH:D003920``), synonyms (8,
        ``|``-separated); ``#`` header lines are skipped.

        Raises:
            DataFormatError: E280 a line with fewer than 2 columns or an empty id or name.
        """
        names: dict[str, set[tuple[str, str]]] = {}
        for lineno, line in iter_lines(path):
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < 2 or not cols[0].strip() or not cols[1].strip():
                raise DataFormatError("E280", path, lineno, "a CTD row: name<TAB>id<TAB>...<TAB>synonyms", found=line)
            ids = parse_ids(cols[1], "MESH")
            syns = [cols[0].strip()] + ([n.strip() for n in cols[7].split("|") if n.strip()] if len(cols) > 7 else [])
            for n in syns:
                names.setdefault(n, set()).update(ids)
        if not names:
            raise DataFormatError("E280", path, None, "at least one CTD row", found="no entries")
        return cls(names, **kw)

    def lookup(self, mention: str) -> tuple[Ids, str | None]:
        """Identifiers for ``mention`` and the level that matched (``None``: no match)."""
        hit = self._tables["exact"].get(mention)
        if hit:
            return tuple(sorted(hit)), "exact"
        norm = normalise_name(mention)
        hit = self._tables["normalised"].get(norm)
        if hit:
            return tuple(sorted(hit)), "normalised"
        for cand in _singulars(norm):
            hit = self._tables["normalised"].get(cand)
            if hit:
                return tuple(sorted(hit)), "singular"
        if self.fuzzy is not None and norm:
            ids, sim = self._fuzzy(norm)
            if ids and sim >= self.fuzzy:
                return ids, "fuzzy"
        return (), None

    @overload
    def __call__(self, docs: Document) -> Document: ...
    @overload
    def __call__(self, docs: Sequence[Document]) -> list[Document]: ...

    def __call__(self, docs: Document | Sequence[Document]) -> Document | list[Document]:
        """Link the spans of one document or of a list; returns new documents (the inputs are frozen)."""
        single = isinstance(docs, Document)
        self.last_stats = Counter()
        #: the counters of each document on its own (``last_stats`` is their sum)
        self.last_doc_stats: list[Counter] = []
        out = []
        for d in ([docs] if single else docs):  # type: ignore[union-attr]
            own: Counter = Counter()
            out.append(self._link(d, own))
            self.last_stats.update(own)
            self.last_doc_stats.append(own)
        return out[0] if single else out

    def _link(self, doc: Document, st: Counter) -> Document:
        new: list[Span] = []
        pending: list[int] = []
        for s in doc.spans:
            if self.labels is not None and s.label not in self.labels:
                st["skipped_label"] += 1
                new.append(s)
                continue
            if s.ids and not self.overwrite:
                st["kept_existing_ids"] += 1
                new.append(s)
                continue
            ids, level = self.lookup(doc.text[s.start:s.end])
            if level is None:
                pending.append(len(new))
                new.append(s)  # with overwrite, ids the dictionary cannot replace are kept, never dropped
                continue
            st[f"linked_{level}"] += 1
            if len(ids) > 1:
                st["ambiguous"] += 1
            new.append(Span(s.start, s.end, s.label, s.score, ids, text=s.text))
        unmatched = {i: new[i] for i in pending}
        if pending and self.abbreviations:
            by_short: dict[tuple[str, str], Ids] = {}
            for ab in find_abbreviations(doc.text):
                short = ab.short(doc.text)
                heads: dict[str, Ids] = {}
                whole: dict[str, Ids] = {}
                for x in new:  # spans are in text order: the last linked one of a type heads the long form
                    if x.ids and x.start >= ab.long_start and x.end <= ab.long_end:
                        heads[x.label] = x.ids
                    if x.start <= ab.long_start and x.end >= ab.long_end:
                        whole[x.label] = x.ids
                # a span over the whole long form decides for its type, linked or not: "cancer" inside an
                # unlinked "Familial breast cancer (FBC)" would give FBC the ids of a broader concept
                heads.update(whole)
                for label, ids in heads.items():
                    by_short.setdefault((short, label), ids)  # the first definition of a short form decides
            for i in pending:
                s = new[i]
                ids = by_short.get((doc.text[s.start:s.end], s.label), ())
                if ids:
                    new[i] = Span(s.start, s.end, s.label, s.score, ids, text=s.text)
                    st["linked_via_abbreviation"] += 1
                    if len(ids) > 1:
                        st["ambiguous"] += 1
        for i, s in unmatched.items():
            if new[i] is s:  # neither the dictionary nor an abbreviation gave ids
                st["kept_existing_ids" if s.ids else "unlinked"] += 1
        rels = doc.relations
        if rels:  # relations point at spans: re-point them at the linked copies
            by_key = {s.key: s for s in new}
            rels = tuple(replace(r, head=by_key.get(r.head.key, r.head), tail=by_key.get(r.tail.key, r.tail)) for r in rels)
        doc = self._relink_concept_relations(doc, new)
        return doc.with_spans(new).with_relations(rels)

    def _relink_concept_relations(self, doc: Document, new: list[Span]) -> Document:
        """``doc`` with the concept ids of its document-level relations (``metadata["relations"]``: ``[label, id, id,
        ...]``, as PubTator and BioC read them) moved along with the span ids that overwriting replaced (``new`` is
        ``doc.spans`` linked, index for index). An old id that some span still has, or that became several different
        ids, is kept: the latter counted as ``document_relation_ids_stale``."""
        concept = doc.metadata.get("relations")
        if not concept:
            return doc
        moved: dict[str, set[str]] = {}
        for old, s in zip(doc.spans, new):
            if old.ids and s.ids != old.ids:
                moved.setdefault(format_ids(old.ids), set()).add(format_ids(s.ids))
        if not moved:
            return doc
        kept = {format_ids(s.ids) for s in new if s.ids}
        out = []
        for label, *args in concept:
            new_args = []
            for a in args:
                a = str(a)
                if a in moved and a not in kept:
                    if len(moved[a]) == 1:
                        a = next(iter(moved[a]))
                        self.last_stats["document_relation_ids_relinked"] += 1
                    else:
                        self.last_stats["document_relation_ids_stale"] += 1
                new_args.append(a)
            out.append([label, *new_args])
        return replace(doc, metadata={**doc.metadata, "relations": out})


def apply_linkers(linkers: Sequence[DictionaryLinker], docs: Any) -> tuple[Any, Counter]:
    """Run ``linkers`` in turn on one document or a list; returns the linked documents and their counts summed."""
    counts: Counter = Counter()
    for lk in linkers:
        docs = lk(docs)
        counts.update(lk.last_stats)
    return docs, counts


class LinkedTagger:
    """A tagger followed by one or more linkers, usable wherever a tagger is (``tag_file``, ``biobert tag --link``).

    ``last_stats`` holds the tagger's counters and the linkers' (prefixed ``link_``).
    """

    def __init__(self, tagger: Any, linkers: DictionaryLinker | Sequence[DictionaryLinker]) -> None:
        self.tagger = tagger
        self.linkers = [linkers] if isinstance(linkers, DictionaryLinker) else list(linkers)
        self.last_stats: Counter = Counter()
        self.last_doc_stats: list[Counter] = []

    def __call__(self, docs: Any) -> Any:
        linked, counts = apply_linkers(self.linkers, self.tagger(docs))
        self.last_stats = Counter(getattr(self.tagger, "last_stats", None) or {}) + Counter(
            {f"link_{k}": v for k, v in counts.items()})
        # per document: the tagger's post-prediction counters (when it keeps them) and every linker's, as in
        # last_stats; a tagger without per-document counters still gets the linkers' own
        tagged = list(getattr(self.tagger, "last_doc_stats", None) or [])
        n = len(self.linkers[0].last_doc_stats) if self.linkers else len(tagged)
        per_doc = [Counter(tagged[i]) if i < len(tagged) else Counter() for i in range(n)]
        for lk in self.linkers:
            for own, c in zip(per_doc, lk.last_doc_stats):
                own.update({f"link_{k}": v for k, v in c.items()})
        self.last_doc_stats = per_doc
        return linked

    def __getattr__(self, name: str) -> Any:  # labels, source, ... of the tagger
        if name in ("tagger", "linkers"):
            raise AttributeError(name)
        return getattr(self.tagger, name)


def parse_link_option(value: str) -> tuple[str, list[str] | None]:
    """``"kb.tsv"`` -> ``("kb.tsv", None)``; ``"Disease,Chemical=kb.tsv"`` -> ``("kb.tsv", ["Disease", "Chemical"])``."""
    if "=" in value and not Path(value).exists():
        labels, path = value.split("=", 1)
        names = [l.strip() for l in labels.split(",") if l.strip()]
        if not names or not path:
            raise ConfigError(f"E486 a dictionary option (--link / --kb) expects KB.tsv or LABEL[,LABEL]=KB.tsv, got {value!r}")
        return path, names
    return value, None
