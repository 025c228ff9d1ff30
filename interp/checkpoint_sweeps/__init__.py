"""Checkpoint-over-training sweeps: evaluate a task on many training checkpoints of one model.

    steps.py             which steps: ``all``, ``log`` or a list, and the ``I/N`` share of a shard
    sources.py           where checkpoints come from: Pythia hub revisions, a folder of step*/ models, a toy run
    fingerprint.py       a hash of a checkpoint's weights (duplicate checkpoints are warned about)
    prefetch.py          load the next checkpoint in the background while the current one is evaluated
    step_rows.py         one checkpoint, every edit (through interp.edits.apply_edits): the rows, the per-step summary
    store.py             the output folder: sweep.json, one parquet part per step, resume, merge
    executors.py         run the steps here (with prefetch) or on a Ray cluster
    run.py               the SweepConfig of ``interp checkpoint-sweep`` and run_sweep / merge_sweeps
    plots.py             training_dynamics.png and ratio.png
    cli.py               ``register(app)`` adds the ``checkpoint-sweep`` command
"""
