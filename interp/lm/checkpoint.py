"""The run folder of ``interp lm train``: what is saved where, and the rule that decides whether a folder may be resumed.

    DIR/train.json              the config, the corpus sources (name, size, sha256), the tokenizer,
                                the loss by step and the speed; rewritten atomically at every checkpoint
    DIR/tokenizer/              the tokenizer trained on the corpus (written once, reused on resume)
    DIR/step{N}/                a Hugging Face model folder (config.json, model.safetensors, the
                                tokenizer's files) per checkpoint step: what ``interp.load_model(DIR, N)``,
                                ``--model DIR --checkpoint N`` and ``interp checkpoint-sweep --model DIR`` read
    DIR/step{N}/trainer_state.pt  in the newest checkpoint only: optimizer, scheduler, RNG states,
                                data position and loss history, what a resume needs
    DIR/loss.png                the loss curve

Every folder is written under a temporary name (``.step{N}.<pid>.tmp``) and renamed into place,
so a run killed at any moment leaves complete checkpoints only; the state of an older checkpoint
is deleted once a newer one is in place. A folder may be resumed only by the run that started it:
its ``train.json`` config and the corpus files' hashes must equal the new run's, else one line
names the first field that differs.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from interp.errors import UsageError
from interp.io import read_json, write_json
from interp.lm.config import TRAIN_FORMAT, TrainConfig

log = logging.getLogger(__name__)

TRAIN_JSON = "train.json"
STATE = "trainer_state.pt"
TOKENIZER_DIR = "tokenizer"
LOSS_PLOT = "loss.png"
_STEP_DIR = re.compile(r"^step(\d+)$")
_TEMP_DIR = re.compile(r"^\..+\.(\d+)\.tmp$")


def step_dir(out: Path, step: int) -> Path:
    return Path(out) / f"step{step}"


def _visible(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if not p.name.startswith(".")] if out.is_dir() else []


def differing_field(saved: Any, new: Any, prefix: str = "") -> str | None:
    """The first dotted field where two JSON values differ, with both values; None when equal."""
    if isinstance(saved, Mapping) and isinstance(new, Mapping):
        for key in [*saved, *(k for k in new if k not in saved)]:
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in saved or key not in new:
                return f"{where} ({'absent' if key not in saved else repr(saved[key])} there, {'absent' if key not in new else repr(new[key])} now)"
            found = differing_field(saved[key], new[key], where)
            if found:
                return found
        return None
    if saved != new:
        return f"{prefix} ({saved!r} there, {new!r} now)"
    return None


def read_train_json(out: Path) -> dict[str, Any] | None:
    """``DIR/train.json`` (None when absent); UsageError when it is not a training run's."""
    path = Path(out) / TRAIN_JSON
    if not path.is_file():
        return None
    try:
        record = read_json(path)
    except (OSError, ValueError) as err:
        raise UsageError(f"{path} is not readable JSON ({err}); restore it or use another --out") from None
    if not isinstance(record, dict) or record.get("format") != TRAIN_FORMAT or "config" not in record:
        raise UsageError(f"{path} is not an interp lm train record; use another --out")
    return record


def check_run_folder(out: Path, config: TrainConfig) -> bool:
    """Whether ``out`` holds this run already (True: resume), or is new or empty (False).

    A folder with other files, or with another run's ``train.json``, is a UsageError naming
    what differs. Cheap: called before any work.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is an existing file; give a folder (new, empty, or this run's)")
    record = read_train_json(out)
    if record is None:
        others = _visible(out)
        if others:
            raise UsageError(
                f"{out} is not empty and holds no train.json ({others[0].name}, ...); choose a new --out "
                f"or the folder of the run to resume"
            )
        return False
    difference = differing_field(record["config"], config.to_dict())
    if difference:
        raise UsageError(
            f"{out} holds a different training run: {difference}; rerun with that run's options to resume it, or choose a new --out"
        )
    return True


def check_sources(out: Path, sources: list[dict[str, Any]]) -> None:
    """The corpus sources must be those the run in ``out`` started from (same files, same hashes)."""
    record = read_train_json(out)
    if record is None or "corpus" not in record:
        return
    saved = {s["name"]: s for s in record["corpus"]}
    new = {s["name"]: s for s in sources}
    difference = differing_field({k: v.get("sha256") for k, v in saved.items()}, {k: v.get("sha256") for k, v in new.items()})
    if difference:
        raise UsageError(
            f"{out} was trained on other corpus files: corpus source {difference.replace(' (', ' sha256 (', 1)}; "
            f"restore those files or choose a new --out"
        )


def remove_temporaries(out: Path) -> None:
    """Delete the temporary folders of a killed writer (called with the folder's lock held)."""
    for path in Path(out).iterdir() if Path(out).is_dir() else []:
        if path.is_dir() and _TEMP_DIR.match(path.name):
            shutil.rmtree(path, ignore_errors=True)


def write_folder(out: Path, name: str, fill: Callable[[Path], None]) -> Path:
    """Write the folder ``out/name`` atomically: ``fill`` writes into a temporary folder that is then renamed into place."""
    final = Path(out) / name
    tmp = Path(out) / f".{name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        fill(tmp)
        if final.exists():  # a step saved by a run killed before it could drop the state: replace it whole
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def saved_steps(out: Path) -> dict[int, Path]:
    """The ``step{N}/`` folders of a run, by step."""
    found = {}
    for path in Path(out).iterdir() if Path(out).is_dir() else []:
        match = _STEP_DIR.match(path.name)
        if match and path.is_dir():
            found[int(match.group(1))] = path
    return dict(sorted(found.items()))


def latest_state(out: Path) -> tuple[int, Path] | None:
    """The newest checkpoint that holds a training state: (step, its state file), or None."""
    for step, folder in reversed(saved_steps(out).items()):
        if (folder / STATE).is_file():
            return step, folder / STATE
    return None


def drop_older_states(out: Path, keep: int) -> None:
    """Delete the training state of every checkpoint but ``keep`` (a resume reads the newest only)."""
    for step, folder in saved_steps(out).items():
        if step != keep:
            (folder / STATE).unlink(missing_ok=True)


def save_state(path: Path, state: dict[str, Any]) -> None:
    torch.save(state, path)


def load_state(path: Path) -> dict[str, Any]:
    """A training state saved by :func:`save_state` (UsageError when it cannot be read)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - a truncated or foreign file: the user's to remove
        raise UsageError(
            f"{path} is unreadable ({type(err).__name__}: {str(err)[:120]}); delete that checkpoint folder to resume from the one before"
        ) from None


def write_train_json(out: Path, record: dict[str, Any]) -> None:
    write_json(Path(out) / TRAIN_JSON, {"format": TRAIN_FORMAT, **record})

