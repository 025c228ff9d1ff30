"""Pythia-style language models trained from scratch, offline: ``interp lm train``.

config      frozen run configs and the ``--size`` presets (tiny, small, base, large)
corpus      the training text from the team's data files (sources named with sizes and hashes)
tokenizer   the byte-level BPE trained on the corpus
model       ``GPTNeoXForCausalLM`` with Pythia's choices, initialised from the seed
data        the corpus tokenized once, cut into blocks, read in a seeded order
schedule    learning rate (warmup + cosine) and checkpoint steps (0, 1, 2, ..., 512, then evenly)
checkpoint  the run folder: train.json, step{N}/ Hugging Face folders, resume rule
train       the training loop
plots       the loss curve
cli         ``interp lm train``
"""
