"""BioC XML and BioC JSON (via the ``bioc`` package).

Each BioC document becomes one :class:`~biobert.types.Document` whose text
holds every passage at its BioC offset; gaps between passages are filled with
spaces (the CDR title/abstract gap is one space, which matches PubTator).

Offsets are *character* offsets, as in the BioCreative corpora (BC5CDR).
Some tools write UTF-8 *byte* offsets instead (notably PubTator Central's BioC
JSON for non-ASCII text); with ``offsets="auto"`` (the default) a document whose
annotations match their text only when its offsets are read as bytes is
converted to characters and marked ``metadata["source_offsets"] = "utf-8 bytes"``; so is one whose
annotations match only in UTF-16 code units (Java's string indices, which count a character beyond U+FFFF,
such as 𝛂 or an emoji, twice), marked ``"utf-16 code units"``.

Annotations become spans (label from the ``type`` infon, ids from ``MESH`` /
``identifier`` / ``Identifier`` / ``NCBI Gene`` ...). An annotation with several
locations (a discontinuous mention) gives one span per location, all with the
same label and ids; such annotations are counted in
``metadata["discontinuous_annotations"]`` and listed in
``metadata["discontinuous_groups"]`` so that the writer can join them again.
Annotations marked ``CompositeRole = IndividualMention`` (the parts of CDR
composite mentions, which overlap the composite mention itself and do not
appear in the PubTator release) are kept aside in
``metadata["individual_mentions"]`` unless ``individual_mentions=True``; those
whose text does not match their locations (three in CDR) are always kept
aside, flagged ``"text_mismatch": True``, and logged.

An annotation (or relation) ``score`` infon that holds a number becomes
``Span.score`` (``Relation.score``), and the writer puts scores there. The
names of the parts of a composite mention (PubTator's 7th column,
``metadata["composite_names"]``) are written as a ``CompositeNames`` infon
(``"name1|name2"``) beside ``CompositeRole = CompositeMention``, the infon by
which the CDR BioC files mark composite mentions, and read back into
``metadata["composite_names"]``. Ids keep their positions in composite
fields (``MESH = D002544|-1``), as in PubTator.

Relations whose nodes point at annotations become :class:`Relation` objects
(first location of each argument). Relations between concepts (CDR ``CID``
with ``Chemical``/``Disease`` infons) go to ``metadata["relations"]`` as
``[label, value, value, ...]`` lists, the same shape as PubTator relations.
So do relations with a node whose ``refid`` names no annotation read as a span
(a dangling reference, or an annotation kept aside): ``[label, refid, refid, ...]``;
they are counted in ``metadata["unresolved_relations"]`` and logged as a warning
that names the file, the document and the relation.
"""

from __future__ import annotations

import bisect
import io as _io
import itertools
import logging
import math
import os
import re
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from biobert.errors import ConfigError, DataFormatError, OffsetError
from biobert.io._common import MISSING_DB, PathOrStream, describe, load_json_values, open_bytes, open_out, parse_ids
from biobert.io.jsonl import escape_json
from biobert.text.words import replace_surrogates
from biobert.types import Document, Relation, Span

if TYPE_CHECKING:  # the bioc package (and lxml) is imported only when BioC is read or written
    import bioc as _bioc

__all__ = ["read_bioc", "write_bioc", "read_bioc_json", "bioc_json_documents", "write_bioc_json", "OFFSET_UNITS"]

#: how BioC offsets are read: characters, UTF-8 bytes, UTF-16 code units, or ``auto`` (characters unless only
#: bytes, else only UTF-16 units, fit the text)
OFFSET_UNITS = ("auto", "chars", "bytes", "utf16")
#: what ``metadata["source_offsets"]`` says of a document whose offsets were converted
_UNIT_NAMES = {"bytes": "utf-8 bytes", "utf16": "utf-16 code units"}

logger = logging.getLogger(__name__)

#: infon keys holding identifiers, with the database they imply for ids without a prefix
ID_KEYS: dict[str, str | None] = {
    "MESH": "MESH",
    "MeSH": "MESH",
    "identifier": None,
    "Identifier": None,
    "NCBI Gene": "NCBIGene",
    "NCBIGene": "NCBIGene",
    "Gene": "NCBIGene",
}
_DB_TO_KEY = {"MESH": "MESH", "NCBIGene": "NCBI Gene"}
_TYPE_KEYS = ("type", "Type")
_REL_KEYS = ("relation", "type", "Type", "relation type")
#: conventional infon keys of concept relations, by relation label (for writing PubTator-born relations)
_CONCEPT_KEYS = {"CID": ("Chemical", "Disease")}
#: infon holding a model's confidence (Span.score, Relation.score)
SCORE_KEY = "score"
#: infon holding the names of the parts of a composite mention, ``|``-joined (PubTator's 7th column)
COMPOSITE_NAMES_KEY = "CompositeNames"
#: characters XML 1.0 cannot hold, not even as character references: written as a space (form feeds and NULs
#: are common in text extracted from PDF) ...
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: ... and lone surrogates, which no Unicode encoding can hold, are written as U+FFFD (XML) or a \\udxxx escape (JSON)


