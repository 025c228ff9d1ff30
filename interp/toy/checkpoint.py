"""The toy checkpoint format, shared with the checkpoint sweep.

A run directory ``RUN/`` holds ``RUN/config.json`` (the full :class:`RunConfig` with
``"format": "interp-toy"``), ``RUN/metrics.jsonl`` and one ``RUN/step{N}/`` folder per saved
step, each with ``config.json`` (the same config plus ``"step": N``) and ``model.safetensors``
(every parameter, frozen ones included). Steps are log-spaced: 0, 1, 2, 4, 8, ... and the last.
The newest step folder of a run trained by ``interp toy train`` also holds ``trainer_state.pt``
(optimizer and training-generator state, the metrics so far): what a resume reads.

The run folder is kept by the one run-folder store (:class:`interp.store.RunStore`, command
``toy train``): its ``config.json`` is the store's definition, written in the toy format
(:func:`run_store`), with the config's fields (by dotted name) as the defining fields. Each step
folder is a folder part (filled under a temporary name, renamed into place whole).

:func:`load_hooked` is the loader of the ``toy`` model source: ``interp.models.loading.load_model``
finds it through its registry of sources (``SOURCE_LOADERS``), so the models package never imports toy.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file

from interp.errors import UsageError
from interp.io import write_folder, write_json
from interp.models.checkpoints import check_loading_info
from interp.models.spec import TOY_FORMAT, ModelSpec, available_steps, toy_config_json
from interp.store import RunDefinition, RunStore, dotted_fields, refuse_unless_empty
from interp.toy.configs import RunConfig
from interp.toy.model import ToyTransformer

if TYPE_CHECKING:
    from interp.models.loading import HookedModel

log = logging.getLogger(__name__)

STEP_DIR = re.compile(r"^step(\d+)$")
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
COMMAND = "toy train"
#: how the messages name the fields the command line sets directly (the others are --set keys)
FIELD_NAMES = {"name": "--config", "data.task": "--task", "model.n_layers": "--layers", "model.arch": "--arch",
               "optim.steps": "--steps", "data.noise": "--noise", "seed": "--seed", "eval_every": "--eval-every"}


def checkpoint_steps(steps: int) -> list[int]:
    """0, 1, 2, 4, ... (powers of two below ``steps``) and ``steps`` itself."""
    out = [0]
    s = 1
    while s < steps:
        out.append(s)
        s *= 2
    if steps > 0:
        out.append(steps)
    return out


def is_toy_checkpoint(path: str | Path) -> bool:
    """True for a ``step{N}/`` folder with a toy config and weights."""
    path = Path(path)
    try:
        d = toy_config_json(path)
    except UsageError:
        return False
    return d is not None and "step" in d and (path / WEIGHTS).is_file()


def is_toy_run(path: str | Path) -> bool:
    """True for a run directory: a toy ``config.json`` and at least one ``step{N}/`` folder."""
    path = Path(path)
    try:
        return toy_config_json(path) is not None and bool(list_steps(path))
    except UsageError:
        return False


def list_steps(run_dir: str | Path) -> list[int]:
    """The ``step{N}/`` folders (with a config.json) of a run, ascending; whether their files are intact is checked on load."""
    return available_steps(ModelSpec("toy", str(run_dir)))


def step_dir(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / f"step{step}"


def write_run_config(run_dir: str | Path, config: RunConfig, provenance: dict | None = None) -> None:
    """The run's ``config.json``: the config, and what made the run (:func:`interp.io.provenance`) when given."""
    write_json(Path(run_dir) / CONFIG, {**config.to_dict(), **({"provenance": provenance} if provenance else {})})


def save_checkpoint(run_dir: str | Path, step: int, model: ToyTransformer, config: RunConfig) -> Path:
    """Write ``run_dir/step{step}/{config.json, model.safetensors}`` (whole or not at all) and return the folder."""
    return write_folder(step_dir(run_dir, step), lambda tmp: fill_checkpoint(tmp, step, model, config))


def fill_checkpoint(folder: Path, step: int, model: ToyTransformer, config: RunConfig) -> None:
    """The files of checkpoint ``step`` (``config.json``, ``model.safetensors``) in ``folder``."""
    state = {name: t.detach().to("cpu").contiguous() for name, t in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS), metadata={"format": TOY_FORMAT, "step": str(step)})
    write_json(folder / CONFIG, {**config.to_dict(), "step": step})


# -- the run folder in the store -------------------------------------------------------------------------

def defining_fields(config_dict: Mapping[str, Any]) -> dict[str, Any]:
    """A config's fields as ``{dotted name: value}`` (``format`` aside), so a refusal names the one that differs."""
    return dotted_fields(config_dict, skip=("format", "provenance", "step"))


def _read_definition(data: dict[str, Any]) -> RunDefinition | None:
    """A toy run's ``config.json`` as the store's definition (None for anything else, a step folder's included)."""
    if data.get("format") != TOY_FORMAT or "step" in data:
        return None
    config = {k: v for k, v in data.items() if k != "provenance"}
    return RunDefinition(COMMAND, defining_fields(config), {}, {"config": config, "provenance": data.get("provenance")})


