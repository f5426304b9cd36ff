"""Dictionary linking: the TSV reader, the three match levels, abbreviations, what is kept, and the CLI."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from biobert.errors import ConfigError, DataFormatError
from biobert.linking import DictionaryLinker, LinkedTagger, normalise_name, parse_link_option
from biobert.types import Document, Relation, Span

KB = (
    "# CTD-style disease vocabulary\n"
    "MESH:D011125\tAdenomatous Polyposis Coli\tFamilial adenomatous polyposis|Polyposis, familial\n"
    "MESH:D001943\tBreast Neoplasms\tbreast cancer\tmammary cancer\n"
    "MESH:D009202\tCardiomyopathies\tcardiomyopathy\n"
    "D003920\tDiabetes Mellitus\n"
    "NCBIGene:324\tAPC\n"
    "MESH:D011125\tAPC\n"
)


@pytest.fixture()
def kb(tmp_path):
    p = tmp_path / "kb.tsv"
    p.write_text(KB, encoding="utf-8")
    return p


def spans(text, *pieces):
    out = []
    for piece, label in pieces:
        i = text.index(piece)
        out.append(Span(i, i + len(piece), label))
    return out


def test_normalise_name():
    assert normalise_name("Non-Hodgkin's  LYMPHOMA") == "non hodgkin s lymphoma"
    assert normalise_name("TNF\u2010\u03b1") == normalise_name("tnf-α") == "tnf α"  # NFKC + casefold; hyphen variants


def test_tsv_reader_ids_synonyms_and_errors(kb, tmp_path):
    lk = DictionaryLinker.from_tsv(kb, default_db="MESH")
    assert lk.lookup("Polyposis, familial") == ((("MESH", "MESH:D011125"),), "exact")
    assert lk.lookup("mammary cancer") == ((("MESH", "MESH:D001943"),), "exact")
    assert lk.lookup("Diabetes Mellitus") == ((("MESH", "D003920"),), "exact")  # a bare id gets default_db
    assert lk.lookup("APC")[0] == (("MESH", "MESH:D011125"), ("NCBIGene", "NCBIGene:324"))  # all ids, sorted
    bad = tmp_path / "bad.tsv"
    bad.write_text("MESH:D1\tname\nMESH:D2\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        DictionaryLinker.from_tsv(bad)
    assert e.value.code == "E280" and e.value.line == 2 and e.value.path == str(bad)


def test_levels_counts_and_offsets(kb):
    text = "Breast Cancers and FAMILIAL adenomatous-polyposis, cardiomyopathies, breast cancer, APC and gout."
    doc = Document("d", text).with_spans(spans(
        text, ("Breast Cancers", "Disease"), ("FAMILIAL adenomatous-polyposis", "Disease"), ("cardiomyopathies", "Disease"),
        ("breast cancer", "Disease"), ("APC", "Disease"), ("gout", "Disease")))
    lk = DictionaryLinker.from_tsv(kb)
    out = lk(doc)
    got = {s.text: s.ids for s in out.spans}
    assert got["Breast Cancers"] == got["breast cancer"] == (("MESH", "MESH:D001943"),)
    assert got["FAMILIAL adenomatous-polyposis"] == (("MESH", "MESH:D011125"),)
    assert got["cardiomyopathies"] == (("MESH", "MESH:D009202"),)  # the preferred name, case-folded
    assert got["gout"] == ()
    assert lk.last_stats == {"linked_exact": 2, "linked_normalised": 2, "linked_singular": 1, "ambiguous": 1, "unlinked": 1}
    assert [(s.start, s.end, s.label) for s in out.spans] == [(s.start, s.end, s.label) for s in doc.spans]
    assert all(text[s.start:s.end] == s.text for s in out.spans)


def test_labels_existing_ids_overwrite_and_relations(kb):
    text = "APC mutations cause breast cancer."
    gene, dis = spans(text, ("APC", "Gene"), ("breast cancer", "Disease"))
    dis = Span(dis.start, dis.end, dis.label, ids=(("OMIM", "114480"),))
    doc = Document("d", text).with_spans([gene, dis]).with_relations([Relation(gene, dis, "Association")])
    lk = DictionaryLinker.from_tsv(kb, labels=["Disease"])
    out = lk(doc)
    assert out.spans[0].ids == () and out.spans[1].ids == (("OMIM", "114480"),)
    assert lk.last_stats == {"skipped_label": 1, "kept_existing_ids": 1}
    over = DictionaryLinker.from_tsv(kb, overwrite=True)(doc)
    assert over.spans[1].ids == (("MESH", "MESH:D001943"),)
    assert over.relations[0].tail is over.spans[1] and over.relations[0].head is over.spans[0]  # re-pointed
    nothing = Document("e", "gout").with_spans([Span(0, 4, "Disease", ids=(("OMIM", "138900"),))])
    assert DictionaryLinker.from_tsv(kb, overwrite=True)(nothing).spans[0].ids == (("OMIM", "138900"),)  # never dropped


def test_short_form_takes_the_ids_of_its_long_form(kb):
    text = "Familial adenomatous polyposis (FAP) is inherited. FAP patients develop polyps."
    doc = Document("d", text).with_spans(spans(text, ("Familial adenomatous polyposis", "Disease")) + [
        Span(32, 35, "Disease"), Span(51, 54, "Disease")])
    lk = DictionaryLinker.from_tsv(kb)
    out = lk(doc)
    assert [s.ids for s in out.spans] == [(("MESH", "MESH:D011125"),)] * 3
    assert lk.last_stats["linked_via_abbreviation"] == 2
    plain = DictionaryLinker.from_tsv(kb, abbreviations=False)
    assert [s.ids for s in plain(doc).spans][1:] == [(), ()] and plain.last_stats["unlinked"] == 2


def test_linked_tagger_merges_counts(kb):
    class Fake:
        labels = ["B-Disease"]

        def __call__(self, docs):
            self.last_stats = {"sentences": len(docs)}
            return [d.with_spans([Span(0, 13, "Disease")]) for d in docs]

    lt = LinkedTagger(Fake(), DictionaryLinker.from_tsv(kb))
    [out] = lt([Document("a", "breast cancer is common")])
    assert out.spans[0].ids == (("MESH", "MESH:D001943"),)
    assert lt.last_stats == {"sentences": 1, "link_linked_exact": 1} and lt.labels == ["B-Disease"]


def test_parse_link_option(tmp_path):
    assert parse_link_option("kb.tsv") == ("kb.tsv", None)
    assert parse_link_option("Disease,Chemical=kb.tsv") == ("kb.tsv", ["Disease", "Chemical"])
    with pytest.raises(ConfigError, match="E486"):
        parse_link_option("=kb.tsv")


def test_ctd_vocabulary_gz(tmp_path):
    import gzip

    rows = ("# Fields:\n# DiseaseName\tDiseaseID\tAltDiseaseIDs\tDefinition\tParentIDs\tTreeNumbers\tParentTreeNumbers\tSynonyms\tSlimMappings\n"
            "Adenomatous Polyposis Coli\tMESH:D011125\tDO:DOID:0050424\tA polyposis...\tMESH:D044483\tC04.557\tC04\t"
            "Adenomatous Polyposis, Familial|FAP|Familial adenomatous polyposis\tCancer\n"
            "Breast Neoplasms\tMESH:D001943\t\t\t\t\t\tBreast Cancer|Mammary Cancer\tCancer\n")
    p = tmp_path / "CTD_diseases.tsv.gz"
    with gzip.open(p, "wt", encoding="utf-8") as f:
        f.write(rows)
    lk = DictionaryLinker.from_ctd(p, labels=["Disease"])
    assert lk.size == 7 and lk.lookup("familial adenomatous polyposis") == ((("MESH", "MESH:D011125"),), "normalised")
    assert lk.lookup("mammary cancers")[0] == (("MESH", "MESH:D001943"),)
    bad = tmp_path / "bad.tsv"
    bad.write_text("Only a name\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        DictionaryLinker.from_ctd(bad)
    assert e.value.code == "E280" and e.value.line == 1


def test_a_ctd_vocabulary_under_any_name_is_read_as_ctd_never_as_id_name_rows(tmp_path):
    """`--link Disease=ctd_diseases.tsv` (lower case, as the README wrote it) went to the id<TAB>names reader:
    every disease got its own name as its id, and tree numbers and slim mappings became synonyms."""
    from biobert.cli.app import load_linkers

    rows = ("# Fields:\n# DiseaseName\tDiseaseID\tAltDiseaseIDs\tDefinition\tParentIDs\tTreeNumbers\tParentTreeNumbers\tSynonyms\tSlimMappings\n"
            "Breast Neoplasms\tMESH:D001943\t\tTumors\tMESH:D001941\tC04.588.180\tC04.588\tBreast Cancer|Breast Tumors\tCancer\n")
    for name in ("ctd_diseases.tsv", "diseases.tsv"):  # a lower-case CTD_ name, and a name that says nothing
        p = tmp_path / name
        p.write_text(rows, encoding="utf-8")
        lk, = load_linkers([f"Disease={p}"])
        assert lk.lookup("breast cancer")[0] == (("MESH", "MESH:D001943"),)
        assert lk.lookup("Cancer") == ((), None) and lk.lookup("C04.588") == ((), None)
        with pytest.raises(DataFormatError) as e:
            DictionaryLinker.from_tsv(p)
        assert e.value.code == "E281" and "from_ctd" in str(e.value)
    plain = tmp_path / "kb.tsv"
    plain.write_text("# my dictionary\nMESH:D001943\tbreast cancer\n", encoding="utf-8")
    assert DictionaryLinker.from_file(plain).lookup("breast cancer")[0] == (("MESH", "MESH:D001943"),)


def test_fuzzy_level_is_opt_in_and_thresholded():
    names = {"hepatotoxicity": [("MESH", "D056486")], "breast cancer": [("MESH", "D001943")]}
    assert DictionaryLinker(names).lookup("hepatotoxic") == ((), None)
    lk = DictionaryLinker(names, fuzzy=0.8)
    assert lk.lookup("hepatotoxic") == ((("MESH", "D056486"),), "fuzzy")  # trigram-set cosine 0.81
    assert lk.lookup("carcinoma of the breast") == ((), None)  # 0.41: below the threshold
    assert DictionaryLinker(names, fuzzy=0.9).lookup("hepatotoxic") == ((), None)
    doc = Document("d", "Drug-induced hepatotoxic injury.").with_spans([Span(13, 24, "Disease")])
    out = lk(doc)
    assert out.spans[0].ids == (("MESH", "D056486"),) and lk.last_stats == {"linked_fuzzy": 1}
    with pytest.raises(ConfigError, match="E487"):
        DictionaryLinker(names, fuzzy=1.5)


def test_overwriting_ids_moves_the_document_level_relations_with_them(kb):
    """A PubTator CID line names concept ids: when --overwrite replaces a span's id, the relation must follow it,
    not keep pointing at an id that no span has any more."""
    from biobert import io

    pt = ("1|t|Breast cancer and cardiomyopathy.\n1|a|\n"
          "1\t0\t13\tBreast cancer\tDisease\tD001943\n1\t18\t32\tcardiomyopathy\tDisease\tD009202\n"
          "1\tCID\tD001943\tD009202\n\n")
    doc = io.reads(pt, "pubtator")[0]
    lk = DictionaryLinker.from_tsv(kb, overwrite=True)
    out = lk(doc)
    assert [s.ids[0][1] for s in out.spans] == ["MESH:D001943", "MESH:D009202"]
    assert out.metadata["relations"] == [["CID", "MESH:D001943", "MESH:D009202"]]
    assert lk.last_stats["document_relation_ids_relinked"] == 2
    assert "1\tCID\tMESH:D001943\tMESH:D009202" in io.writes([out], "pubtator")
    # without overwrite nothing changes
    assert DictionaryLinker.from_tsv(kb)(doc).metadata["relations"] == [["CID", "D001943", "D009202"]]


def test_linked_tagger_keeps_per_document_link_counts_for_a_tagger_without_them():
    """A tagger that keeps no per-document counters (any callable) used to leave LinkedTagger.last_doc_stats empty,
    so the server reported no link_* counts for its requests."""
    from biobert.linking import LinkedTagger

    def tagger(docs):
        return [d.with_spans([Span(0, 5, "Gene")]) for d in docs]

    lt = LinkedTagger(tagger, DictionaryLinker({"BRCA1": [("NCBIGene", "NCBIGene:672")]}))
    lt([Document("a", "BRCA1 x"), Document("b", "TP53 y")])
    assert lt.last_doc_stats == [Counter({"link_linked_exact": 1}), Counter({"link_unlinked": 1})]


def test_bare_ids_get_the_database_every_reader_infers(tmp_path):
    """A bare D003920 was ("ID", "D003920") from a dictionary but ("MESH", "D003920") from PubTator or brat."""
    kb = tmp_path / "kb.tsv"
    kb.write_text("D003920\tdiabetes mellitus\n672\tBRCA1\n", encoding="utf-8")
    text = "diabetes mellitus and BRCA1"
    doc = Document("d", text).with_spans(spans(text, ("diabetes mellitus", "Disease"), ("BRCA1", "Gene")))
    got = {s.text: s.ids for s in DictionaryLinker.from_tsv(kb)(doc).spans}
    assert got == {"diabetes mellitus": (("MESH", "D003920"),), "BRCA1": (("ID", "672"),)}


def test_a_row_whose_id_column_names_no_identifier_is_refused(tmp_path):
    for ident in ("-1", "|"):
        p = tmp_path / "k.tsv"
        p.write_text(f"NCBIGene:672\tBRCA2\n{ident}\tBRCA1\n", encoding="utf-8")
        with pytest.raises(DataFormatError) as e:  # used to link BRCA1 to nothing, silently
            DictionaryLinker.from_tsv(p)
        assert e.value.code == "E280" and e.value.line == 2


def test_a_span_over_the_whole_long_form_decides_for_its_short_form(tmp_path):
    p = tmp_path / "k.tsv"
    p.write_text("MESH:D009369\tcancer\nMESH:D000001\tcancer\n", encoding="utf-8")
    text = "Familial breast cancer (FBC) runs in families; FBC is rare."
    spans = (Span(0, 22, "Disease"), Span(16, 22, "Disease"), Span(24, 27, "Disease"), Span(47, 50, "Disease"))
    lk = DictionaryLinker.from_tsv(p)
    out = lk(Document("d", text, spans=spans))
    st = lk.last_stats
    by = {(s.start, s.end): s.ids for s in out.spans}
    # "cancer" (nested, linked to 2 ids) used to give FBC its ids; the unlinked long form decides: none
    assert by[(16, 22)] and not by[(0, 22)] and not by[(24, 27)] and not by[(47, 50)]
    assert st["ambiguous"] == 1 and st["linked_via_abbreviation"] == 0
    # with no span over the long form, the last linked span inside it still heads it (and is counted ambiguous)
    out = lk(Document("d", text, spans=spans[1:]))
    assert {(s.start, s.end): s.ids for s in out.spans}[(24, 27)] and lk.last_stats["ambiguous"] == 3


def test_plural_forms_link_to_their_singular_names(tmp_path):
    p = tmp_path / "k.tsv"
    p.write_text("MESH:D009202\tcardiomyopathy\nMESH:D001943\tbreast neoplasm\nMESH:D009369\tvirus\n", encoding="utf-8")
    lk = DictionaryLinker.from_tsv(p)
    assert lk.lookup("cardiomyopathies") == ((("MESH", "MESH:D009202"),), "singular")  # -ies -> -y
    assert lk.lookup("breast neoplasms") == ((("MESH", "MESH:D001943"),), "singular")
    assert lk.lookup("virus")[1] == "exact" and lk.lookup("viru")[1] is None


def test_fuzzy_ties_link_to_every_equally_similar_name_sorted_and_count_as_ambiguous():
    """Survivor (fuzzy ties): names equally similar to the mention all give their ids (sorted, deduplicated); a less
    similar name gives none, and the tie is counted as ambiguous."""
    names = {"hepatotoxicity": [("MESH", "D2")], "hepatotoxicism": [("MESH", "D1"), ("MESH", "D2")],
             "hepatitis": [("MESH", "D0")]}
    lk = DictionaryLinker(names, fuzzy=0.8)
    # " hepatotoxic " shares 10 of its 11 trigrams with either 14-trigram name: 10 / sqrt(11 * 14) = 0.806 for both
    assert lk.lookup("hepatotoxic") == ((("MESH", "D1"), ("MESH", "D2")), "fuzzy")
    rev = DictionaryLinker(dict(reversed(list(names.items()))), fuzzy=0.8)  # the dictionary's order decides nothing
    assert rev.lookup("hepatotoxic") == lk.lookup("hepatotoxic")
    doc = Document("d", "Drug-induced hepatotoxic injury.").with_spans([Span(13, 24, "Disease")])
    out = lk(doc)
    assert out.spans[0].ids == (("MESH", "D1"), ("MESH", "D2"))
    assert lk.last_stats == {"linked_fuzzy": 1, "ambiguous": 1}


def test_names_are_compared_after_nfkc_compatibility_normalisation():
    """Survivor (NFKC): compatibility forms (full-width letters, ligatures, Roman-numeral signs, superscripts) and
    decomposed accents compare equal to their plain, composed forms; accented letters stay letters."""
    assert normalise_name("ＢＲＣＡ１") == "brca1"
    assert normalise_name("\ufb01brosis") == "fibrosis"  # the "fi" ligature
    assert normalise_name("Type \u2161 diabetes") == "type ii diabetes"
    assert normalise_name("m\u00b2") == "m2"
    assert normalise_name("Sjo\u0308gren's syndrome") == normalise_name("Sj\u00f6gren's syndrome") == "sj\u00f6gren s syndrome"
    lk = DictionaryLinker({"BRCA1": [("NCBIGene", "672")], "Sj\u00f6gren syndrome": [("MESH", "D012859")],
                           "type II diabetes": [("MESH", "D003924")]})
    assert lk.lookup("ＢＲＣＡ１") == ((("NCBIGene", "672"),), "normalised")
    assert lk.lookup("Sjo\u0308gren syndrome") == ((("MESH", "D012859"),), "normalised")
    assert lk.lookup("type \u2161 diabetes") == ((("MESH", "D003924"),), "normalised")


def test_words_ending_in_us_is_ss_or_too_short_are_not_singularised():
    """Survivor (plural guard): "virus" is not the plural of "viru", nor "corpus" of "corpu", "stress" of "stres",
    "analysis" of "analysi" or "ads" of "ad"; real plurals ("viruses", "stresses") still find their singular."""
    ids = lambda x: [("MESH", x)]  # noqa: E731
    trap = DictionaryLinker({"viru": ids("1"), "corpu": ids("2"), "stres": ids("3"), "analysi": ids("4"), "ad": ids("5")})
    for mention in ("virus", "Herpes simplex virus", "corpus", "stress", "analysis", "ads"):
        assert trap.lookup(mention) == ((), None), mention
    real = DictionaryLinker({"virus": ids("6"), "stress": ids("7"), "herpes simplex virus": ids("8")})
    assert real.lookup("viruses") == ((("MESH", "6"),), "singular")
    assert real.lookup("stresses") == ((("MESH", "7"),), "singular")
    assert real.lookup("Herpes simplex viruses") == ((("MESH", "8"),), "singular")


# -- mutation-testing gaps (round 3) ---------------------------------------------------------------------


def _spans_of(text, *mentions):
    out = []
    for m, label, nth in mentions:
        i = -1
        for _ in range(nth + 1):
            i = text.index(m, i + 1)
        out.append(Span(i, i + len(m), label))
    return tuple(out)


def test_abbreviation_linking_head_first_definition_label_and_counts(tmp_path):
    p = tmp_path / "k.tsv"
    p.write_text("MESH:D001943\tbreast cancer\nMESH:D003424\tcrohn disease\nMESH:D002446\tceliac disease\n", encoding="utf-8")
    lk = DictionaryLinker.from_tsv(p)
    # an unlinked span inside the long form does not head it: the last *linked* one does
    text = "breast cancer susceptibility (BCS) is common; BCS here."
    out = lk(Document("d", text, spans=_spans_of(text, ("breast cancer", "Disease", 0), ("susceptibility", "Disease", 0),
                                                    ("BCS", "Disease", 1))))
    by = {s.text: s.ids for s in out.spans}
    assert by["BCS"] == by["breast cancer"] != ()
    assert lk.last_stats["linked_via_abbreviation"] == 1 and lk.last_stats["unlinked"] == 1  # "susceptibility" only
    # the first definition of a short form decides, and only for spans of its type
    text = "Crohn disease (CD) and celiac disease (CD) differ; CD here, CD there."
    out = lk(Document("d", text, spans=_spans_of(text, ("Crohn disease", "Disease", 0), ("celiac disease", "Disease", 0),
                                                    ("CD", "Disease", 2), ("CD", "Gene", 3))))
    ids = {(s.start, s.label): s.ids for s in out.spans}
    crohn = ids[(0, "Disease")]
    assert ids[(text.index("CD here"), "Disease")] == crohn
    assert ids[(text.index("CD there"), "Gene")] == ()
    assert lk.last_stats["linked_via_abbreviation"] == 1 and lk.last_stats["unlinked"] == 1
