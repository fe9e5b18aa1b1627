"""`agentcal insights`: what agentcal has learned about you."""

from __future__ import annotations

from typing import Annotated

import typer

from agentcal.cli._common import JsonOption, UserOption, console, escape, print_json, resolve_user
from agentcal.vocab import INSIGHT_CATEGORIES, INSIGHT_TYPES

app = typer.Typer(help="List, show, set and delete learned insights.", no_args_is_help=True)

RefArg = Annotated[str, typer.Argument(help="Insight id, or CATEGORY/KEY (e.g. health/gym_time).")]


@app.command(name="list")
def insights_list(
    user: UserOption = None,
    category: Annotated[
        str | None,
        typer.Option(
            "--category", "-c", help=f"Only this category: {', '.join(INSIGHT_CATEGORIES)}."
        ),
    ] = None,
    insight_type: Annotated[
        str | None,
        typer.Option("--type", "-t", help=f"Only this type: {', '.join(INSIGHT_TYPES)}."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List your insights with their confidence and source."""
    from agentcal.insights.user_insights import user_insights_service

    rows = user_insights_service.get_user_insights(
        resolve_user(user), category=category, insight_type=insight_type
    )
    if as_json:
        print_json(rows)
        return
    if not rows:
        console().print(
            "No insights yet. Tell the agent about your habits, or use `agentcal insights set`."
        )
        return
    from agentcal.cli import render

    listing = render.Listing()
    listing.column("id", "id")
    listing.column("insight", "title")
    listing.column("value", "title")
    listing.column("type", "tag", optional=2)
    listing.column("conf", "number")
    listing.column("source", "tag", optional=3)
    listing.column("seen", "number", optional=1)
    listing.column("updated", "date", optional=4)
    for r in rows:
        listing.row(
            str(r.id), f"{r.category}/{escape(r.key)}", escape(render.insight_value(r.value)),
            r.insight_type, f"{r.confidence:.2f}", r.source, str(r.times_seen),
            render.when(r.updated_at),
        )  # fmt: skip
    listing.print(console())


@app.command(name="show")
def insights_show(ref: RefArg, user: UserOption = None, as_json: JsonOption = False) -> None:
    """Show one insight and the history of its values."""
    from agentcal.insights.user_insights import user_insights_service

    insight = user_insights_service.get_insight(resolve_user(user), ref)
    history = user_insights_service.get_history(insight.id)
    if as_json:
        from agentcal.cli._common import jsonable

        print_json({**jsonable(insight), "history": jsonable(history)})
        return
    import json

    from agentcal.cli import render

    out = console()
    out.print(
        f"[bold]#{insight.id} {insight.category}/{escape(insight.key)}[/bold] ({insight.insight_type})"
    )
    out.print(f"value:      {escape(json.dumps(insight.value, ensure_ascii=False))}")
    out.print(
        f"confidence: {insight.confidence:.2f}  source: {insight.source}  seen: {insight.times_seen}x"
    )
    if insight.source_request_id:
        out.print(
            f"learned in: agent call #{insight.source_request_id} (agentcal logs show {insight.source_request_id})"
        )
    out.print(
        f"created:    {insight.created_at:%Y-%m-%d %H:%M} UTC  updated: {insight.updated_at:%Y-%m-%d %H:%M} UTC"
    )
    listing = render.Listing(title="history")
    listing.column("when", "date")
    listing.column("change", "tag")
    listing.column("value", "title")
    listing.column("conf", "number")
    listing.column("source", "tag", optional=1)
    for h in history:
        listing.row(
            render.when(h.changed_at), h.change, escape(json.dumps(h.value, ensure_ascii=False)),
            f"{h.confidence:.2f}", h.source,
        )  # fmt: skip
    listing.print(out)


@app.command(name="set")
def insights_set(
    category: Annotated[str, typer.Argument(help=f"One of {', '.join(INSIGHT_CATEGORIES)}.")],
    key: Annotated[str, typer.Argument(help="Key within the category, e.g. gym_time.")],
    value: Annotated[
        str, typer.Argument(help='JSON value, e.g. \'{"time": "06:00", "duration": 60}\'.')
    ],
    insight_type: Annotated[
        str, typer.Option("--type", "-t", help=f"One of {', '.join(INSIGHT_TYPES)}.")
    ] = "preference",
    confidence: Annotated[float, typer.Option(help="Confidence 0..1.")] = 1.0,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set an insight yourself (source: explicit; the agent will not overwrite it)."""
    from agentcal.insights.user_insights import user_insights_service
    from agentcal.validation import parse_json_text

    change = user_insights_service.upsert_insight(
        user_id=resolve_user(user),
        insight_type=insight_type,
        category=category,
        key=key,
        value=parse_json_text(value),
        confidence=confidence,
        source="explicit",
    )
    if as_json:
        from agentcal.cli._common import jsonable

        print_json({**jsonable(change.insight), "outcome": change.outcome})
        return
    i = change.insight
    console().print(
        f"{change.outcome} insight #{i.id} {i.category}/{escape(i.key)} (confidence {i.confidence:.2f})"
    )


@app.command(name="delete")
def insights_delete(ref: RefArg, user: UserOption = None) -> None:
    """Delete an insight and its history."""
    from agentcal.insights.user_insights import user_insights_service

    insight = user_insights_service.delete_insight(resolve_user(user), ref)
    console().print(f"deleted insight #{insight.id} {insight.category}/{escape(insight.key)}")


@app.command(name="update")
def insights_update(
    body_json: Annotated[
        str | None,
        typer.Option("--json", help="The body as JSON (default: read it from stdin)."),
    ] = None,
    insight_type: Annotated[
        str | None, typer.Option("--type", "-t", help=f"One of {', '.join(INSIGHT_TYPES)}.")
    ] = None,
    category: Annotated[
        str | None,
        typer.Option("--category", "-c", help=f"One of {', '.join(INSIGHT_CATEGORIES)}."),
    ] = None,
    key: Annotated[str | None, typer.Option("--key", "-k", help="Key, e.g. gym_time.")] = None,
    value: Annotated[
        str | None, typer.Option("--value", help='JSON value, e.g. \'{"time": "06:00"}\'.')
    ] = None,
    confidence: Annotated[
        float | None, typer.Option("--confidence", help="Confidence 0..1.")
    ] = None,
    user: UserOption = None,
) -> None:
    """Queue an insight update (the seed's POST /user-insights/update); prints the job id.

    The body is {"insight_type", "category", "key", "value", "confidence"}, from --json, from
    the options, or from stdin. A worker (`agentcal daemon`) applies it as an agent insight.
    """
    import hashlib
    import json
    import sys

    from agentcal.cli._common import parse_json_option
    from agentcal.errors import ValidationError
    from agentcal.insights.user_insights import InsightBody
    from agentcal.queue.jobs import job_queue
    from agentcal.validation import parse_json_text

    options = {
        "insight_type": insight_type, "category": category, "key": key,
        "value": value, "confidence": confidence,
    }  # fmt: skip
    given = {k: val for k, val in options.items() if val is not None}
    if body_json is not None and given:
        raise ValidationError("give the body with --json or with options, not both")
    if body_json is not None:
        data = parse_json_option(body_json, "--json")
    elif given:
        data = dict(given)
        if "value" in data:
            data["value"] = parse_json_text(str(data["value"]))
        data.setdefault("insight_type", "preference")
        data.setdefault("confidence", 0.8)
    else:
        if sys.stdin.isatty():
            raise ValidationError("give the body on stdin, with --json, or with options")
        data = parse_json_option(sys.stdin.read(), "the body on stdin")
    body = InsightBody.parse(data)
    user_id = resolve_user(user)
    canonical = json.dumps(body.as_dict(), sort_keys=True)
    digest = hashlib.sha256(f"{user_id}\n{canonical}".encode()).hexdigest()[:24]
    job = job_queue.enqueue(
        "update_insight",
        {**body.as_dict(), "user_id": user_id, "agent_run_id": None, "source_request_id": None},
        user_id=user_id,
        unique_key=f"update_insight:{digest}",
    )
    typer.echo(job.id)
