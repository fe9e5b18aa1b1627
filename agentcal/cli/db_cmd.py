"""`agentcal db`: schema migrations (also applied automatically on first use)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)


@app.command(name="upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", help="Revision to upgrade to."),
) -> None:
    """Apply pending migrations to the configured database."""
    from agentcal.db import get_engine, upgrade_schema
    from agentcal.masking import mask_url

    engine = get_engine(upgrade=False)
    before = _revision(engine)
    after = upgrade_schema(engine, revision)
    url = mask_url(engine.url.render_as_string(hide_password=True))
    if before == after:
        typer.echo(f"{url}: already at {after}")
    else:
        typer.echo(f"{url}: upgraded {before or 'empty'} -> {after}")


@app.command(name="current")
def db_current() -> None:
    """Print the database's schema revision."""
    from agentcal.db import get_engine

    typer.echo(_revision(get_engine(upgrade=False)) or "empty (no schema yet)")


def _revision(engine) -> str | None:  # type: ignore[no-untyped-def]
    from agentcal.db import current_revision

    return current_revision(engine)
