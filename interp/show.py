"""``interp show DIR``: what a run folder holds, read back from its files (no model is loaded).

Which command made it and with what (the defining config), which code, libraries and machine
(the ``provenance`` every run folder's definition records, :func:`interp.io.provenance`), and its
headline numbers (``best.json`` of a LASER sweep, else the plain values of ``summary.json``).
The lines are returned; the CLI prints them.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from interp.errors import UsageError
from interp.io import read_json

#: the files a run folder's definition may be in, by command (the first one present is read)
DEFINITIONS = ("config.json", "sweep.json", "train.json")
_HIDDEN_CONFIG = {"format", "version", "provenance", "defining", "inputs", "command", "arguments", "config", "corpus", "out",
                  "select_indices", "prefix", "exemplar_sources", "skipped", "layers_resolved"}
_MAX_VALUE = 60
#: a key only one command's config has, for definitions written before they named their command
_LEGACY_KEYS = (("n_shot", "gsm8k"), ("rhos", "laser-sweep"), ("ig_steps", "attribution"), ("task", "eval"))


def _definition(folder: Path) -> tuple[Path, dict[str, Any]]:
    for name in DEFINITIONS:
        path = folder / name
        if path.is_file():
            try:
                data = read_json(path)
            except (OSError, ValueError) as err:
                raise UsageError(f"{path} is unreadable ({type(err).__name__}); give a run folder written by interp") from None
            if isinstance(data, dict):
                return path, data
    raise UsageError(f"{folder} holds no run definition ({', '.join(DEFINITIONS)}); give a folder written by an interp command")


def _command(data: dict[str, Any], path: Path) -> str:
    if data.get("format") == "interp-run":
        return str(data.get("command"))
    if data.get("format") == "interp-toy":
        return "toy train"
    if path.name != "config.json":
        return {"sweep.json": "checkpoint-sweep", "train.json": "lm train"}[path.name]
    known = next((command for key, command in _LEGACY_KEYS if key in data), None)
    if known is not None:
        return known
    script = next((w for w in str((data.get("provenance") or {}).get("command", "")).split() if w.endswith(".py")), None)
    return f"analysis ({script})" if script else "unknown"


def _article(command: str) -> str:
    return f"an {command}" if command.startswith("analysis") else f"an interp {command}"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value) if not isinstance(value, (list, tuple)) else ",".join(map(str, value))
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def _duration(started: str | None, finished: str | None) -> str:
    if not started or not finished:
        return ""
    try:
        seconds = (datetime.datetime.fromisoformat(finished) - datetime.datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        return ""
    return f" ({seconds / 60:.1f} min)" if seconds >= 60 else f" ({seconds:.0f} s)"


def _provenance_lines(stamp: dict[str, Any] | None) -> list[str]:
    if not stamp:
        return ["provenance: none recorded (written by an interp before provenance was kept)"]
    commit = stamp.get("git_commit")
    code = f"interp {stamp.get('interp_version')}"
    if commit:
        code += f", commit {commit[:12]}" + (" with uncommitted changes" if stamp.get("git_dirty") else "")
    libraries = ", ".join(f"{k} {v}" for k, v in (stamp.get("libraries") or {}).items() if v)
    threads = stamp.get("torch_threads")
    machine = ", ".join(str(x) for x in (stamp.get("device"), stamp.get("dtype"),
                                        f"{threads} torch thread{'s' if threads != 1 else ''}" if threads else None,
                                        stamp.get("platform")) if x)
    finished = stamp.get("finished")
    lines = [
        f"command: {stamp.get('command')}",
        f"code: {code}",
        f"libraries: python {stamp.get('python')}, {libraries}",
        f"machine: {machine}",
        f"ran: {stamp.get('started')} to {finished or 'not finished (killed, or still running)'}{_duration(stamp.get('started'), finished)}",
    ]
    earlier = stamp.get("earlier_sessions") or []
    if earlier:
        unknown = sum(1 for e in earlier if not e.get("started"))
        lines.append(f"resumed: {len(earlier)} earlier session(s)" + (f", {unknown} of them without provenance" if unknown else "")
                     + f", the first started {earlier[0].get('started') or 'at an unknown time'}")
    return lines


def _config_lines(data: dict[str, Any]) -> list[str]:
    fields = data.get("defining") if isinstance(data.get("defining"), dict) else data.get("config", data)
    if not isinstance(fields, dict):
        return []
    shown = {k: v for k, v in fields.items() if k not in _HIDDEN_CONFIG and v not in (None, [], {})}
    return [f"config: {' '.join(f'{k}={_value(v)}' for k, v in shown.items() if not isinstance(v, dict))}"] if shown else []


def _summary_lines(folder: Path) -> list[str]:
    best = folder / "best.json"
    if best.is_file():
        record = read_json(best)
        change = (record.get("heldout") or {}).get("change") or {}
        numbers = " ".join(f"{k}={_value(v)}" for k, v in change.items())
        return [f"best: {record.get('edit')} (chosen on {record.get('n_select')} prompts, held-out n={record.get('n_heldout')})",
                f"held-out change: {numbers}"]
    summary = folder / "summary.json"
    if summary.is_file():
        record = read_json(summary)
        if isinstance(record, dict):
            plain = {k: v for k, v in record.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
            return [f"summary: {' '.join(f'{k}={_value(v)}' for k, v in plain.items())}"] if plain else []
    return []


def show_lines(folder: str | Path) -> list[str]:
    """What ``interp show`` prints for the run folder ``folder``: the command, config, provenance and summary."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; give a run folder written by an interp command")
    path, data = _definition(folder)
    return [
        f"{folder}: {_article(_command(data, path))} run ({path.name})",
        *_provenance_lines(data.get("provenance")),
        *_config_lines(data),
        *_summary_lines(folder),
    ]