def read_bioc(path: PathOrStream, *, individual_mentions: bool = False, offsets: str = "auto",
              max_chars: int | None = None) -> list[Document]:
    """Read a BioC XML collection.

    Args:
        path: file path or text stream.
        individual_mentions: also turn CDR ``IndividualMention`` annotations
            into spans (they overlap their composite mention).
        offsets: ``chars`` (BioC's rule), ``bytes`` (UTF-8 byte offsets, which some tools write), ``utf16``
            (UTF-16 code units: Java's string indices) or ``auto``: characters, unless a document's
            annotations only match their text when read as bytes (else as UTF-16 units); such documents are
            converted and marked ``metadata["source_offsets"] = "utf-8 bytes"`` (``"utf-16 code units"``).
        max_chars: most characters the documents' texts may hold together (``None``: no limit). A text is as long as
            its last passage's offset plus its length (the gaps before passages are filled with spaces), so a tiny
            file with ``<offset>2000000000</offset>`` would make a 2 GB text: E228 is raised as soon as the offsets
            read so far pass the limit, before the text is built (``biobert serve`` gives its ``--max-chars``).

    Returns:
        One document per BioC document, id = BioC id. ``metadata``: ``passages``
        (``type``, ``offset``, ``length``, ``infons``), ``discontinuous_annotations``,
        and when present ``infons`` (document infons), ``collection`` (source,
        date, key), ``relations`` (concept relations), ``composite_names``
        (``[start, end, label, "name1|name2"]`` from ``CompositeNames``
        infons, or from the texts of the ``IndividualMention`` annotations
        that follow a ``CompositeMention`` inside its range, as in CDR; the
        shape :func:`~biobert.io.pubtator.read_pubtator` gives), ``span_infons`` (other
        annotation infons such as ``CompositeRole``, as ``{"start", "end",
        "label", "ids", "infons"}``), ``discontinuous_groups`` (``[label,
        [[start, end], ...]]``) and ``individual_mentions`` (annotations kept
        aside, as ``{"infons", "locations", "text"}``) and ``unresolved_relations``
        (the number of relations with a node ``refid`` that names no annotation read
        as a span, which go to ``relations`` as ``[label, refid, ...]``; each is logged).

    Raises:
        DataFormatError: E220 annotation text differs from the text at its
            location, E221 overlapping passages or a location outside the text,
            E222 annotation without a type, E223 not well-formed XML, E224
            annotation without a location, E226 XML whose root is not a BioC ``<collection>``.
            E220-E224 name the line of the ``<annotation>`` (or, for passage
            offsets, of the ``<document>``) besides the document and annotation ids. E228 the texts would hold
            more than ``max_chars`` characters.
    """
    import bioc
    from lxml import etree

    name, _ = describe(path)
    try:
        if isinstance(path, (str, os.PathLike)):
            with open_bytes(path) as f:  # .xml.gz and the like are decompressed
                data = f.read()
        else:
            data = path.read()
        # lxml refuses str input with an encoding declaration: give it bytes
        raw = data.encode("utf-8") if isinstance(data, str) else data
        _check_root(raw, name)
        collection = bioc.load(_io.BytesIO(raw))
    except DataFormatError:
        raise
    except etree.XMLSyntaxError as e:
        raise DataFormatError("E223", name, e.lineno, "well-formed BioC XML", found=str(e)) from None
    except (KeyError, ValueError, TypeError) as e:  # missing attributes, non-integer offsets
        raise DataFormatError("E223", name, None, "BioC XML (collection/document/passage/annotation/location)", found=repr(e)) from None
    coll_meta = {k: v for k, v in (("source", collection.source), ("date", collection.date), ("key", collection.key)) if v}
    if collection.infons:
        coll_meta["infons"] = dict(collection.infons)
    locate = _xml_locator(raw)
    return _convert_all(collection.documents, name, coll_meta, individual_mentions, offsets, locate, max_chars)


def _convert_all(bdocs: Iterable[Any], name: str, coll_meta: dict[str, Any], individual: bool, offsets: str,
                 locate: "Locator", max_chars: int | None) -> list[Document]:
    """:func:`_convert` of every document, with ``max_chars`` as the budget of all their texts together."""
    out: list[Document] = []
    left = max_chars
    for d in bdocs:
        doc = _convert(d, name, coll_meta, individual, offsets, locate, max_chars=left, limit=max_chars)
        if left is not None:
            left -= len(doc.text)
        out.append(doc)
    return out


#: ``locate(document id, annotation id or None)``: the line of that ``<annotation>`` (else of the ``<document>``) in
#: the file, for error messages; ``None`` where the source has no lines to name (BioC JSON)
Locator = Callable[[str, "str | None"], "int | None"]


def _no_lines(doc_id: str, ann_id: str | None = None) -> int | None:
    return None


def _xml_locator(raw: bytes) -> Locator:
    """A :data:`Locator` for the BioC XML ``raw``. The ``bioc`` package keeps no line numbers, so the XML is parsed
    again for them, once, and only when an error needs one (the files that read without error pay nothing)."""
    table: dict[Any, int] | None = None

    def locate(doc_id: str, ann_id: str | None = None) -> int | None:
        nonlocal table
        if table is None:
            from lxml import etree

            table = {}
            parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
            for doc in etree.parse(_io.BytesIO(raw), parser).getroot().iter("document"):
                did = str(doc.findtext("id"))  # as the bioc package reads it
                table.setdefault(did, doc.sourceline)
                for ann in doc.iter("annotation"):
                    table.setdefault((did, ann.get("id")), ann.sourceline)
        found = table.get((doc_id, ann_id)) if ann_id is not None else None
        return found if found is not None else table.get(doc_id)

    return locate


def _check_root(raw: bytes, name: str) -> None:
    """E226 unless the XML's root element is a BioC ``<collection>``.

    The ``bioc`` package reads any XML (an HTML page, a PubMed ``<PubmedArticleSet>``) as a collection with no
    documents, so a wrong file would otherwise give zero documents and no error.
    """
    from lxml import etree

    for _, elem in etree.iterparse(_io.BytesIO(raw), events=("start",)):
        if elem.tag != "collection":
            raise DataFormatError("E226", name, elem.sourceline, "a BioC XML file, whose root element is <collection>", found=f"<{elem.tag}>")
        return


# -- BioC JSON ----------------------------------------------------------------

#: top-level keys under which a service wraps a list of BioC documents (PubTator3's export API)
_WRAPPERS = ("PubTator3", "documents")


