"""LASER: layer-selective rank reduction of weight matrices, with ablation controls.

    criteria.py   what the best config can be chosen on (``--select-by``)
    suffix.py     cached residual + forward of only the blocks an edit can change
    sweep.py      evaluating configs (prompt metrics, LM cost) from cached residuals,
                  selection / held-out split, best config
    parts.py      each evaluated config as a part of the run folder, so a killed sweep resumes
    run.py        ``interp laser-sweep``: the run folder (config, results, summary, figures, best.json)
    plots.py      heatmaps and before/after figures
    cli.py        the command and its options

Edits themselves (what an edit is, applying and restoring it, the grid of a sweep
(:mod:`interp.edits.grid`), the ``mean`` edits' reference vectors) live in :mod:`interp.edits`;
the language-modelling loss on a reference text in :mod:`interp.scoring.lm_loss`.
The package import is light (no torch); import the modules you need.
"""
