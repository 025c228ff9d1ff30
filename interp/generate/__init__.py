"""Batched greedy generation with a shared-prefix key/value cache.

    cache.py   PrefixCache: a prefix's keys/values computed once, laid out for left-padded batches
    greedy.py  Generator, GenerateConfig, Generation: batched greedy decoding with stop strings
"""

from interp.generate.cache import PrefixCache, split_common_prefix
from interp.generate.greedy import BatchOutput, GenerateConfig, Generation, Generator, cut_at_stop, plan_batches

__all__ = ["BatchOutput", "GenerateConfig", "Generation", "Generator", "PrefixCache", "cut_at_stop", "plan_batches", "split_common_prefix"]
