"""dreamrunner: story to multi-scene video with the DreamRunner method.

The package is a library first (``dreamrunner_cli.stages.*``) with a thin Typer CLI on top (``dreamrunner_cli.cli``).
Heavy imports (torch, diffusers, transformers, open_clip) happen inside the stages that need them.
"""

__version__ = "0.1.0"
