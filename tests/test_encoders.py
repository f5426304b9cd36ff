"""Encoder loading beyond BERT: a byte-level BPE (RoBERTa-style) encoder gets a prefix space for word-by-word
input, fine-tunes, and tags with exact offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory) -> Path:
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    out = tmp_path_factory.mktemp("tiny_roberta")
    bpe = ByteLevelBPETokenizer()
    bpe.train([str(FIXTURES / "abstracts.txt")], vocab_size=500, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(out))
    # transformers 5 reads the files as `vocab=` / `merges=` (`vocab_file=` is ignored silently)
    tok = RobertaTokenizerFast(vocab=str(out / "vocab.json"), merges=str(out / "merges.txt"))
    assert len(tok) > 300
    tok.save_pretrained(out)
    torch.manual_seed(0)
    cfg = RobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=130, pad_token_id=tok.pad_token_id)
    RobertaModel(cfg).save_pretrained(out)
    return out


def test_byte_level_bpe_words_are_spelled_as_in_running_text(tiny_roberta):
    from biobert.encoders import load_tokenizer
    from biobert.tasks.ner import SubwordEncoder

    tok = load_tokenizer(str(tiny_roberta))
    assert tok.add_prefix_space is True
    words = ["patients", "with", "cisplatin", "nephrotoxicity"]
    (ids, starts), = SubwordEncoder(tok).encode([words])
    running = tok(" " + " ".join(words), add_special_tokens=False)["input_ids"]
    assert ids == running  # each word as it appears after a space, not as a text-initial word
    assert starts[0] == 0 and len(starts) == 4


def test_roberta_fine_tunes_and_tags_with_exact_offsets(tiny_roberta, tmp_path):
    from biobert import Tagger
    from biobert.config import load_config
    from biobert.recipes.ner import NERConfig, finetune_ner
    from tests.nerdata import gold_docs
    from tests.recipes.test_ner_recipe import write_conll

    docs = gold_docs()
    write_conll(docs[:12], tmp_path / "train.tsv")
    write_conll(docs[12:], tmp_path / "dev.tsv")
    cfg = load_config(NERConfig, None, [f"encoder={tiny_roberta}", f"out={tmp_path / 'model'}", "train.epochs=2",
                                        "train.batch_size=8", "train.lr=3e-3", "max_length=32", "stride=8"],
                      base={"corpora": [{"name": "A", "train": str(tmp_path / "train.tsv"), "dev": str(tmp_path / "dev.tsv")}]})
    report = finetune_ner(cfg, progress=False)
    assert report["data_changes"].get("words_without_subwords", 0) == 0
    tagger = Tagger.load(str(tmp_path / "model"))
    assert tagger.tokenizer.add_prefix_space is True  # saved with the model directory
    text = "BRCA1 mutations cause breast cancer; TNF-\u03b1 at 5\u00b10.2\u00a0ng/ml \x96 cisplatin. " * 12
    doc = tagger(text)
    assert all(doc.text[s.start:s.end] == s.text for s in doc.spans)
    assert tagger.last_stats["sentences"] == 12


def test_half_precision_checkpoints_load_in_fp32_for_training(tiny_bert, tmp_path):
    # transformers 5 loads a checkpoint in the dtype it was saved in; an fp16 checkpoint (our bundled tagger, many
    # hub models) then trained half-precision weights, and bf16 autocast on the CPU failed in LayerNorm
    import shutil

    import torch
    from transformers import BertModel

    from biobert.device import autocast
    from biobert.encoders import load_token_classifier
    from biobert.pretrain.models import build_models

    half = tmp_path / "half"
    shutil.copytree(tiny_bert, half)
    BertModel.from_pretrained(str(tiny_bert)).half().save_pretrained(half)
    assert BertModel.from_pretrained(str(half)).dtype == torch.float16  # the premise: saved and reloaded as fp16

    model = load_token_classifier(str(half), ["O", "B-X", "I-X"])
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    ids = torch.tensor([[2, 10, 11, 3]])
    with autocast(torch.device("cpu"), "bf16"):
        model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.float().sum().backward()

    from biobert.encoders import load_tokenizer

    bundle = build_models("mlm", load_tokenizer(str(half)), init=str(half))
    assert {p.dtype for p in bundle.model.parameters()} == {torch.float32}


def test_fp32_keyword_follows_the_transformers_version(monkeypatch):
    # transformers < 4.56 calls it torch_dtype; an unknown `dtype` would land in the config and break saving it
    import torch
    import transformers

    from biobert.encoders import fp32_kwargs

    monkeypatch.setattr(transformers, "__version__", "4.44.2")
    assert fp32_kwargs() == {"torch_dtype": torch.float32}
    monkeypatch.setattr(transformers, "__version__", "5.17.0.dev0")
    assert fp32_kwargs() == {"dtype": torch.float32}


def test_generic_byte_level_tokenizer_gets_the_prefix_space_too(tiny_modernbert, tmp_path):
    # ModernBERT ships its byte-level BPE as the generic PreTrainedTokenizerFast: the add_prefix_space keyword only
    # set an attribute, and every word was still spelled as if it began the text ("m ut ations")
    from biobert.encoders import load_tokenizer
    from biobert.tasks.ner import SubwordEncoder

    tok = load_tokenizer(str(tiny_modernbert))
    words = ["patients", "with", "cisplatin", "nephrotoxicity"]
    (ids, starts), = SubwordEncoder(tok).encode([words])
    assert ids == tok(" " + " ".join(words), add_special_tokens=False)["input_ids"]
    assert len(starts) == 4
    tok.save_pretrained(tmp_path)  # a fine-tuned model directory keeps the spelling it was trained with
    (again, _), = SubwordEncoder(load_tokenizer(str(tmp_path))).encode([words])
    assert again == ids


def test_token_type_ids_only_for_encoders_with_segment_embeddings():
    # the QA layout asks the tokenizer, which may declare token_type_ids for a model without them (klue/roberta-base:
    # RoBERTa with a BERT tokenizer; DistilBERT checkpoints saved with BertTokenizer)
    import transformers as T

    from biobert.encoders import takes_token_type_ids

    size = dict(vocab_size=64, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                max_position_embeddings=64)
    models = {
        "bert": T.BertModel(T.BertConfig(**size)),
        "electra": T.ElectraModel(T.ElectraConfig(embedding_size=32, **size)),
        "albert": T.AlbertModel(T.AlbertConfig(embedding_size=16, **size)),
        "xlm-roberta": T.XLMRobertaModel(T.XLMRobertaConfig(type_vocab_size=1, **size)),
        "deberta-v3": T.DebertaV2Model(T.DebertaV2Config(type_vocab_size=0, **size)),
        "distilbert": T.DistilBertModel(T.DistilBertConfig(vocab_size=64, dim=32, n_layers=1, n_heads=2, hidden_dim=64)),
    }
    if hasattr(T, "ModernBertConfig"):
        models["modernbert"] = T.ModernBertModel(T.ModernBertConfig(pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1,
                                                                   sep_token_id=2, **size))
    got = {name: takes_token_type_ids(m) for name, m in models.items()}
    assert {n for n, yes in got.items() if yes} == {"bert", "electra", "albert"}, got


# -- load_checked: no weights made up at random --------------------------------------------------------------
def _renamed_copy(src: Path, dst: Path, prefix: str = "wrapper.") -> Path:
    """``src`` with every parameter saved under another name (as a training wrapper's state dict would be)."""
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst)
    state = load_file(str(dst / "model.safetensors"))
    save_file({prefix + k: v for k, v in state.items()}, str(dst / "model.safetensors"), metadata={"format": "pt"})
    return dst