def read_bioc_json(path: PathOrStream, *, individual_mentions: bool = False, offsets: str = "auto",
                   max_chars: int | None = None) -> list[Document]:
    """Read BioC JSON: a collection (``{"source", "date", "key", "infons", "documents": [...]}``), one document,
    a list of documents, or a service's wrapper of them (PubTator3's export: ``{"PubTator3": [...]}``). Files
    with one JSON object per line (PubTator Central's older export) are read too.

    Documents become :class:`Document` objects exactly as :func:`read_bioc` makes them (same metadata, same
    offset rules, ``offsets`` and ``max_chars`` as there). Keys that BioC requires but JSON writers often leave out (``infons``,
    ``sentences``, ``relations``, ``annotations``) default to empty.

    Raises:
        DataFormatError: E225 not JSON, or JSON that is not BioC (the message names the missing field and where);
            E220-E224 and E228 as :func:`read_bioc`.
    """
    name, objs = load_json_values(path, "BioC JSON (a collection, a document or a list of documents)")
    return bioc_json_documents(objs, name, individual_mentions=individual_mentions, offsets=offsets, max_chars=max_chars)


def bioc_json_documents(objs: list[Any], name: str, *, individual_mentions: bool = False, offsets: str = "auto",
                        max_chars: int | None = None) -> list[Document]:
    """:func:`read_bioc_json` on JSON values already parsed (``name`` is the file, for error messages)."""
    coll_meta: dict[str, Any] = {}
    bdocs: list[Any] = []
    for obj in objs:
        docs, meta = _json_documents(obj, name)
        coll_meta = coll_meta or meta
        bdocs += docs
    return _convert_all(bdocs, name, coll_meta, individual_mentions, offsets, _no_lines, max_chars)


def _json_documents(obj: Any, name: str) -> tuple[list[Any], dict[str, Any]]:
    """The BioC documents of one parsed JSON value, and the collection's metadata."""
    if isinstance(obj, list):
        return [_json_doc(d, name, f"[{i}]") for i, d in enumerate(obj)], {}
    if not isinstance(obj, dict):
        raise DataFormatError("E225", name, None, "a BioC JSON object or list", found=type(obj).__name__)
    for key in _WRAPPERS:
        if isinstance(obj.get(key), list):
            meta = {k: obj[k] for k in ("source", "date", "key") if obj.get(k)}
            if isinstance(obj.get("infons"), dict) and obj["infons"]:
                meta["infons"] = dict(obj["infons"])
            return [_json_doc(d, name, f"{key}[{i}]") for i, d in enumerate(obj[key])], meta
    if "passages" in obj:
        return [_json_doc(obj, name, "document")], {}
    raise DataFormatError("E225", name, None, "BioC JSON: a collection with 'documents', a document with 'passages', or a list of documents",
                          found="keys " + ", ".join(sorted(map(str, obj))[:8]))


