"""The ``dreamrunner`` command: a thin Typer layer over ``dreamrunner_cli.stages``.

One module per command; each only parses options, resolves the config, calls the stage and prints the result.
Nothing here imports torch: ``dreamrunner --help`` and ``dreamrunner status`` stay instant.
"""

from __future__ import annotations

import typer

from . import (adapt, batch, bench, config_cmd, doctor, edit, evaluate, index, masks, plan, plan_io, render, retrieve,
               run, schema, status)
from .common import PlainGroup, plain_help, root_options

app = typer.Typer(
    name="dreamrunner",
    help="Story → multi-scene video with DreamRunner: plan, retrieve, adapt, render (SR3AI), evaluate.\n\n"
    "Each stage reads and writes one workspace folder; re-runs skip what has not changed.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=True,
    cls=PlainGroup,
    rich_markup_mode="rich",
)

app.command("plan")(plan.plan)
app.command("retrieve")(retrieve.retrieve)
app.command("adapt")(adapt.adapt)
app.command("render")(render.render)
app.command("evaluate")(evaluate.evaluate)
app.command("run")(run.run)
app.command("batch")(batch.batch)
app.command("status")(status.status)
app.command("schema")(schema.schema)
app.command("masks")(masks.masks)
app.command("edit")(edit.edit)
app.command("doctor")(doctor.doctor)
app.command("import")(plan_io.import_plan)
app.command("export")(plan_io.export_plan)
app.command("bench")(bench.bench)
app.add_typer(index.app, name="index")
app.add_typer(config_cmd.app, name="config")
app.callback()(root_options)
plain_help(app)


def main() -> None:
    """SIGTERM is handled like Ctrl-C (``errors.on_signal``): the exception unwinds through the stage's ``finally``
    blocks (temp files removed, finished items already recorded) and the boundary exits 143 (130 for Ctrl-C). The
    entry points (``dreamrunner_cli.entry``, ``python -m dreamrunner_cli``) install the handlers before importing
    this package; outside a command either signal exits at once with a message."""
    from ..errors import install_signals

    install_signals()
    app()
