"""Fine-tuning speed: biobert's Trainer against a Hugging Face `Trainer` run, same model, data and
hyper-parameters, in the same process; both are then scored on the same dev set.

    python benchmarks/finetune_speed.py [--train {data}/ner/NCBI-disease/biobert/train.tsv] [--epochs 1]

HF side: the standard token-classification recipe (word_ids first-subword labels,
DataCollatorForTokenClassification dynamic padding, truncation at max_length).
biobert side: length-grouped batches with dynamic padding, windows instead of truncation.
Reports wall-clock seconds, real (non-pad) tokens/s, the speed ratio and dev F1 of both.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

import torch

from biobert.encoders import load_token_classifier, load_tokenizer
from biobert.io.conll import read_conll
from biobert.recipes.ner import evaluate_ner
from biobert.settings import expand_path
from biobert.tasks.ner import NERPredictor, SubwordEncoder, build_features, document_sentences, labels_for_types, ner_collate, ner_loss
from biobert.train import TrainConfig, Trainer, set_seed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", default="minilm")
    ap.add_argument("--train", default="{data}/ner/NCBI-disease/biobert/train.tsv")
    ap.add_argument("--dev", default="{data}/ner/NCBI-disease/biobert/devel.tsv")
    ap.add_argument("--epochs", type=float, default=1)
    ap.add_argument("--lr", type=float, default=1.5e-4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training sentences")
    ap.add_argument("--out", default="runs/bench/finetune_speed")
    ap.add_argument("--threads", type=int, default=0, help="torch / onnxruntime threads (0: library default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    train_docs = read_conll(expand_path(args.train), untyped_label="ENTITY")
    if args.limit:
        train_docs = train_docs[: args.limit]
    dev_docs = read_conll(expand_path(args.dev), untyped_label="ENTITY")
    labels = labels_for_types(["ENTITY"])
    label2id = {l: i for i, l in enumerate(labels)}
    tok = load_tokenizer(args.encoder)
    sents = [s for i, d in enumerate(train_docs) for s in document_sentences(d, i, with_gold=True)]
    results = {}

    # ---- Hugging Face Trainer -------------------------------------------------------------
    from transformers import DataCollatorForTokenClassification, Trainer as HFTrainer, TrainingArguments

    def hf_features():
        feats = []
        for s in sents:
            words = [train_docs[s.doc_index].text[a:b] for a, b in s.words]
            enc = tok(words, is_split_into_words=True, truncation=True, max_length=args.max_length)
            prev, labs = None, []
            for wi in enc.word_ids():
                labs.append(-100 if wi is None or wi == prev else label2id[s.tags[wi]])
                prev = wi
            feats.append({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": labs})
        return feats

    set_seed(args.seed)
    hf_model = load_token_classifier(args.encoder, labels)
    feats_hf = hf_features()
    import math

    total_steps = math.ceil(len(feats_hf) / args.batch_size) * args.epochs
    targs = TrainingArguments(
        output_dir=f"{args.out}/hf", per_device_train_batch_size=args.batch_size, num_train_epochs=args.epochs,
        learning_rate=args.lr, warmup_steps=int(0.1 * total_steps), weight_decay=0.01, max_grad_norm=1.0, lr_scheduler_type="linear",
        save_strategy="no", report_to=[], logging_steps=50, seed=args.seed, use_cpu=True, dataloader_num_workers=0,
    )
    hf_tokens = sum(len(f["input_ids"]) for f in feats_hf) * args.epochs
    trainer = HFTrainer(model=hf_model, args=targs, train_dataset=feats_hf, data_collator=DataCollatorForTokenClassification(tok))
    t0 = time.perf_counter()
    trainer.train()
    hf_sec = time.perf_counter() - t0
    hf_model.eval()
    m, _ = evaluate_ner(NERPredictor(hf_model, tok, labels), dev_docs)
    results["hf_trainer"] = {"seconds": round(hf_sec, 1), "tokens_per_second": round(hf_tokens / hf_sec), "dev_f1": round(100 * m["f1"], 2)}
    print(json.dumps(results), flush=True)

    # ---- biobert Trainer --------------------------------------------------------------------
    set_seed(args.seed)
    model = load_token_classifier(args.encoder, labels)
    enc = SubwordEncoder(tok)
    stats: Counter = Counter()
    feats = build_features(sents, [d.text for d in train_docs], enc, label2id, max_length=args.max_length, stride=32, stats=stats)
    epochs = max(1, int(args.epochs))
    cfg = TrainConfig(lr=args.lr, epochs=epochs, batch_size=args.batch_size, seed=args.seed, log_every=50)
    tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), ner_loss, None, f"{args.out}/biobert", cfg)
    t0 = time.perf_counter()
    summary = tr.train(resume=False)
    ours_sec = time.perf_counter() - t0
    model.eval()
    m, _ = evaluate_ner(NERPredictor(model, tok, labels), dev_docs)
    results["biobert_trainer"] = {"seconds": round(ours_sec, 1), "tokens_per_second": round(summary["tokens_seen"] / ours_sec),
                                  "dev_f1": round(100 * m["f1"], 2), "windows": dict(stats)}
    results["speed_ratio"] = round(results["biobert_trainer"]["tokens_per_second"] / results["hf_trainer"]["tokens_per_second"], 2)
    results["threads"] = torch.get_num_threads()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