def _need(obj: Any, key: str, name: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise DataFormatError("E225", name, None, f"a {key!r} field in {where}", found=None if not isinstance(obj, dict) else "keys " + ", ".join(sorted(map(str, obj))[:8]))
    val = obj[key]
    if not isinstance(val, kind) or isinstance(val, bool):
        raise DataFormatError("E225", name, None, f"{key!r} in {where} of type {getattr(kind, '__name__', kind)}", found=repr(val)[:60])
    return val


def _json_infons(obj: dict[str, Any]) -> dict[str, str]:
    # BioC infons are strings; JSON writers put numbers, booleans and nulls there (PubTator3: "valid": true)
    return {str(k): ("" if v is None else _json_scalar(v)) for k, v in (obj.get("infons") or {}).items()}


def _json_scalar(v: Any) -> str:
    """A JSON value as the string BioC XML would hold (``true`` and ``false``, not Python's ``True``)."""
    import json

    return json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v


def _json_ann(obj: Any, name: str, where: str) -> Any:
    import bioc

    ann = bioc.BioCAnnotation()
    ann.id = str(obj.get("id", "")) if isinstance(obj, dict) else ""
    ann.infons = _json_infons(obj) if isinstance(obj, dict) else {}
    ann.text = obj.get("text") if isinstance(obj, dict) else None
    for j, loc in enumerate(_need(obj, "locations", name, where, list)):
        ann.add_location(bioc.BioCLocation(_need(loc, "offset", name, f"{where}.locations[{j}]", int),
                                           _need(loc, "length", name, f"{where}.locations[{j}]", int)))
    return ann


def _json_rel(obj: Any, name: str, where: str) -> Any:
    import bioc

    rel = bioc.BioCRelation()
    rel.id = str(obj.get("id", "")) if isinstance(obj, dict) else ""
    rel.infons = _json_infons(obj) if isinstance(obj, dict) else {}
    for j, node in enumerate((obj.get("nodes") or []) if isinstance(obj, dict) else []):
        rel.add_node(bioc.BioCNode(str(_need(node, "refid", name, f"{where}.nodes[{j}]", (str, int))), str(node.get("role", ""))))
    return rel


def _json_fill(target: Any, obj: dict[str, Any], name: str, where: str) -> None:
    for i, a in enumerate(obj.get("annotations") or []):
        target.add_annotation(_json_ann(a, name, f"{where}.annotations[{i}]"))
    for i, r in enumerate(obj.get("relations") or []):
        target.add_relation(_json_rel(r, name, f"{where}.relations[{i}]"))


def _json_doc(obj: Any, name: str, where: str) -> Any:
    import bioc

    doc = bioc.BioCDocument()
    doc.id = str(_need(obj, "id", name, where, (str, int)))
    where = f"document {doc.id}"
    doc.infons = _json_infons(obj)
    for i, pobj in enumerate(_need(obj, "passages", name, where, list)):
        pw = f"{where} passages[{i}]"
        bp = bioc.BioCPassage()
        bp.offset = _need(pobj, "offset", name, pw, int)
        bp.infons = _json_infons(pobj)
        bp.text = pobj.get("text")
        for j, sobj in enumerate(pobj.get("sentences") or []):
            sw = f"{pw}.sentences[{j}]"
            bs = bioc.BioCSentence()
            bs.offset = _need(sobj, "offset", name, sw, int)
            bs.infons = _json_infons(sobj)
            bs.text = sobj.get("text")
            _json_fill(bs, sobj, name, sw)
            bp.add_sentence(bs)
        _json_fill(bp, pobj, name, pw)
        doc.add_passage(bp)
    _json_fill(doc, obj, name, where)
    return doc


def _ids(infons: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    for key, db in ID_KEYS.items():
        if infons.get(key):
            # keep_missing: "D002544|-1" keeps its "-1" so that the ids stay aligned with the composite's parts
            return parse_ids(infons[key], default_db=db, keep_missing=True)
    return ()


def _score(infons: dict[str, Any]) -> float | None:
    """The number in a ``score`` infon, or ``None`` (absent, or not a finite number: then it stays an infon)."""
    try:
        value = float(infons.get(SCORE_KEY))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _texts(bdoc: "_bioc.BioCDocument") -> list[str]:
    return [p.text or "" for p in bdoc.passages] + [s.text or "" for p in bdoc.passages for s in p.sentences]


def _ascii_only(bdoc: "_bioc.BioCDocument") -> bool:
    return all(t.isascii() for t in _texts(bdoc))


def _bmp_only(bdoc: "_bioc.BioCDocument") -> bool:
    return all(ord(c) <= 0xFFFF for t in _texts(bdoc) for c in t)


def _width(ch: str, unit: str) -> int:
    """How many offset units character ``ch`` counts for (a lone surrogate: as Python and Java hold it)."""
    if unit == "bytes":
        return len(ch.encode("utf-8", "surrogatepass"))
    return 2 if ord(ch) > 0xFFFF else 1  # utf16


def _convert(bdoc: "_bioc.BioCDocument", name: str, coll_meta: dict[str, Any], individual: bool, offsets: str = "auto",
             locate: Locator = _no_lines, *, max_chars: int | None = None, limit: int | None = None) -> Document:
    """One BioC document as a :class:`Document`, its offsets read as characters, UTF-8 bytes, UTF-16 code units,
    or (``auto``) characters unless only a byte reading, else only a UTF-16 reading, makes every annotation match
    its text. ``locate`` gives errors their line. ``max_chars``: the most characters its text may have (E228 before
    the text is built); ``limit``: the limit of all documents together, for the message."""
    if offsets not in OFFSET_UNITS:
        raise ConfigError(f"E434 offsets must be one of {OFFSET_UNITS}, got {offsets!r}")
    kw = {"locate": locate, "max_chars": max_chars, "limit": limit}
    if offsets != "auto":
        try:
            return _convert_at(bdoc, name, coll_meta, individual, unit=offsets, **kw)
        except DataFormatError as e:
            if offsets != "chars" or e.code not in ("E220", "E221") or _ascii_only(bdoc):
                raise
            # non-ASCII text read as characters on request: name the units other tools count in
            raise DataFormatError(e.code, e.path, e.line, f"{e.expected} (offsets='bytes' reads UTF-8 byte offsets, "
                                  "offsets='utf16' UTF-16 code units, as Java tools count)", found=e.found) from None
    try:
        return _convert_at(bdoc, name, coll_meta, individual, unit="chars", **kw)
    except DataFormatError as e:
        # E228: read as characters the text is too long; read as bytes (UTF-16 units) it is shorter, and may fit
        if e.code not in ("E220", "E221", "E228") or _ascii_only(bdoc):
            raise
        for unit in ("bytes", "utf16"):
            if unit == "utf16" and _bmp_only(bdoc):
                continue  # UTF-16 units are characters when no character lies beyond U+FFFF
            try:
                doc = _convert_at(bdoc, name, coll_meta, individual, unit=unit, **kw)
            except DataFormatError:
                continue
            logger.info("%s: document %s: offsets are %s; converted to character offsets", name, bdoc.id, _UNIT_NAMES[unit])
            return doc
        if e.code == "E228":
            raise
        # no reading fits: the character reading's error, with the other units named
        raise DataFormatError(e.code, e.path, e.line, f"{e.expected} (character, UTF-8 byte and UTF-16 offsets "
                              "were tried)", found=e.found) from None


def _close_composite(follow: list[Any] | None, composite: list[list[Any]]) -> None:
    """Record the names of the parts of a followed composite mention (see :func:`_convert_at`), if it had parts."""
    if follow is not None and follow[5]:
        composite.append([follow[0], follow[1], follow[2], "|".join(follow[5])])


def _convert_at(bdoc: "_bioc.BioCDocument", name: str, coll_meta: dict[str, Any], individual: bool, unit: str,
                locate: Locator = _no_lines, max_chars: int | None = None, limit: int | None = None) -> Document:
    doc_id = str(bdoc.id)
    parts: list[str] = []
    pos = 0  # in the file's offset unit (characters, UTF-8 bytes or UTF-16 code units)
    cpos = 0  # in characters
    in_units = unit != "chars"
    #: unit offset -> character offset, at every character boundary of the passages' texts (bytes and UTF-16 only)
    umap: dict[int, int] = {}
    #: the gaps before passages (spaces: one unit, one character each) as (first unit, end unit, first character),
    #: in order: one entry per gap, not one per position (a gap of 2e9 units was 2e9 dictionary entries)
    gaps: list[tuple[int, int, int]] = []
    size = (lambda t: sum(_width(c, unit) for c in t)) if in_units else len

    def conv(u: int, what: str, ann_id: str | None = None) -> int:
        if not in_units:
            return u
        if u in umap:
            return umap[u]
        k = bisect.bisect_right(gaps, (u, float("inf"), 0)) - 1
        if k >= 0 and gaps[k][0] <= u < gaps[k][1]:
            return gaps[k][2] + (u - gaps[k][0])
        raise DataFormatError("E221", name, locate(doc_id, ann_id), f"a {_UNIT_NAMES[unit][:-1]} offset on a character "
                              f"boundary inside the text ({what})", found=f"document {doc_id} offset {u}")

    passages: list[dict[str, Any]] = []
    sentences: list[tuple[int, int]] = []
    anns: list[Any] = list(bdoc.annotations)
    rels: list[Any] = list(bdoc.relations)
    for p in sorted(bdoc.passages, key=lambda p: p.offset):
        pieces = [(p.offset, p.text or "")]
        if not p.text and p.sentences:  # sentence-level BioC: the text lives in the sentences
            pieces = [(s.offset, s.text or "") for s in sorted(p.sentences, key=lambda s: s.offset)]
        start = pieces[0][0]
        for off, t in pieces:
            if off < pos:
                raise DataFormatError(
                    "E221", name, locate(doc_id, None), f"passages and sentences at increasing, non-overlapping offsets (document {doc_id})",
                    found=f"offset {off} < {pos}",
                )
            # characters so far, then with the gap (spaces) and this text: checked before the gap is built, since an
            # offset of 2e9 in a 100-byte file must not allocate 2 GB
            after = (cpos if in_units else pos) + (off - pos) + len(t)
            if max_chars is not None and after > max_chars:
                total = (limit if limit is not None else max_chars) - max_chars + after
                raise DataFormatError(
                    "E228", name, locate(doc_id, None), f"texts of at most {limit if limit is not None else max_chars} "
                    f"characters in all (passage offsets count: the text before a passage is filled with spaces)",
                    found=f"document {doc_id}: a passage at offset {off} makes {total} characters")
            parts.append(" " * (off - pos))
            parts.append(t)
            if in_units:
                if off > pos:  # the gap is spaces: one unit, one character each
                    gaps.append((pos, off, cpos))
                cpos += off - pos
                u = off
                for ch in t:
                    umap[u] = cpos
                    u += _width(ch, unit)
                    cpos += 1
                umap[u] = cpos
            pos = off + size(t)
        passages.append({"type": p.infons.get("type"), "offset": conv(start, "passage"), "length": conv(pos, "passage") - conv(start, "passage"),
                         "infons": dict(p.infons)})
        anns.extend(p.annotations)
        rels.extend(p.relations)
        for s in p.sentences:
            anns.extend(s.annotations)
            rels.extend(s.relations)
            if s.text:
                a = conv(s.offset, "sentence")
                sentences.append((a, a + len(s.text)))
    text = "".join(parts)

    spans: list[Span] = []
    by_ann: dict[str, Span] = {}
    span_infons: list[dict[str, Any]] = []
    composite: list[list[Any]] = []
    groups: list[list[Any]] = []
    aside: list[dict[str, Any]] = []
    # CDR lists the parts of a composite mention (IndividualMention) right after it; their texts are the
    # names of PubTator's 7th column, which the PubTator writer would otherwise lose. Followed here as
    # [start, end, label, lowest offset, highest offset, part texts] of the composite annotation.
    follow: list[Any] | None = None
    ann_ids: list[list[Any]] = []
    for ann in anns:
        label = next((ann.infons[k] for k in _TYPE_KEYS if ann.infons.get(k)), None)
        if label is None:
            raise DataFormatError("E222", name, locate(doc_id, ann.id), "an annotation with a 'type' infon", found=f"document {doc_id} annotation {ann.id}")
        locs = [(conv(loc.offset, f"annotation {ann.id}", ann.id), conv(loc.offset + loc.length, f"annotation {ann.id}", ann.id))
                for loc in ann.locations]
        pieces = []
        for a, b in locs:
            if not (0 <= a <= b <= len(text)):
                raise DataFormatError(
                    "E221", name, locate(doc_id, ann.id), f"a location inside the text (length {len(text)})",
                    found=f"document {doc_id} annotation {ann.id} at {a}-{b}",
                )
            pieces.append(text[a:b])
        if not locs:
            raise DataFormatError("E224", name, locate(doc_id, ann.id), "an annotation with a location", found=f"document {doc_id} annotation {ann.id}")
        # discontinuous CDR mentions spell their parts joined by a space ("Ocular ... toxicity" -> "Ocular toxicity")
        ok = ann.text is None or ann.text in (" ".join(pieces), "".join(pieces))
        is_part = ann.infons.get("CompositeRole") == "IndividualMention"
        if is_part:
            if follow is not None and ann.text is not None and all(follow[3] <= a and b <= follow[4] for a, b in locs):
                follow[5].append(ann.text)
            else:
                follow = None  # a part that is not inside the composite before it: no names rather than wrong ones
        else:
            _close_composite(follow, composite)
            follow = None
            if ann.infons.get("CompositeRole") == "CompositeMention" and COMPOSITE_NAMES_KEY not in ann.infons:
                follow = [locs[0][0], locs[0][1], label, min(a for a, _ in locs), max(b for _, b in locs), []]
        if not ok and not is_part:
            raise DataFormatError(
                "E220", name, locate(doc_id, ann.id), f"document {doc_id} annotation {ann.id} text {ann.text!r} at {locs}",
                found=" ".join(pieces),
            )
        if is_part and (not individual or not ok):
            # CDR ships 3 parts of composite mentions with locations off by one character: they are kept
            # aside, flagged, instead of failing the whole file or becoming spans that cover the wrong text
            entry = {"infons": dict(ann.infons), "locations": [list(x) for x in locs], "text": ann.text}
            if not ok:
                entry["text_mismatch"] = True
                logger.warning("%s: document %s: individual mention %s %r does not match its locations %s; kept aside",
                               name, doc_id, ann.id, ann.text, locs)
            aside.append(entry)
            continue
        ids = _ids(ann.infons)
        score = _score(ann.infons)
        extra = {k: v for k, v in ann.infons.items()
                 if k not in _TYPE_KEYS and k not in ID_KEYS and not (k == SCORE_KEY and score is not None)}
        if COMPOSITE_NAMES_KEY in extra:  # the shape the PubTator reader gives them, for the PubTator writer
            # an empty 7th column (one CDR training record has them) is an empty infon, which reads as None
            composite.append([locs[0][0], locs[0][1], label, extra.pop(COMPOSITE_NAMES_KEY) or ""])
        made = [Span(a, b, label, score=score, ids=ids, text=text[a:b]) for a, b in locs]
        spans.extend(made)
        by_ann[ann.id] = made[0]
        if ann.id is not None:  # the writer gives the annotation its id back (relations and other tools name it)
            ann_ids.append([locs[0][0], locs[0][1], label, ann.id])
        if extra:  # other infons (CompositeRole, ...), for the writer; keyed by the first location
            span_infons.append({"start": locs[0][0], "end": locs[0][1], "label": label, "ids": [list(i) for i in ids], "infons": extra})
        if len(locs) > 1:
            groups.append([label, [list(x) for x in locs]])
    _close_composite(follow, composite)

    relations: list[Relation] = []
    rel_details: list[dict[str, Any]] = []
    concept: list[list[str]] = []
    unresolved = 0
    for rel in rels:
        label = next((rel.infons[k] for k in _REL_KEYS if rel.infons.get(k)), "")
        nodes = [by_ann.get(n.refid) for n in rel.nodes]
        if len(nodes) == 2 and all(n is not None for n in nodes):  # a Relation has two arguments; more: by refids
            score = _score(rel.infons)
            relations.append(Relation(nodes[0], nodes[1], label, score=score))
            # what a Relation has no field for, so that the writer gives it back: id, node roles, the infon
            # the label came from, and the other infons ("novel", ...)
            used = next((k for k in _REL_KEYS if rel.infons.get(k)), None)
            rel_details.append({"head": list(nodes[0].key), "tail": list(nodes[1].key), "label": label, "id": rel.id,
                                "roles": [n.role for n in rel.nodes], "label_key": used,
                                "infons": {k: v for k, v in rel.infons.items()
                                           if k != used and not (k == SCORE_KEY and score is not None)}})
        elif rel.nodes:
            concept.append([label, *(n.refid for n in rel.nodes)])
            missing = [n.refid for n in rel.nodes if n.refid not in by_ann]
            if missing:
                # a node that names no span (a dangling refid, or an annotation kept aside) cannot be a Relation
                # argument: the relation is kept by its refids, and said so, since a typo'd refid looks the same
                unresolved += 1
                logger.warning("%s: document %s: relation %s %r: node refid(s) %s name no annotation read as a span; "
                               "kept in metadata['relations'] as [label, refid, ...]", name, doc_id, rel.id, label, missing)
        else:
            used = next((k for k in _REL_KEYS if rel.infons.get(k)), None)
            concept.append([label, *(str(v) for k, v in rel.infons.items() if k != used)])

    meta: dict[str, Any] = {"passages": passages, "discontinuous_annotations": len(groups)}
    if in_units:
        meta["source_offsets"] = _UNIT_NAMES[unit]  # converted: every offset in this Document counts characters
    if bdoc.infons:
        meta["infons"] = dict(bdoc.infons)
    if coll_meta:
        meta["collection"] = coll_meta
    if concept:
        meta["relations"] = concept
    if unresolved:
        meta["unresolved_relations"] = unresolved
    if ann_ids:
        meta["bioc_annotation_ids"] = sorted(ann_ids)
    if rel_details:
        meta["bioc_relations"] = rel_details
    # sorted by position rather than file order, so that writing and reading again gives equal lists
    if composite:
        meta["composite_names"] = sorted(composite)
    if span_infons:
        meta["span_infons"] = sorted(span_infons, key=lambda x: (x["start"], x["end"], x["label"], x["ids"], sorted(x["infons"].items())))
    if groups:
        meta["discontinuous_groups"] = sorted(groups, key=lambda g: (g[1], g[0]))
    if aside:
        # in text order (not file order), so that writing and reading again gives the same list
        meta["individual_mentions"] = sorted(aside, key=lambda m: (m["locations"], m["text"] or ""))
    doc = Document(id=doc_id, text=text, metadata=meta, sentences=tuple(sorted(sentences))).with_spans(spans)
    return doc.with_relations(relations)


# -- writing ------------------------------------------------------------------


def _id_infons(ids: tuple[tuple[str, str], ...]) -> dict[str, str]:
    if not ids:
        return {}
    dbs = {db for db, _ in ids if db != MISSING_DB}  # a "-1" placeholder does not make "D002544|-1" mixed
    key = _DB_TO_KEY.get(dbs.pop(), "identifier") if len(dbs) == 1 else "identifier"
    return {key: "|".join(i for _, i in ids)}


def write_bioc(docs: Iterable[Document], path_or_stream: PathOrStream) -> dict[str, int]:
    """Write documents as a BioC XML collection (character offsets).

    Passages come from ``metadata["passages"]`` (one passage with the whole
    text when there are none, or when they would leave text out); each span goes into the passage that contains it, or to
    the document level. Metadata recorded by :func:`read_bioc` (infons,
    discontinuous groups, individual mentions, concept relations) is written
    back, so reading the output gives equal documents. Scores go into
    ``score`` infons, composite names into ``CompositeNames`` infons.

    XML 1.0 cannot hold control characters other than tab and line breaks
    (a form feed or NUL from PDF-extracted text), U+FFFE, U+FFFF, or lone
    surrogates, not even escaped: each is written as one space (a surrogate
    as U+FFFD), so that every offset stays right, and counted in
    ``replaced_characters``. The whole collection is built and serialised
    before the file is opened, so that an error leaves no empty file behind.

    Whitespace outside the passages is not written: the reader fills the gaps
    between passages with spaces and ends the text with the last passage, so
    a gap character other than a space, or whitespace after the last passage,
    is counted in ``whitespace_outside_passages_changed``.

    Returns:
        ``{"docs", "annotations", "relations", "replaced_characters", "whitespace_outside_passages_changed"}``.

    Raises:
        OffsetError: E112 when a relation argument is not one of the document's spans.
        DataFormatError: E227 an id with ``|`` (which joins a span's ids in its infon) or spaces at the ends,
            which would read back as several ids or stripped; nothing is written.
    """
    import bioc

    coll, report = _collection(docs, xml=True, name=describe(path_or_stream)[0])
    with open_out(path_or_stream) as f:
        f.write(bioc.dumps(coll, pretty_print=True))
    return report


def write_bioc_json(docs: Iterable[Document], path_or_stream: PathOrStream) -> dict[str, int]:
    """Write documents as one BioC JSON collection (character offsets), with what :func:`write_bioc` writes.

    JSON holds every character, control characters escaped; a lone surrogate is written as its
    ``\\udxxx`` escape (UTF-8 cannot encode it raw), which reads back as the same character, so nothing
    is replaced here (``replaced_characters`` is always 0, for the same keys as :func:`write_bioc`).

    Returns:
        ``{"docs", "annotations", "relations", "replaced_characters", "whitespace_outside_passages_changed"}``.
    """
    import bioc.biocjson

    coll, report = _collection(docs, xml=False, name=describe(path_or_stream)[0])
    out = bioc.biocjson.dumps(coll, indent=1, ensure_ascii=False)
    # ensure_ascii=False leaves surrogates raw, and they can only be inside JSON strings: escape them there
    out = escape_json(out)
    with open_out(path_or_stream) as f:
        f.write(out + "\n")
    return report


def _collection(docs: Iterable[Document], xml: bool, name: str = "<string>") -> tuple["_bioc.BioCCollection", dict[str, int]]:
    """The BioC collection of ``docs`` and the writer's report; ``xml``: replace what XML 1.0 cannot hold;
    ``name``: the output, as errors name it."""
    import bioc

    docs = list(docs)
    coll = bioc.BioCCollection()
    first = docs[0].metadata.get("collection", {}) if docs else {}
    coll.source = first.get("source", "biobert")
    coll.date = first.get("date", time.strftime("%Y-%m-%d"))
    coll.key = first.get("key", "")
    coll.infons.update(first.get("infons", {}))
    report = {"docs": 0, "annotations": 0, "relations": 0, "replaced_characters": 0, "whitespace_outside_passages_changed": 0}

    def clean(value: str) -> str:
        if not isinstance(value, str):  # e.g. a None collection key from metadata: nothing to replace
            return value
        value, n = _XML_INVALID.subn(" ", value)
        value, m = replace_surrogates(value)
        report["replaced_characters"] += n + m
        return value

    keep: Callable[[str], str] = lambda value: value  # noqa: E731
    for doc in docs:
        bdoc = _to_bioc(doc, report, clean if xml else keep, name)
        if xml:
            _clean_strings(bdoc, clean)
        coll.add_document(bdoc)
        report["docs"] += 1
    if xml:
        coll.source, coll.date, coll.key = clean(coll.source), clean(coll.date), clean(coll.key)
        coll.infons = _clean_infons(coll.infons, clean)
    return coll, report


def _clean_infons(infons: dict[str, Any], clean: Callable[[str], str]) -> dict[str, str]:
    return {clean(str(k)): clean(str(v)) for k, v in infons.items()}


def _clean_strings(bdoc: "_bioc.BioCDocument", clean: Callable[[str], str]) -> None:
    """Apply ``clean`` to every string of a BioC document except the text of its passages and of the
    annotations taken from it (cleaned before, through the document text, so that they are counted once)."""
    bdoc.id = clean(bdoc.id)
    bdoc.infons = _clean_infons(bdoc.infons, clean)
    holders = [bdoc, *bdoc.passages]
    for p in bdoc.passages:
        p.infons = _clean_infons(p.infons, clean)
    for h in holders:
        for ann in h.annotations:
            ann.id = clean(ann.id)
            ann.infons = _clean_infons(ann.infons, clean)
            if ann.text is not None:
                ann.text = clean(ann.text)
        for rel in h.relations:
            rel.id = clean(rel.id)
            rel.infons = _clean_infons(rel.infons, clean)
            for node in rel.nodes:
                node.refid, node.role = clean(node.refid), clean(node.role)


def _to_bioc(doc: Document, report: dict[str, int], clean: Callable[[str], str], name: str = "<string>") -> "_bioc.BioCDocument":
    import bioc

    text = clean(doc.text)  # one character for one: offsets stay right
    bdoc = bioc.BioCDocument()
    bdoc.id = doc.id
    bdoc.infons.update(doc.metadata.get("infons", {}))
    plist = doc.metadata.get("passages") or []
    covered = set()
    for p in plist:
        covered.update(range(int(p["offset"]), int(p["offset"]) + int(p["length"])))
    if any(not c.isspace() and i not in covered for i, c in enumerate(text)) or (text and not plist):
        # the passages would leave text out (or there are none, also for a text of whitespace only, which would
        # otherwise read back as ""): write the whole text as one passage
        plist = [{"type": None, "offset": 0, "length": len(text)}]
        covered = set(range(len(text)))
    # the reader fills the gaps between passages with spaces and ends the text where the last passage ends, so
    # whitespace the passages do not hold (a "\n\n" between them, spaces after the last) reads back changed or
    # not at all: counted
    end = max((int(p["offset"]) + int(p["length"]) for p in plist), default=0)
    report["whitespace_outside_passages_changed"] += sum(
        1 for i, c in enumerate(text) if i not in covered and (i >= end or c != " "))
    passages = []
    for p in plist:
        bp = bioc.BioCPassage()
        bp.offset = int(p["offset"])
        bp.text = text[bp.offset : bp.offset + int(p["length"])]
        infons = p.get("infons")
        bp.infons.update(infons if infons is not None else ({"type": p["type"]} if p.get("type") else {}))
        bdoc.add_passage(bp)
        passages.append(bp)

    def home(a: int, b: int) -> Any:
        for bp in passages:
            if bp.offset <= a and b <= bp.offset + len(bp.text):
                return bp
        return bdoc

    extra: dict[tuple[Any, ...], list[dict[str, str]]] = {}
    for e in doc.metadata.get("span_infons", ()):
        extra.setdefault((e["start"], e["end"], e["label"], tuple(tuple(i) for i in e["ids"])), []).append(e["infons"])
    # one unit per BioC annotation: the locations of a discontinuous group, else a single span
    pool: dict[tuple[int, int, str], list[Span]] = {}
    for s in doc.spans:
        pool.setdefault(s.key, []).append(s)
    units: list[tuple[list[tuple[int, int]], Span]] = []
    for label, locs in doc.metadata.get("discontinuous_groups", ()):
        keys = [(a, b, label) for a, b in locs]
        if all(len(pool.get(k, ())) >= keys.count(k) for k in keys):
            taken = [pool[k].pop(0) for k in keys]
            units.append(([(a, b) for a, b in locs], taken[0]))
    units.extend(([(s.start, s.end)], s) for spans in pool.values() for s in spans)

    names = {(a, b, label): nm for a, b, label, nm in doc.metadata.get("composite_names", ())}
    pending: list[tuple[int, int, Any, Any]] = []  # (start, end, annotation, span) sorted before ids are given out
    for locs, s in units:
        ann = bioc.BioCAnnotation()
        ann.infons["type"] = s.label
        more = extra.get((*s.key, s.ids))
        ann.infons.update(more.pop(0) if more else {})
        for db, ident in s.ids:
            if db != MISSING_DB and ("|" in ident or ident != ident.strip()):
                # the ids of a span share one infon, joined by "|" and split there (and stripped) by the reader:
                # "a|b" would read back as two ids, " a" as "a"
                raise DataFormatError("E227", name, None, "an id without '|' (it joins ids in the infon) or spaces at the ends",
                                      found=f"document {doc.id!r}: span ({s.start}, {s.end}) id {ident!r}")
        ann.infons.update(_id_infons(s.ids))
        if s.key in names:
            # BioC has no field for them; without this infon PubTator -> BioC -> PubTator loses the 7th column
            ann.infons.setdefault("CompositeRole", "CompositeMention")
            ann.infons[COMPOSITE_NAMES_KEY] = str(names[s.key])
        if s.score is not None:
            ann.infons[SCORE_KEY] = repr(float(s.score))
        for a, b in locs:
            ann.add_location(bioc.BioCLocation(a, b - a))
        ann.text = " ".join(text[a:b] for a, b in locs)
        pending.append((s.start, s.end, ann, s))
    for m in doc.metadata.get("individual_mentions", ()):
        ann = bioc.BioCAnnotation()
        ann.infons.update(m["infons"])
        for a, b in m["locations"]:
            ann.add_location(bioc.BioCLocation(a, b - a))
        ann.text = m["text"]
        pending.append((m["locations"][0][0], m["locations"][0][1], ann, None))
    pending.sort(key=lambda x: (x[0], x[1]))
    ann_id: dict[tuple[int, int, str], str] = {}
    # the ids the annotations were read with (read_bioc), each given once; the others are numbered, skipping those
    given: dict[tuple[int, int, str], str] = {}
    for a, b, label, i in doc.metadata.get("bioc_annotation_ids", ()):
        if i not in given.values():
            given.setdefault((a, b, label), str(i))
    reserved = set(given.values())
    fresh = (str(n) for n in itertools.count() if str(n) not in reserved)
    for a, b, ann, span in pending:
        ann.id = given.pop(span.key) if span is not None and span.key in given else next(fresh)
        home(a, b).add_annotation(ann)
        if span is not None:
            ann_id.setdefault(span.key, ann.id)
        report["annotations"] += 1

    details: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for d in doc.metadata.get("bioc_relations", ()):
        details.setdefault((tuple(d["head"]), tuple(d["tail"]), d["label"]), []).append(d)
    rel_ids = {str(d["id"]) for ds in details.values() for d in ds if d.get("id") is not None}
    fresh_rel = (f"R{n}" for n in itertools.count() if f"R{n}" not in rel_ids)
    n = 0
    for r in doc.relations:
        rel = bioc.BioCRelation()
        found = details.get((r.head.key, r.tail.key, r.label))
        d = found.pop(0) if found else {}
        rel.id = str(d["id"]) if d.get("id") is not None else next(fresh_rel)
        rel.infons.update(d.get("infons", {}))
        rel.infons[d.get("label_key") or "relation"] = r.label
        if r.score is not None:
            rel.infons[SCORE_KEY] = repr(float(r.score))
        roles = d.get("roles") or ["head", "tail"]
        for span, role in ((r.head, roles[0]), (r.tail, roles[1])):
            if span.key not in ann_id:
                raise OffsetError(f"E112 relation argument {span.key} of document {doc.id!r} is not one of its spans")
            rel.add_node(bioc.BioCNode(ann_id[span.key], role))
        bdoc.add_relation(rel)
        n += 1
    for values in doc.metadata.get("relations", ()):
        label, *args = values
        rel = bioc.BioCRelation()
        rel.id = next(fresh_rel)
        rel.infons["relation"] = label
        keys = _CONCEPT_KEYS.get(label, ())
        if len(keys) != len(args):
            keys = tuple(f"arg{i + 1}" for i in range(len(args)))
        rel.infons.update(zip(keys, map(str, args)))
        bdoc.add_relation(rel)
        n += 1
    report["relations"] += n
    return bdoc

