"""One- and two-layer toy transformers on noisy in-context recall and trigger-bigram data.

Modules (one job each):
    configs        frozen run configs (data, model, optimiser) and the named presets chen, birth
    bigram         the Tiny Shakespeare character bigram model, from shakespeare_bigram.json
    data           vectorised, seeded generators of both data models
    model          the hooked toy transformer, named like TransformerLens
    probes         the Birth paper's memory-recall probes and the MLP-vs-bigram KL
    train          the training loop (metrics.jsonl, log-spaced checkpoints)
    checkpoint     the run / step{N}/ checkpoint format shared with the checkpoint sweep
    metrics        metrics on clean test data and the per-sequence noisy-recall table
    cli            ``interp toy train`` and ``interp toy eval``

Edits (dropping an MLP = the zero edit of its ``mlp_out``, LASER, controls) go through
:mod:`interp.edits` like every other model: load a run with ``interp.models.loading.load_model``
(or wrap a model in memory with ``wrap_toy``) and use ``apply_edits``.
"""
