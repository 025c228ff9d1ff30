"""interp: a mechanistic-interpretability toolkit for pretrained language models.

Modules (one job each):
    models/      loading hooked models (hub, Pythia checkpoints, local folders, embedded GGUF models),
                 the architecture registry, tiny random models for tests
    tasks/       prompt sets (IOI, factual recall, user jsonl) built from data under ``prompts/``
    metrics      next-token metrics from logits
    evaluation   batched evaluation of a prompt set on a model
    lowrank      exact SVD and rank-k reconstruction shared by LASER and the toy models
    plots        seaborn figures
    cli          the ``interp`` command
"""

__version__ = "0.1.0"
