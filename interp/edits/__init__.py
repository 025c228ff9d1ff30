"""Weight edits: what an edit is, and applying it to any loaded model with a bit-identical restore.

    spec.py       ``Edit(layer, matrix, kind, rho)`` and its one parser (``28:mlp_in:0.01``)
    weights.py    a live ``(out, in)`` view of a raw weight (Conv1D transpose, fused q/k/v, per-head)
    lowrank.py    exact SVD and the rank-k reconstruction
    svd_cache.py  SVDs computed once per matrix, LRU with a memory bound
    controls.py   the ``random`` and ``mean`` control edits
    apply.py      ``apply_edits``: edit in place inside a ``with`` block, restore bit-identical on exit
    means.py      the ``mean`` edits' reference vectors: each sublayer's mean output over a reference text
    grid.py       the grid of a sweep (``--layers`` as a ``LayerSpec`` x matrices x rhos x kinds) and its one check
    options.py    the ``--laser`` / ``--edit`` options every command shares

The package import is light (no torch); import the modules you need.
"""
