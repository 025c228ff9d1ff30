"""LASER: layer-selective rank reduction of weight matrices, with ablation controls.

    edits.py      ``Edit(layer, matrix, kind, rho)`` and its spellings (``28:mlp_in:0.01``)
    grid.py       the grid of a sweep (layers x matrices x rhos x kinds) and its parsing
    weights.py    a live ``(out, in)`` view of a raw weight (Conv1D transpose, fused q/k/v)
    svd_cache.py  exact float32 SVDs computed once per matrix, LRU with a memory bound
    controls.py   the ``random`` and ``mean`` control edits
    apply.py      ``apply_edits``: edit in place, restore bit-identical on exit
    suffix.py     cached residual + forward of only the blocks an edit can change
    lm_cost.py    language-modelling loss on a reference text, mean sublayer outputs
    sweep.py      evaluating configs from cached residuals, selection / held-out split, best config
    run.py        ``interp laser-sweep``: the run folder (config, results, summary, figures, best.json)
    evaluate.py   ``interp eval --laser/--edit``: a task evaluated with edits, plus their LM cost
    cli.py        the command and its options

The package import is light (no torch); import the modules you need.
"""