def test_a_new_head_is_created_and_reported_but_the_encoder_is_loaded(tiny_bert, caplog):
    import logging

    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForTokenClassification

    from biobert.encoders import load_checked

    with caplog.at_level(logging.INFO, logger="biobert.encoders"):
        model, created = load_checked(AutoModelForTokenClassification, str(tiny_bert), new_head=True, num_labels=3)
    assert created == ["classifier.bias", "classifier.weight"]
    assert "2 weight(s) created (classifier.bias, classifier.weight)" in caplog.text
    saved = load_file(str(tiny_bert / "model.safetensors"))
    key = next(k for k in saved if k.endswith("word_embeddings.weight"))
    assert torch.equal(model.bert.embeddings.word_embeddings.weight, saved[key])  # really loaded, not re-drawn


def test_a_missing_head_is_refused_where_it_must_be_trained(tiny_bert):
    from transformers import AutoModelForTokenClassification

    from biobert.encoders import load_checked, load_token_classifier
    from biobert.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match=r"E317 .*classifier\.bias"):
        load_checked(AutoModelForTokenClassification, str(tiny_bert))
    with pytest.raises(ModelLoadError, match="E317"):  # an encoder is not a tagger
        load_token_classifier(str(tiny_bert))


def test_a_checkpoint_under_other_parameter_names_is_refused_not_randomised(tiny_bert, tmp_path):
    """transformers would print a load report and go on with every encoder weight random."""
    from transformers import AutoModel, AutoModelForTokenClassification

    from biobert.encoders import load_checked, load_token_classifier
    from biobert.errors import ModelLoadError

    bad = _renamed_copy(tiny_bert, tmp_path / "renamed")
    with pytest.raises(ModelLoadError, match=r"E316 .*encoder parameters of BertModel"):
        load_checked(AutoModel, str(bad))
    with pytest.raises(ModelLoadError, match="E316"):  # not even when the task head is new
        load_checked(AutoModelForTokenClassification, str(bad), new_head=True, num_labels=3)
    with pytest.raises(ModelLoadError, match="E316"):  # the fine-tuning entry point
        load_token_classifier(str(bad), ["O", "B-X", "I-X"])


def test_the_pooler_may_be_missing_only_where_it_is_unused(tiny_bert, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file
    from transformers import AutoModel

    from biobert.encoders import load_checked
    from biobert.errors import ModelLoadError

    d = tmp_path / "no_pooler"
    shutil.copytree(tiny_bert, d)
    state = load_file(str(d / "model.safetensors"))
    assert any("pooler" in k for k in state)
    save_file({k: v for k, v in state.items() if "pooler" not in k}, str(d / "model.safetensors"), metadata={"format": "pt"})
    _, created = load_checked(AutoModel, str(d))  # mean / token pooling: the pooler is not used
    assert created == ["pooler.dense.bias", "pooler.dense.weight"]
    with pytest.raises(ModelLoadError, match=r"E316 .*pooler\.dense"):  # [CLS] pooling goes through it
        load_checked(AutoModel, str(d), pooler_optional=False)


def test_a_tagger_and_an_embedder_refuse_a_renamed_checkpoint(tagger_dir, tmp_path):
    from biobert import Tagger
    from biobert.embed import Embedder
    from biobert.errors import ModelLoadError

    bad = _renamed_copy(tagger_dir, tmp_path / "renamed_tagger")
    with pytest.raises(ModelLoadError, match="E316"):
        Tagger.load(bad)
    with pytest.raises(ModelLoadError, match="E316"):
        Embedder.load(bad)
