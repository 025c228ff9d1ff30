"""Scoring prompt sets: the evaluation pipeline from a loaded model and a task to a table.

    forward.py   batched forward passes that unembed only the positions the metrics read
    metrics.py   per-prompt metrics from logits
    evaluate.py  a prompt set evaluated on a model: one row per prompt
    edited.py    the same with edits applied, plus their language-modelling cost
    lm_loss.py   the reference text, its contexts and batches, and the mean next-token loss on it
    options.py   the reference-text defaults (``--lm-tokens``), light for the CLI
    summary.py   the one summary of a per-prompt table (means, ``delta_*`` changes)
    run.py       ``interp eval``: the run folder (config, results, summary, figure)
    predict.py   the top next tokens after one prompt
    plots.py     P(" the") vs P(answer) scatter
    cli.py       ``interp eval`` and ``interp predict``
"""
