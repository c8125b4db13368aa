"""`dreamrunner schema`: print the JSON Schema of plan.json, the config, eval/metrics.json or the --json result."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..errors import UsageError
from .common import guarded
from .completion import choices

KINDS = ("plan", "config", "metrics", "result")


@guarded
def schema(
    kind: Annotated[str, typer.Argument(help="plan, config, metrics or result",
                                        autocompletion=choices(KINDS))] = "plan",
    command: Annotated[str | None, typer.Option(
        "--command", "-c", metavar="NAME",
        help="With result: only what this command prints with --json (its result or the error object), e.g. "
             "render, 'config show', 'index build'; a group (config, index) gives any of its subcommands'.")]
    = None,
) -> None:
    """Print the JSON Schema of plan.json (or of config.json, eval/metrics.json, or what --json prints), for editors
    and validators.

    Examples:

        dreamrunner schema plan > plan.schema.json

        dreamrunner schema result > result.schema.json      # what any command prints with --json

        dreamrunner schema result --command 'config show'  # one command's result (or its error object)
    """
    if command is not None and kind != "result":
        raise UsageError("--command goes with `dreamrunner schema result`",
                         hint=f"dreamrunner schema result --command {command!r}")
    if kind == "plan":
        from ..schema import plan_json_schema

        data = plan_json_schema()
    elif kind == "metrics":
        from ..evaluation.schema import MetricsFile

        data = _with_id(MetricsFile.model_json_schema(), "metrics")
    elif kind == "result":
        from ..results import COMMAND_RESULTS, commands, result_json_schema

        if command is not None and not commands(command):
            groups = sorted({c.split()[0] for c in COMMAND_RESULTS if " " in c})
            raise UsageError(f"no command {command!r} prints a --json result",
                             hint=f"choose one of: {', '.join(COMMAND_RESULTS)} (or a group: {', '.join(groups)})")
        data = result_json_schema(command)
    elif kind == "config":
        from ..config import Config

        data = _with_id(Config.model_json_schema(), "config")
    else:
        raise UsageError(f"unknown schema {kind!r}", hint=f"choose one of: {', '.join(KINDS)}")
    typer.echo(json.dumps(data, indent=2))


def _with_id(schema: dict, kind: str) -> dict:
    """``$schema`` and ``$id`` first, as editors and validators expect (plan.json's and the results' have them)."""
    from ..schema import schema_id

    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_id(kind), **schema}
