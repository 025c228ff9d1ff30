"""``interp gsm8k``: GSM8K few-shot chain-of-thought accuracy by batched greedy generation.

    run.py      GSM8KRun config, the run (resumable), the run folder
    summary.py  accuracy with its Wilson interval
    plots.py    accuracy_by_edit.png
    harness.py  the same problems through lm-eval's gsm8k_cot (optional extra ``interp[harness]``)
    cli.py      the typer command, ``register(app)``
"""
