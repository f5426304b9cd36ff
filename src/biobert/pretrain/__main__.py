"""``python -m biobert.pretrain [pretrain|vocab|adapt-vocab] ...``: the pre-training commands
without the console script, e.g. for launchers that take a module::

    torchrun --nproc_per_node 2 -m biobert.pretrain --corpus data/*.txt --output runs/pt --cpu
    accelerate launch --multi_gpu --num_processes 2 -m biobert.pretrain --corpus ... --output ... --cpu

With no command name, ``pretrain`` is assumed.
"""

import sys


def main() -> None:
    from biobert.cli.app import app
    import biobert.cli.pretrain  # noqa: F401  (registers the commands)

    if len(sys.argv) < 2 or sys.argv[1] not in ("pretrain", "vocab", "adapt-vocab", "--help"):
        sys.argv.insert(1, "pretrain")
    app(prog_name="python -m biobert.pretrain")


if __name__ == "__main__":
    main()
