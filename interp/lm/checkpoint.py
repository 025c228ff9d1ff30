"""The run folder of ``interp lm train``, kept by the one run-folder store (:class:`interp.store.RunStore`).

    DIR/train.json              the store's definition file: the config's fields (defining, by dotted
                                name: ``model.d_model``, ``optim.lr``, ``seed``), the corpus sources'
                                content hashes (inputs), and what the run records: the config, the
                                corpus sources (name, size, sha256), the tokenizer, the loss by step and
                                the speed; rewritten atomically at every checkpoint
    DIR/tokenizer/              the tokenizer trained on the corpus (written once, reused on resume)
    DIR/step{N}/                a Hugging Face model folder (config.json, model.safetensors, the
                                tokenizer's files) per checkpoint step: what ``interp.load_model(DIR, N)``,
                                ``--model DIR --checkpoint N`` and ``interp checkpoint-sweep --model DIR`` read
    DIR/step{N}/trainer_state.pt  in the newest checkpoint only: optimizer, scheduler, RNG states,
                                data position and loss history, what a resume needs
    DIR/loss.png                the loss curve

Each folder is a folder part of the store (filled under a temporary name, renamed into place), so
a run killed at any moment leaves complete checkpoints only; the state of an older checkpoint is
deleted once a newer one is in place. The store's rule decides whether a folder may be resumed:
the same config and corpus files of the same content, else one line names what differs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from interp.errors import UsageError
from interp.io import output_lock
from interp.lm.config import TrainConfig
from interp.store import STATE_FILE, RunDefinition, RunStore, dotted_fields, load_state, save_state  # noqa: F401 - the state's save and load, here for lm.train

log = logging.getLogger(__name__)

COMMAND = "lm train"
TRAIN_JSON = "train.json"
STATE = STATE_FILE
TOKENIZER_DIR = "tokenizer"
LOSS_PLOT = "loss.png"
#: how the messages name the fields the command line sets directly (the others are --set keys)
FIELD_NAMES = {"size": "--size", "steps": "--steps", "seed": "--seed"}


def run_store(out: str | Path) -> RunStore:
    return RunStore(out, command=COMMAND, definition_file=TRAIN_JSON, field_names=FIELD_NAMES, noun="training run")


def defining_fields(config: TrainConfig) -> dict[str, Any]:
    """The config as ``{dotted name: value}``, so a refusal names the one field that differs (``optim.lr``)."""
    return dotted_fields(config.to_dict())


def source_hashes(sources: list[dict[str, Any]]) -> dict[str, str]:
    """The store's inputs: each corpus source's content hash, by ``corpus source NAME``."""
    return {f"corpus source {s['name']}": s["sha256"] for s in sources}


def check_run_folder(out: str | Path, config: TrainConfig) -> bool:
    """Before any work: whether ``out`` holds this run already (True: it resumes), or nothing yet (False).

    A folder holding another run (another config) is a UsageError naming the fields that differ, as
    is anything but a training run (a model folder, another command's run, other files: the
    output-folder rule of :mod:`interp.store`); the corpus files are compared when the store opens it.
    """
    store = run_store(out)
    old = store.check_folder()
    if store.root.is_dir():
        with output_lock(store.root):  # a second writer stops here, naming the holder, before the corpus is read
            pass
    if old is None:
        return False
    new = RunDefinition(COMMAND, defining_fields(config), dict(old.inputs))
    diffs = old.differences(new, FIELD_NAMES)
    if diffs:
        raise UsageError(
            f"{store.root} holds a training run with different options ({'; '.join(diffs)}); "
            f"use another --out, or the same options to resume it"
        )
    return True


def saved_steps(store: RunStore) -> dict[int, Path]:
    """The ``step{N}/`` folders of the run, by step."""
    return store.step_folders()


def latest_state(store: RunStore) -> tuple[int, Path] | None:
    """The newest checkpoint that holds a training state: (step, its state file), or None."""
    return store.latest_state(STATE)


def drop_older_states(store: RunStore, keep: int) -> None:
    """Delete the training state of every checkpoint but ``keep`` (a resume reads the newest only)."""
    store.drop_older_states(keep, STATE)
