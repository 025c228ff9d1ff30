"""LASER: layer-selective rank reduction of weight matrices, with ablation controls.

    grid.py       the grid of a sweep (layers x matrices x rhos x kinds) and its parsing
    suffix.py     cached residual + forward of only the blocks an edit can change
    lm_cost.py    language-modelling loss on a reference text, mean sublayer outputs
    sweep.py      evaluating configs from cached residuals, selection / held-out split, best config
    parts.py      each evaluated config as a part of the run folder, so a killed sweep resumes
    run.py        ``interp laser-sweep``: the run folder (config, results, summary, figures, best.json)
    plots.py      heatmaps and before/after figures
    cli.py        the command and its options

Edits themselves (what an edit is, applying and restoring it) live in :mod:`interp.edits`.
The package import is light (no torch); import the modules you need.
"""
