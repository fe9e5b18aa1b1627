"""`agentcal config`: what agentcal is configured to do, and where its data lives."""

from __future__ import annotations

import typer

from agentcal.cli._common import JsonOption, console, escape, print_json

app = typer.Typer(help="Show settings and where the data lives.", no_args_is_help=True)


@app.command(name="show")
def config_show(as_json: JsonOption = False) -> None:
    """Show every setting (secrets masked)."""
    from agentcal.masking import public_settings
    from agentcal.settings import get_settings

    settings = get_settings()
    values = public_settings(settings)
    if as_json:
        print_json(values)
        return
    from rich.table import Table

    table = Table("setting", "value", "environment variable", box=None)
    for name, value in values.items():
        field = type(settings).model_fields.get(name)
        env = f"AGENTCAL_{name.upper()}"
        if field is not None and field.validation_alias is not None:
            env = str(field.validation_alias.choices[0])  # type: ignore[union-attr]
        if name == "data_dir":
            env = "AGENTCAL_HOME"
        table.add_row(name, escape(value if value is not None else "-"), env)
    table.add_row(
        "model in use", "offline (built-in)" if settings.uses_offline_model else settings.model, ""
    )
    console().print(table)


@app.command(name="path")
def config_path(
    what: str = typer.Argument(
        "data", help="Which path: data (the data dir), db, ics, checkpoints or google-token."
    ),
) -> None:
    """Print where agentcal keeps its data."""
    from agentcal.errors import ValidationError
    from agentcal.settings import get_settings

    settings = get_settings()
    paths = {
        "data": settings.data_dir,
        "db": settings.db_url,
        "ics": settings.ics_file,
        "checkpoints": settings.checkpoint_path,
        "google-token": settings.google_token_path,
    }
    if what not in paths:
        raise ValidationError(f"unknown path {what!r}: choose from {', '.join(paths)}")
    value = paths[what]
    if what == "db":
        from agentcal.masking import mask_url

        value = mask_url(str(value))
    typer.echo(str(value))
