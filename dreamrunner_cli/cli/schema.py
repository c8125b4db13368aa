"""`dreamrunner schema`: print the JSON Schema of plan.json, the config, eval/metrics.json or the --json result."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..errors import UsageError
from .common import guarded

KINDS = ("plan", "config", "metrics", "result")


@guarded
def schema(kind: Annotated[str, typer.Argument(help="plan, config, metrics or result")] = "plan") -> None:
    """Print the JSON Schema of plan.json (or of config.json, eval/metrics.json, or what --json prints), for editors
    and validators.

    Examples:

        dreamrunner schema plan > plan.schema.json

        dreamrunner schema config

        dreamrunner schema result > result.schema.json      # stage, run, status and error objects of --json
    """
    if kind == "plan":
        from ..schema import plan_json_schema

        data = plan_json_schema()
    elif kind == "metrics":
        from ..evaluation.schema import MetricsFile

        data = MetricsFile.model_json_schema()
    elif kind == "result":
        from ..results import result_json_schema

        data = result_json_schema()
    elif kind == "config":
        from ..config import Config

        data = Config.model_json_schema()
    else:
        raise UsageError(f"unknown schema {kind!r}", hint=f"choose one of: {', '.join(KINDS)}")
    typer.echo(json.dumps(data, indent=2))
