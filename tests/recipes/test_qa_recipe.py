"""End to end QA: SQuAD-format factoid (with a SQuAD-style first stage) -> Reader; PubMedQA yes/no/maybe CV via the CLI."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from biobert.cli import app

runner = CliRunner()

PASSAGES = [
    ("Mutations in the CFTR gene are the cause of cystic fibrosis.", "CFTR"),
    ("Huntington disease is caused by an expanded CAG repeat in the HTT gene.", "HTT"),
    ("The APOE allele increases the risk of Alzheimer disease.", "APOE"),
    ("BRCA1 mutations cause hereditary breast cancer.", "BRCA1"),
]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def ok(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, (r.stdout, r.stderr, r.exception)
    return r


def _json(r):
    return json.loads(r.stdout[r.stdout.index("{"):])


def squad_file(path: Path, n_questions: int = 4) -> Path:
    data = []
    for qi in range(n_questions):
        qid = f"{qi:024x}"
        paras = []
        for k, (ctx, ans) in enumerate(PASSAGES[qi % 4 :] + PASSAGES[: qi % 4][:1]):
            if k > 1:
                break
            _, a0 = PASSAGES[qi % 4]
            if a0 not in ctx:
                ctx = ctx + f" Also {a0} matters."
            paras.append({"context": ctx, "qas": [{"id": f"{qid}_{k + 1:03d}", "question": "Which gene is involved?",
                                                     "answers": [{"text": a0, "answer_start": ctx.index(a0)}]}]})
        data.append({"paragraphs": paras})
    path.write_text(json.dumps({"version": "test", "data": data}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def factoid(tiny_bert, tmp_path_factory):
    from biobert.config import load_config
    from biobert.config import from_dict
    from biobert.recipes.qa import QAConfig, finetune_qa

    root = tmp_path_factory.mktemp("qa")
    f = squad_file(root / "bioasq.json")
    squad = squad_file(root / "squad.json", 2)
    cfg = load_config(QAConfig, None, [f"encoder={tiny_bert}", f"out={root / 'model'}", "max_length=48", "stride=8", "max_query_length=8",
                                       "train.epochs=1", "train.batch_size=4", "train.lr=1e-3", "train.log_every=1000"],
                      base={"data": {"format": "squad", "train": str(f), "dev": str(f), "test": str(f)},
                            "pre_stage": {"format": "squad", "train": str(squad), "epochs": 1, "batch_size": 4}})
    return root, finetune_qa(cfg, progress=False)


def test_factoid_run_report_and_directory(factoid):
    root, rep = factoid
    out = root / "model"
    for f in ("model.safetensors", "config.json", "tokenizer.json", "biobert.json", "report.json", "README.md", "test_answers.json"):
        assert (out / f).exists(), f
    assert rep["pre_stage"]["steps"] == 1 and (out / "stage-pre" / "checkpoints").exists()
    assert rep["questions"] == {"train": 4, "dev": 4, "test": 4} and rep["passages"]["train"] == 8
    assert {"strict_accuracy", "lenient_accuracy", "mrr"} <= set(rep["test"]) and rep["test"]["n_questions"] == 4
    assert rep["select_metric"] == "mrr" and "mrr" in rep["train"]["history"][0]
    meta = json.loads((out / "biobert.json").read_text())
    assert meta["task"] == "qa" and meta["qa_task"] == "factoid" and meta["span"] and meta["class_labels"] == []
    answers = json.loads((out / "test_answers.json").read_text())
    assert len(answers) == 4 and all(len(a["answers"]) <= 5 for a in answers.values())


def test_reader_answers_with_offsets_into_passages(factoid):
    from biobert import Reader

    root, _ = factoid
    reader = Reader.load(root / "model")
    passages = [p for p, _ in PASSAGES]
    res = reader("Which gene is involved?", passages)
    assert res["type"] == "factoid" and 0 < len(res["answers"]) <= 5
    for a in res["answers"]:
        assert passages[a["passage"]][a["start"] : a["end"]] == a["text"]
        assert 0 < len(a["text"]) <= 100
    scores = [a["score"] for a in res["answers"]]
    assert scores == sorted(scores, reverse=True)
    # an empty question is refused (it was answered, confidently); empty passages are skipped and counted, and
    # answers still index the passages as given
    from biobert.errors import ConfigError

    with pytest.raises(ConfigError, match="E336"):
        reader("  ", passages)
    gapped = reader("Which gene is involved?", ["", passages[0], " "])
    assert reader.last_stats["empty_passages_skipped"] == 2
    assert gapped["answers"] and all(a["passage"] == 1 for a in gapped["answers"])
    assert all(passages[0][a["start"]:a["end"]] == a["text"] for a in gapped["answers"])
    lst = reader("Which genes are involved?", passages, qtype="list")
    assert lst["type"] == "list" and len(lst["answers"]) <= reader.spec.list_top_k
    # the same answers over HTTP
    import asyncio

    httpx = pytest.importorskip("httpx")
    pytest.importorskip("fastapi")
    from biobert.serve import create_app

    app = create_app(lambda docs: docs, reader=reader)

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            r = await c.post("/answer", json={"question": "Which gene is involved?", "passages": passages})
            assert r.status_code == 200, r.text
            assert r.json()["answers"] == res["answers"]

    asyncio.run(go())
    # the span head loads without biobert too
    from transformers import AutoModelForQuestionAnswering

    assert AutoModelForQuestionAnswering.from_pretrained(root / "model").config.num_hidden_layers == 2


def test_evaluate_qa_cli(factoid, tmp_path):
    root, _ = factoid
    res = _json(ok("evaluate", "qa", "--model", root / "model", "--data", root / "bioasq.json", "--format", "squad",
                   "--answers", tmp_path / "a.json"))
    assert res["n_questions"] == 4 and 0 <= res["mrr"] <= 1 and json.loads((tmp_path / "a.json").read_text())


def test_answer_cli_submission_and_scoring_it(factoid, tmp_path):
    root, _ = factoid
    # one question from the command line: answers index their passage exactly
    one = _json(ok("answer", "Which gene is mutated?", "--model", root / "model",
                   "--passage", PASSAGES[0][0], "--passage", PASSAGES[1][0]))
    ps = [PASSAGES[0][0], PASSAGES[1][0]]
    assert one["type"] == "factoid" and 1 <= len(one["answers"]) <= 5
    assert all(ps[a["passage"]][a["start"]:a["end"]] == a["text"] for a in one["answers"])
    # a file of questions -> a BioASQ submission, which evaluate scores exactly as it scores the model
    sub = tmp_path / "sub.json"
    ok("answer", "--model", root / "model", "--input", root / "bioasq.json", "--format", "squad",
       "--output", sub, "--output-format", "bioasq")
    questions = json.loads(sub.read_text())["questions"]
    assert len(questions) == 4 and all(len(q["id"]) == 24 and q["type"] == "factoid" for q in questions)
    assert all(isinstance(e, list) and len(e) == 1 for q in questions for e in q["exact_answer"])
    # a BioASQ file with a yes/no and a summary question: this span model answers the factoid one, counts the rest
    bioasq = tmp_path / "b.json"
    bioasq.write_text(json.dumps({"questions": [
        {"id": "f" * 24, "type": "factoid", "body": "Which gene?", "snippets": [{"text": PASSAGES[0][0]}]},
        {"id": "y" * 24, "type": "yesno", "body": "Is it?", "snippets": [{"text": PASSAGES[1][0]}]},
        {"id": "s" * 24, "type": "summary", "body": "Describe.", "snippets": [{"text": PASSAGES[2][0]}]}]}))
    r = ok("answer", "--model", root / "model", "--input", bioasq, "--format", "bioasq")
    assert list(_json(r)) == ["f" * 24]
    assert '"passages_skipped_type=yesno": 1' in r.stderr and '"passages_skipped_type=summary": 1' in r.stderr
    by_model = _json(ok("evaluate", "qa", "--model", root / "model", "--data", root / "bioasq.json", "--format", "squad"))
    by_file = _json(ok("evaluate", "qa", "--predictions", sub, "--data", root / "bioasq.json", "--format", "squad"))
    for k in ("strict_accuracy", "lenient_accuracy", "mrr"):
        assert by_file[k] == pytest.approx(by_model[k])
    # several test batches: each scored, then their mean
    two = _json(ok("evaluate", "qa", "--predictions", sub, "--predictions", sub, "--data", root / "bioasq.json",
                   "--data", root / "bioasq.json", "--format", "squad"))
    assert len(two["batches"]) == 2 and two["mean_over_batches"]["mrr"] == pytest.approx(by_model["mrr"])
    # neither or both of --model / --predictions is a typed error
    r = runner.invoke(app, ["evaluate", "qa", "--data", str(root / "bioasq.json"), "--format", "squad"])
    assert r.exit_code == 2 and "E488" in r.stderr


def test_pubmedqa_cv_by_question_via_cli(tiny_bert, tmp_path):
    import yaml

    labels = ["yes", "no", "maybe", "yes", "no", "yes"]
    obj = {str(100 + i): {"QUESTION": f"Does treatment {i} help?", "CONTEXTS": ["Patients were treated.", "Outcomes improved."],
                          "final_decision": l} for i, l in enumerate(labels)}
    (tmp_path / "pq.json").write_text(json.dumps(obj), encoding="utf-8")
    cfg = {"encoder": str(tiny_bert), "out": str(tmp_path / "m"), "task": "yesno", "max_length": 32, "max_query_length": 8, "stride": 8,
           "data": {"format": "pubmedqa", "train": str(tmp_path / "pq.json"), "test": str(tmp_path / "pq.json"), "cv_folds": 2},
           "train": {"epochs": 1, "batch_size": 4, "lr": 1e-3}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    out = _json(ok("finetune", "qa", "--config", tmp_path / "c.yaml"))
    assert out["not_read_in_cv"] == {"data.test": str(tmp_path / "pq.json")}  # it was ignored without a word
    assert out["folds"] == 2 and out["mean"]["accuracy"]["n"] == 2 and "macro_f1" in out["mean"]
    assert sum(v["n_test_questions"] for v in out["per_fold"].values()) == 6
    assert "folds_missing" not in out and "folds_from_earlier_runs" not in out
    # one fold again: the report keeps the other fold (it was overwritten by a one-fold report, mean over n=1)
    again = _json(ok("finetune", "qa", "--config", tmp_path / "c.yaml", "--folds", "1"))
    assert again["folds_from_earlier_runs"] == [0] and again["per_fold"]["0"]["from_earlier_run"] is True and again["mean"]["accuracy"] == out["mean"]["accuracy"]
    rep = json.loads((tmp_path / "m" / "cv_report.json").read_text())
    assert rep["folds_from_earlier_runs"] == [0] and rep["folds_missing"] == []
    # labels fixed in the data file (same question ids): the earlier fold's score is stale, so missing, not merged
    for e in obj.values():
        e["final_decision"] = {"yes": "no", "no": "yes", "maybe": "maybe"}[e["final_decision"]]
    (tmp_path / "pq.json").write_text(json.dumps(obj), encoding="utf-8")
    changed = _json(ok("finetune", "qa", "--config", tmp_path / "c.yaml", "--folds", "1", "--no-resume"))
    assert changed["folds_missing"] == [0] and "0" not in changed["per_fold"]
    for bad, msg in (("2", r"fold\(s\) \[2\] do not exist"), ("a", "fold numbers separated by commas"),
                     ("", "fold numbers separated by commas")):
        r = run("finetune", "qa", "--config", tmp_path / "c.yaml", "--folds", bad)
        assert r.exit_code == 2 and "E482" in r.stderr and re.search(msg, r.stderr), r.stderr
    meta = json.loads((tmp_path / "m" / "fold-0" / "biobert.json").read_text())
    assert meta["class_labels"] == ["yes", "no", "maybe"] and not meta["span"]
    from biobert import Reader

    res = Reader.load(tmp_path / "m" / "fold-0")("Does it help?", "Patients were treated.")
    assert res["type"] == "yesno" and res["answer"] in ("yes", "no", "maybe") and abs(sum(res["probs"].values()) - 1) < 1e-5


def test_yaml_boolean_class_labels_are_rejected(tmp_path):
    from biobert.config import load_config
    from biobert.errors import ConfigError
    from biobert.config import from_dict
    from biobert.recipes.qa import QAConfig, finetune_qa

    obj = {"1": {"QUESTION": "Q?", "CONTEXTS": ["C."], "final_decision": "yes"}, "2": {"QUESTION": "R?", "CONTEXTS": ["D."], "final_decision": "no"}}
    (tmp_path / "pq.json").write_text(json.dumps(obj), encoding="utf-8")
    (tmp_path / "c.yaml").write_text(f"task: yesno\nclass_labels: [yes, no]\ndata: {{format: pubmedqa, train: '{tmp_path / 'pq.json'}'}}\n", encoding="utf-8")
    # bare yes/no are YAML booleans: refused when the config is read, with a hint to quote them
    with pytest.raises(ConfigError, match=r"E402 class_labels\[0\].*quote"):
        finetune_qa(load_config(QAConfig, tmp_path / "c.yaml"), progress=False)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_yesno_head_learns_a_learnable_signal(tiny_bert, tmp_path, pooling):
    """The yes/no head must leave the class prior when the answer is in the text: a pipeline that
    mixes up labels or feeds the head the wrong position stays at the majority class (58 % here).
    The pooling is saved with the model and ``Reader.load`` rebuilds the same head."""
    from biobert.config import from_dict
    from biobert.recipes.qa import QAConfig, finetune_qa

    items = {}
    for i in range(24):
        yes = i % 12 < 7  # 14 yes, 10 no
        word = "improved" if yes else "worsened"
        items[str(200 + i)] = {"QUESTION": f"Does treatment {i} help patients?",
                               "CONTEXTS": [f"Patients were treated. Outcomes {word} {word} {word}."],
                               "final_decision": "yes" if yes else "no"}
    (tmp_path / "pq.json").write_text(json.dumps(items), encoding="utf-8")
    cfg = from_dict(QAConfig, {
        "encoder": str(tiny_bert), "out": str(tmp_path / "m"), "task": "yesno", "class_labels": ["yes", "no"],
        "max_length": 48, "max_query_length": 16, "stride": 16, "cls_pooling": pooling,
        "data": {"format": "pubmedqa", "train": str(tmp_path / "pq.json"), "test": str(tmp_path / "pq.json")},
        "train": {"epochs": 16, "batch_size": 8, "lr": 5e-3, "seed": 0}})
    report = finetune_qa(cfg, resume=False, progress=False)
    assert report["test"]["accuracy"] >= 0.9, report["test"]
    from biobert import Reader

    reader = Reader.load(tmp_path / "m")
    assert reader.spec.cls_pooling == pooling and reader.predictor.model.pooling == pooling
    assert reader("Does treatment 3 help patients?", "Patients were treated. Outcomes improved improved improved.")["answer"] == "yes"


def test_list_task_selects_on_its_f1_by_default(tiny_bert, tmp_path):
    """select_metric 'auto' stayed 'auto' for list questions and failed with a KeyError at the first dev evaluation."""
    from biobert.config import load_config
    from biobert.recipes.qa import QAConfig, finetune_qa

    f = squad_file(tmp_path / "q.json")
    cfg = load_config(QAConfig, None, [f"encoder={tiny_bert}", f"out={tmp_path / 'm'}", "task=list", "max_length=48", "stride=8",
                                       "max_query_length=8", "train.epochs=1", "train.batch_size=4", "train.log_every=1000"],
                      base={"data": {"format": "squad", "train": str(f), "dev": str(f)}})
    report = finetune_qa(cfg, progress=False)
    assert report["select_metric"] == "f1"


def _answerless_batch(path: Path, golden: Path, items: list[tuple[str, str]]) -> None:
    """A BioBERT-style BioASQ test batch (SQuAD layout, no answers) and its official golden file."""
    data, questions = [], []
    for qi, (ctx, ans) in enumerate(items):
        qid = f"{path.stem[-1]}{qi:023x}"
        data.append({"paragraphs": [{"context": ctx, "qas": [{"id": f"{qid}_001", "question": "Which gene is involved?"}]}]})
        questions.append({"id": qid, "type": "factoid", "body": "Which gene is involved?", "exact_answer": [[ans]], "snippets": []})
    path.write_text(json.dumps({"version": "test", "data": data}), encoding="utf-8")
    golden.write_text(json.dumps({"questions": questions}), encoding="utf-8")


def test_test_batches_with_golden_files_are_scored_per_batch_and_averaged(tiny_bert, tmp_path):
    """The paper's BioASQ protocol: answer-less test batches, each scored against its golden file, then the mean
    over batches (each batch weighs the same, whatever its size)."""
    from biobert.config import load_config
    from biobert.recipes.qa import QAConfig, finetune_qa

    train = squad_file(tmp_path / "train.json")
    t1, g1, t2, g2 = (tmp_path / n for n in ("BioASQ-test-factoid-7b-1.json", "7B1_golden.json", "BioASQ-test-factoid-7b-2.json", "7B2_golden.json"))
    _answerless_batch(t1, g1, PASSAGES[:3])
    _answerless_batch(t2, g2, PASSAGES[3:])
    cfg = load_config(QAConfig, None, [f"encoder={tiny_bert}", f"out={tmp_path / 'm'}", "max_length=48", "stride=8", "max_query_length=8",
                                       "train.epochs=1", "train.batch_size=4", "train.lr=1e-3", "train.log_every=1000"],
                      base={"data": {"format": "squad", "train": str(train), "test": [str(t1), str(t2)], "golden": [str(g1), str(g2)]}})
    rep = finetune_qa(cfg, progress=False)
    test = rep["test"]
    assert test["n_batches"] == 2 and test["n_questions"] == 4 and rep["questions"]["test"] == 4
    b1, b2 = test["batches"]
    assert (b1["file"], b1["n_questions"], b2["n_questions"]) == (str(t1), 3, 1)
    assert b1["n_questions_without_gold"] == 0 and b2["n_questions_without_gold"] == 0
    for m in ("strict_accuracy", "lenient_accuracy", "mrr"):
        assert test[m] == pytest.approx((b1[m] + b2[m]) / 2)
    assert rep["counts"]["test"]["questions_not_in_golden"] == 0
    assert {d["path"] for d in rep["data"]} >= {str(t1), str(g1), str(t2), str(g2)}
    card = (tmp_path / "m" / "README.md").read_text()
    assert "BioASQ-test-factoid-7b-1.json" in card and "BioASQ-test-factoid-7b-2.json" in card


def test_pubmedqa_test_half_is_scored_against_its_ground_truth_file(tiny_bert, tmp_path):
    from biobert.config import load_config
    from biobert.recipes.qa import QAConfig, finetune_qa

    labels = ["yes", "no", "maybe", "yes", "no", "yes"]
    train = {str(100 + i): {"QUESTION": f"Does treatment {i} help?", "CONTEXTS": ["Patients were treated."], "final_decision": l}
             for i, l in enumerate(labels)}
    (tmp_path / "train.json").write_text(json.dumps(train), encoding="utf-8")
    # the test half as the official split writes it: entries without labels, the labels in test_ground_truth.json
    (tmp_path / "test_set.json").write_text(json.dumps({p: {"QUESTION": "Does it?", "CONTEXTS": ["Text."]} for p in ("1", "2", "3")}))
    (tmp_path / "test_ground_truth.json").write_text(json.dumps({"1": "yes", "2": "maybe", "3": "no"}))
    cfg = load_config(QAConfig, None, [f"encoder={tiny_bert}", f"out={tmp_path / 'm'}", "task=yesno", "max_length=32", "stride=8",
                                       "max_query_length=8", "train.epochs=1", "train.batch_size=4", "train.lr=1e-3"],
                      base={"data": {"format": "pubmedqa", "train": str(tmp_path / "train.json"),
                                     "test": str(tmp_path / "test_set.json"), "golden": str(tmp_path / "test_ground_truth.json")}})
    rep = finetune_qa(cfg, progress=False)
    assert rep["test"]["n_questions"] == 3 and rep["test"]["n_questions_without_gold"] == 0
    assert 0.0 <= rep["test"]["accuracy"] <= 1.0 and "macro_f1" in rep["test"]
    # `answer --output-format pubmedqa` writes what PubMedQA's evaluation.py reads, and `evaluate qa` scores it
    # as the run did (answer's JSON output was refused as "an ori_pqal.json-style file")
    sub = tmp_path / "pred.json"
    ok("answer", "--model", tmp_path / "m", "--input", tmp_path / "test_set.json", "--format", "pubmedqa",
       "--output-format", "pubmedqa", "--output", sub)
    assert set(json.loads(sub.read_text())) == {"1", "2", "3"}
    res = _json(ok("evaluate", "qa", "--format", "pubmedqa", "--data", tmp_path / "test_set.json",
                   "--golden", tmp_path / "test_ground_truth.json", "--predictions", sub))
    assert res["accuracy"] == pytest.approx(rep["test"]["accuracy"]) and res["macro_f1"] == pytest.approx(rep["test"]["macro_f1"])
    ok("answer", "--model", tmp_path / "m", "--input", tmp_path / "test_set.json", "--format", "pubmedqa", "--output", sub)
    r = run("evaluate", "qa", "--format", "pubmedqa", "--data", tmp_path / "test_set.json", "--predictions", sub,
            "--golden", tmp_path / "test_ground_truth.json")
    assert r.exit_code == 2 and "E273" in r.stderr and "--output-format pubmedqa" in r.stderr


def test_golden_files_must_pair_with_test_files(tmp_path):
    from biobert.config import load_config
    from biobert.errors import ConfigError
    from biobert.recipes.qa import QAConfig

    with pytest.raises(ConfigError, match=r"E479 data.golden: .*2 golden file\(s\) for 1 test file"):
        load_config(QAConfig, None, [], base={"data": {"format": "squad", "train": "t.json", "test": "a.json", "golden": ["g1", "g2"]}})
    with pytest.raises(ConfigError, match="E479"):
        load_config(QAConfig, None, [], base={"data": {"format": "squad", "train": "t.json", "golden": "g.json"}})


def test_no_training_examples_names_the_file(tiny_bert, tmp_path):
    from biobert.config import load_config
    from biobert.errors import TrainingError
    from biobert.recipes.qa import QAConfig, finetune_qa

    empty = tmp_path / "empty.json"
    empty.write_text('{"version": "x", "data": []}', encoding="utf-8")
    cfg = load_config(QAConfig, None, [f"encoder={tiny_bert}", f"out={tmp_path / 'm'}"],
                      base={"data": {"format": "squad", "train": str(empty)}})
    with pytest.raises(TrainingError, match="E534 .*empty.json"):
        finetune_qa(cfg, progress=False)


def test_dev_or_test_without_any_gold_is_refused_before_training(tiny_bert, tmp_path):
    """BioBERT's BioASQ-test-*.json carry no answers: without data.golden every score would be 0 over no question,
    which the report would show as a result (and a dev split like that would select the first epoch)."""
    from biobert.config import load_config
    from biobert.errors import TrainingError
    from biobert.recipes.qa import QAConfig, finetune_qa

    train = squad_file(tmp_path / "train.json")
    t1, g1, t2, g2 = (tmp_path / n for n in ("t1.json", "g1.json", "t2.json", "g2.json"))
    _answerless_batch(t1, g1, PASSAGES[:3])
    _answerless_batch(t2, g2, PASSAGES[3:])
    common = [f"encoder={tiny_bert}", f"out={tmp_path / 'm'}", "max_length=48", "stride=8", "max_query_length=8", "train.epochs=1"]
    for data, where in (({"test": [str(train), str(t2)]}, f"E535 data.test.1 {t2}: none of its 1 factoid"),
                        ({"test": str(t1)}, f"E535 data.test {t1}: none of its 3 factoid .*set data.golden"),
                        ({"dev": str(t1)}, f"E535 data.dev {t1}: none of its 3")):
        cfg = load_config(QAConfig, None, common, base={"data": {"format": "squad", "train": str(train), **data}})
        with pytest.raises(TrainingError, match=where):
            finetune_qa(cfg, progress=False)
        assert not (tmp_path / "m").exists()  # refused before any model loaded or step taken


def test_merge_duplicate_passages_keeps_one_copy_and_every_answer():
    """A (question, passage) row repeated (BioBERT's 7b file repeats a snippet once per answer occurrence) would
    be pooled twice: where it is scored one copy is kept, the others' answers merged into it, all counted."""
    from collections import Counter

    from biobert.io.squad import QAExample
    from biobert.recipes.qa import merge_duplicate_passages
    from biobert.types import Span

    ctx = "CFTR is a gene. Mutations in CFTR cause cystic fibrosis."
    a1, a2 = Span(0, 4, "answer", text="CFTR"), Span(29, 33, "answer", text="CFTR")
    rows = [QAExample("q_001", "Which gene?", ctx, "q", answers=(a1,), gold=(("CFTR",),)),
            QAExample("q_002", "Which gene?", ctx, "q", answers=(a2,), gold=(("CFTR",),)),
            QAExample("q_003", "Which gene?", ctx, "q", answers=(a1,), gold=(("CFTR",),)),
            QAExample("q_004", "Which gene?", "Another passage about CFTR.", "q", answers=(Span(22, 26, "answer", text="CFTR"),)),
            QAExample("p_001", "Which gene?", ctx, "p", answers=(a2,))]  # the same passage for another question: kept
    st = Counter()
    out = merge_duplicate_passages(rows, st)
    assert [e.id for e in out] == ["q_001", "q_004", "p_001"]
    assert out[0].answers == (a1, a2)  # the first row's answer stays first (the training target)
    assert st == Counter(duplicate_passages_dropped=2, duplicate_passage_answers_merged=1)
    # training keeps every row (each teaches another answer position, as in BioBERT's training), counted
    from biobert.recipes.qa import count_duplicate_passages

    st = Counter()
    assert count_duplicate_passages(rows, st) == rows and st == Counter(duplicate_passages_trained=2)


def test_cv_reports_scored_questions_duplicates_and_doc_stride(tiny_bert, tmp_path):
    """Per fold, ``n_test_questions`` is the number of questions scored (a question without gold is left out of
    the scores and counted apart); a repeated (question, passage) row trains and is scored once, both counted; ``doc_stride``
    lands in every fold's biobert.json, so the loaded model windows passages as in training."""
    from biobert import Reader
    from biobert.config import load_config
    from biobert.errors import ConfigError
    from biobert.recipes.qa import QAConfig, cv_qa

    f = squad_file(tmp_path / "q.json", 4)
    obj = json.loads(f.read_text())
    para = obj["data"][0]["paragraphs"][0]
    dup = json.loads(json.dumps(para))
    dup["qas"][0]["id"] = dup["qas"][0]["id"][:-3] + "009"  # the same question and passage, another row id
    obj["data"][0]["paragraphs"].append(dup)
    obj["data"].append({"paragraphs": [{"context": PASSAGES[0][0], "qas": [{"id": f"{99:024x}_001", "question": "Which gene?",
                                                                              "answers": []}]}]})  # no gold: never scored
    f.write_text(json.dumps(obj), encoding="utf-8")
    common = [f"encoder={tiny_bert}", f"out={tmp_path / 'm'}", "max_length=48", "max_query_length=8", "doc_stride=10",
              "max_answer_length=10", "train.epochs=1", "train.batch_size=4", "train.lr=1e-3", "train.log_every=1000"]
    base = {"data": {"format": "squad", "train": str(f), "cv_folds": 2}}
    with pytest.raises(ConfigError, match="E415 doc_stride"):  # windows too far apart for a 10-subword answer
        load_config(QAConfig, None, [*common, "doc_stride=30"], base=base)
    s = cv_qa(load_config(QAConfig, None, common, base=base), progress=False)
    # trained on as BioBERT did (each row another answer position), scored once in its test fold
    assert s["counts"]["duplicate_passages_trained"] == 1 and s["counts"]["duplicate_passages_dropped"] == 1
    folds = s["per_fold"].values()
    assert sum(v["n_test_questions"] for v in folds) == 4 and sum(v["n_questions_without_gold"] for v in folds) == 1
    assert sum(v["n_questions_in_fold"] for v in folds) == 5
    meta = json.loads((tmp_path / "m" / "fold-0" / "biobert.json").read_text())
    assert meta["doc_stride"] == 10
    assert Reader.load(tmp_path / "m" / "fold-0").spec.doc_stride == 10


@pytest.mark.parametrize("name", ["bioasq7b_factoid", "bioasq7b_factoid_cv", "bioasq7b_list", "bioasq7b_yesno", "bioasq_after_squad"])
def test_bioasq_configs_that_follow_biobert_window_as_its_doc_stride(name):
    """BioBERT's run_squad: max_seq_length 384, doc_stride 128 (the step between windows), max_query_length 64."""
    from biobert.config import load_config
    from biobert.recipes.qa import QAConfig

    cfg = load_config(QAConfig, Path(__file__).parents[2] / "configs" / "qa" / f"{name}.yaml")
    assert (cfg.max_length, cfg.doc_stride, cfg.max_query_length) == (384, 128, 64)
