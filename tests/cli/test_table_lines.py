"""TableLines draws a Listing's table exactly as Rich's Table does: every character and its
style, at every width, for the tables the list commands build."""

import io
import random

import pytest
from rich.console import Console
from rich.style import Style
from rich.table import Table

from agentcal.cli.render import Listing
from agentcal.cli.table_lines import TableLines, _supported

WIDTHS = [20, 40, 60, 80, 100, 120, 200]


def _cells(renderable, width: int) -> list[tuple[str, object]]:
    """Each character drawn, with its style: what a terminal shows."""
    console = Console(file=io.StringIO(), width=width, force_terminal=True,
                      color_system="truecolor", legacy_windows=False)  # fmt: skip
    segments = console.render(renderable, console.options)
    return [(ch, seg.style or Style()) for seg in segments for ch in seg.text]  # None: no style


def _text(renderable, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def _same(table: Table) -> None:
    assert _supported(table)
    for width in WIDTHS:
        assert _text(TableLines(table), width) == _text(table, width), width
        assert _cells(TableLines(table), width) == _cells(table, width), width


def _listing(rnd: random.Random, rows: int, title: str | None = None) -> Listing:
    listing = Listing(title=title)
    listing.column("id", "id")
    listing.column("when", "date")
    listing.column("title", "title")
    listing.column("state", "tag", style="cyan")
    listing.column("cost", "number", optional=2)
    listing.column("message", "text", optional=1, want=20)
    words = ["gym", "Deep work", "Lunch with [bold]Sam[/bold]", "réunion 日本語", "x" * 45,
             "a rather long title that has to wrap somewhere", "", "tab\there"]  # fmt: skip
    notes = [None, None, "moved 30 min later: “Team sync” at 09:00 overlaps", "[red]late[/red]"]
    for i in range(rows):
        listing.row(
            str(rnd.randrange(1, 10**rnd.randrange(1, 7))), f"12-{i % 28 + 1:02d} 0{i % 10}:30",
            rnd.choice(words), rnd.choice(["planned", "[yellow]deleted in calendar[/yellow]", "ok"]),
            f"${rnd.random():.4f}", rnd.choice(["hello", "a long message " * rnd.randrange(1, 8), ""]),
            note=rnd.choice(notes),
        )  # fmt: skip
    return listing


@pytest.mark.parametrize("seed", range(12))
def test_listing_tables_are_drawn_as_rich_draws_them(seed):
    rnd = random.Random(seed)
    listing = _listing(rnd, rnd.randrange(0, 40), title=rnd.choice([None, "by session"]))
    for width in WIDTHS:
        table = listing.renderable(width)  # the columns a Listing keeps at this width
        assert _supported(table)  # drawn by TableLines, not handed back to Rich
        assert _text(TableLines(table), width) == _text(table, width), width
        assert _cells(TableLines(table), width) == _cells(table, width), width


def test_a_header_that_wraps_is_aligned_to_the_bottom_as_rich_does():
    from rich import box

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1),
                  header_style="bold", collapse_padding=True)  # fmt: skip
    table.add_column("a header of many words", overflow="fold", min_width=4)
    table.add_column("n", justify="right", no_wrap=True)
    from rich.text import Text

    table.add_row(Text("short"), Text("1"))
    _same(table)


def test_tables_with_other_settings_are_left_to_rich():
    from rich import box
    from rich.text import Text

    table = Table(box=box.ROUNDED)
    table.add_column("a")
    table.add_row(Text("x"))
    assert _text(TableLines(table), 40) == _text(table, 40)
    assert list(TableLines(table).__rich_console__(Console(), Console().options)) == [table]
