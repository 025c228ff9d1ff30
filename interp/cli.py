"""The ``interp`` command line (typer): the app, its one-line errors, and the packages' commands.

Each capability package has a ``cli.py`` whose ``register(app)`` adds its commands (models,
scoring, toy, laser, checkpoint_sweeps, attribution, gsm8k). Each command parses its options into typed values once, builds a
frozen config dataclass and calls the library. Errors the user can fix (:class:`interp.errors.UsageError`, typer's bad-parameter
errors) end as one line on stderr with exit code 2 and no traceback.
"""

from __future__ import annotations

import logging
import shlex
import sys

import typer
from typer.core import TyperGroup

from interp.errors import UsageError

try:  # typer >= 0.20 vendors click
    from typer._click.exceptions import UsageError as _ParseError
except ImportError:  # pragma: no cover - older typer on upstream click
    from click.exceptions import UsageError as _ParseError


class _OneLineErrors(TyperGroup):
    """Turns user errors, ours and the option parser's, into one stderr line and exit code 2; runs
    record their command line (:func:`interp.io.called_as`)."""

    def main(self, args=None, *rest, **options):
        from interp.io import called_as

        argv = list(sys.argv[1:] if args is None else args)
        with called_as(shlex.join(["interp", *map(str, argv)])):
            return super().main(args, *rest, **options)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageError as err:
            message = str(err)
        except _ParseError as err:
            message = err.format_message()
        except OSError as err:  # the file system refused (permissions, a full disk): the user's to fix
            where = f" {err.filename}" if getattr(err, "filename", None) else ""
            message = f"could not read or write{where}: {err.strerror or err}; check the path, its permissions and free space"
        typer.echo(f"error: {' '.join(message.split())}", err=True)
        raise typer.Exit(2)


app = typer.Typer(
    cls=_OneLineErrors,
    name="interp",
    help="Mechanistic-interpretability toolkit: hooked models, tasks, LASER, checkpoint sweeps, toy models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)

def _mount_subcommands() -> None:
    from interp.models.cli import register as register_models

    register_models(app)
    from interp.scoring.cli import register as register_scoring

    register_scoring(app)
    from interp.toy.cli import app as toy_app

    app.add_typer(toy_app, name="toy", help="Two-layer toy transformers: train, evaluate, intervene.")
    from interp.lm.cli import app as lm_app

    app.add_typer(lm_app, name="lm", help="Pythia-style language models trained from scratch: train, with checkpoints.")
    from interp.laser.cli import register as register_laser

    register_laser(app)
    from interp.checkpoint_sweeps.cli import register as register_checkpoint_sweeps

    register_checkpoint_sweeps(app)
    from interp.attribution.cli import register as register_attribution

    register_attribution(app)
    from interp.gsm8k.cli import register as register_gsm8k

    register_gsm8k(app)


@app.command("show")
def show(folder: str = typer.Argument(..., help="a run folder written by any interp command")) -> None:
    """What a run folder holds: the command that made it, its config, the code, libraries and machine, its summary."""
    from interp.show import show_lines

    for line in show_lines(folder):
        typer.echo(line)


_mount_subcommands()


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(logging.ERROR)  # TransformerLens and transformers log chatty warnings at root
    logging.getLogger("interp").setLevel(logging.INFO)
    app(args=argv)


if __name__ == "__main__":
    main()