def _render(definition: RunDefinition) -> dict[str, Any]:
    """The definition as the toy run's ``config.json``: the config, then its provenance."""
    return {**definition.info["config"], "provenance": definition.info.get("provenance")}


def run_store(out: str | Path) -> RunStore:
    return RunStore(out, command=COMMAND, definition_file=CONFIG, field_names=FIELD_NAMES, legacy=_read_definition,
                    render=_render, noun="toy training run")


def holds_run(out: str | Path) -> bool:
    """Whether ``out`` holds a toy run's ``config.json`` (finished or not)."""
    try:
        data = toy_config_json(Path(out))
    except UsageError:
        return False
    return data is not None and _read_definition(data) is not None


def check_run_folder(out: str | Path, config: RunConfig) -> RunStore:
    """Before any work: the output-folder rule for ``toy train --out``; the folder's store.

    A new or empty folder starts a run, a folder holding this run (the same config) resumes it; a
    toy run of another config is one UsageError line naming the first field that differs, and
    anything else (a model folder, a toy checkpoint, another command's run, other files) one
    line naming what is there. A second writer is refused here too, naming the holder.
    """
    store = run_store(out)
    if not holds_run(store.root):
        refuse_unless_empty(store.root, COMMAND)
    else:
        store.check(defining_fields(config.to_dict()), info={"config": config.to_dict()})
    with store.hold(leave_lock=False):  # created and writable, and a second writer stops here, naming the holder
        pass
    return store


def is_finished(store: RunStore, config: RunConfig) -> bool:
    """Whether the run in ``store`` trained to its last step and wrote everything (a rerun has nothing to do).

    A run is finished once its provenance records its end; a run written before provenance was
    kept, once its last step is saved (it had no training state to resume from anyway).
    """
    steps = store.step_folders()
    if not steps or max(steps) != config.optim.steps:
        return False
    record = store.previous.info.get("provenance") if store.previous is not None else None
    if isinstance(record, dict):
        return bool(record.get("finished"))
    return store.latest_state() is None


def load_checkpoint(
    path: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> tuple[ToyTransformer, RunConfig]:
    """Rebuild the model of a ``step{N}/`` folder, or of a run folder's last step, and load its weights.

    A corrupt or unreadable config or weights file is a UsageError naming the file.
    """
    folder = resolve(path)
    d = toy_config_json(folder)
    if d is None or "step" not in d:
        raise UsageError(f"{folder / CONFIG} is not a toy checkpoint config (format {TOY_FORMAT!r} with a step)")
    config = RunConfig.from_dict(d)
    model = ToyTransformer(config.model, seed=config.seed, device="cpu", dtype=torch.float32)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise UsageError(f"{weights} is missing; the checkpoint of step {d['step']} is incomplete")
    try:
        state = load_file(str(weights))
    except Exception as err:  # safetensors raises its own error types for truncated or garbled files
        raise UsageError(f"{weights} is unreadable ({type(err).__name__}: {str(err)[:120]}); the file is corrupt") from None
    own = model.state_dict()
    resized = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in state.items() if k in own and v.shape != own[k].shape]
    check_loading_info(
        {"missing_keys": set(own) - set(state), "unexpected_keys": set(state) - set(own), "mismatched_keys": resized},
        str(folder),
    )
    model.load_state_dict(state)
    model.to(device=device, dtype=dtype)
    model.eval()
    return model, config


def resolve(path: str | Path, step: int | None = None) -> Path:
    """A step folder from a run directory (its last step, or ``step``) or a step folder itself."""
    path = Path(path)
    match = STEP_DIR.match(path.name)
    if match and ((path / CONFIG).is_file() or (path / WEIGHTS).is_file()):
        if step is not None and step != int(match.group(1)):
            raise UsageError(f"{path} is already a checkpoint folder; --step applies to run directories")
        return path
    steps = list_steps(path) if toy_config_json(path) is not None else []
    if not steps:
        raise UsageError(f"{path} is not a toy run (expected config.json with format {TOY_FORMAT!r} and step*/ folders)")
    if step is None:
        planned = RunConfig.from_dict(toy_config_json(path)).optim.steps
        if steps[-1] < planned:
            raise UsageError(
                f"{path} is an unfinished run: its last saved step is {steps[-1]} of the {planned} it trains "
                f"(was it killed?); pass --step {steps[-1]} to evaluate that step anyway, or train the run to the end"
            )
        return step_dir(path, steps[-1])
    if step not in steps:
        raise UsageError(f"step {step} not saved in {path}; saved steps: {steps}")
    return step_dir(path, step)


def load_hooked(spec: ModelSpec, device: torch.device, dtype: torch.dtype) -> HookedModel:
    """The ``toy`` model source: the run's step ``spec.step`` (default its last) as a :class:`HookedModel`."""
    from interp.models.loading import wrap_toy  # the loader stack (transformer_lens), only when a toy run is loaded

    folder = resolve(spec.name, spec.step)
    step = int(folder.name.removeprefix("step"))
    log.info("loading %s on %s", spec.at_step(step).display, device)
    toy, config = load_checkpoint(folder, device=device, dtype=dtype)
    return wrap_toy(toy, config, spec.at_step(step))
