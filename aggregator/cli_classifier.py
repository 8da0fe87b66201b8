"""`biowire` commands for the classifier: train, model list/activate, label, evaluate.

Registered on the main app by `aggregator.cli`.
"""

from __future__ import annotations

import typer

model_app = typer.Typer(help="Classifier model versions.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
