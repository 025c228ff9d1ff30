"""Norm-based attribution through attention and feed-forward blocks (Kobayashi et al., ICLR 2024).

For a prompt and a layer: the T x T map (output position i, input position j <= i) at each
scope, from the layer's input vectors to its output: ATTN-W, ATTN-N, ATB, ATBFF, ATBFFRES,
ATBFFRESLN (see :mod:`interp.attribution.layout`). Modules: ``layout`` (what a block does,
its weights via the registry), ``capture`` (the hooked forward), ``decompose`` (per-token
parts of every component), ``ig`` (integrated gradients on the FF activation), ``scores``
(Spearman between scopes, FF amplification by pair category), ``plots``, ``run`` (the
``interp attribution`` run folder) and ``cli``.
"""
