"""``python -m biobert ...`` is the ``biobert`` command; launchers need it as a module, e.g. data-parallel
fine-tuning: ``torchrun --nproc_per_node 4 -m biobert finetune ner --config ...``."""

from biobert.cli import main

main()
