"""`dreamrunner schema`: print the JSON Schema of plan.json or of the config."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..errors import UsageError
from .common import guarded

KINDS = ("plan", "config", "metrics")


@guarded
def schema(kind: Annotated[str, typer.Argument(help="plan, config or metrics")] = "plan") -> None:
    """Print the JSON Schema of plan.json (or of config.json, or eval/metrics.json), for editors and validators.

    Examples:

        dreamrunner schema plan > plan.schema.json

        dreamrunner schema config
    """
    if kind == "plan":
        from ..schema import plan_json_schema

        data = plan_json_schema()
    elif kind == "metrics":
        from ..evaluation.schema import MetricsFile

        data = MetricsFile.model_json_schema()
    elif kind == "config":
        from ..config import Config

        data = Config.model_json_schema()
    else:
        raise UsageError(f"unknown schema {kind!r}", hint=f"choose one of: {', '.join(KINDS)}")
    typer.echo(json.dumps(data, indent=2))
