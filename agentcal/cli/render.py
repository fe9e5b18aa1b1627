"""Tables that read well at 80 columns and use more width when there is more.

Every list command builds a `Listing`: columns of a kind, rows of plain strings. At print time
it measures the cells: the columns that must never be cut (ids, dates, numbers and money, tags
such as a state) keep their full width; the title takes what is left and wraps rather than
losing its end; free text (a message, a payload, an error) is cut with an ellipsis; and when
even that does not fit, the optional columns are dropped, least useful first. A row's note is
folded into a second, dim line under its title instead of squeezing a column of its own.

Short forms for the cells: `when()` gives "12-02 04:28" (this year) or "2025-12-02",
`money()` "$0.0003", `model()` drops a provider prefix, `duration()` "1.2 s".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Column kinds. "id", "date", "number" and "tag" are never cut; "title" wraps; "text" is cut.
KINDS = ("id", "date", "number", "tag", "title", "text")
TITLE_MIN = 12
TEXT_MIN = 10
GAP = 2  # between two columns (no box, one space of padding on each side)


@dataclass
class Column:
    header: str
    kind: str
    optional: int = 0  # 0: always shown; otherwise dropped when too narrow, 1 first
    style: str | None = None


@dataclass
class Listing:
    columns: list[Column] = field(default_factory=list)
    rows: list[tuple[list[str], str | None]] = field(default_factory=list)
    title: str | None = None

    def column(
        self, header: str, kind: str, *, optional: int = 0, style: str | None = None
    ) -> None:
        assert kind in KINDS, kind
        self.columns.append(Column(header, kind, optional, style))

    def row(self, *cells: str, note: str | None = None) -> None:
        """Cells are Rich markup (escape user text with `_common.escape`)."""
        assert len(cells) == len(self.columns)
        self.rows.append((list(cells), note))

    def shown(self, width: int) -> list[int]:
        """Indexes of the columns that fit in `width`, dropping optional ones as needed."""
        from rich.text import Text

        def need(col: int) -> int:
            kind = self.columns[col].kind
            widest = max(
                [Text.from_markup(self.columns[col].header).cell_len]
                + [Text.from_markup(cells[col]).cell_len for cells, _ in self.rows]
            )
            if kind == "title":
                return min(widest, TITLE_MIN)
            if kind == "text":
                return min(widest, TEXT_MIN)
            return widest

        keep = list(range(len(self.columns)))
        widths = {i: need(i) for i in keep}
        droppable = sorted((c.optional, -i) for i, c in enumerate(self.columns) if c.optional)
        while sum(widths[i] for i in keep) + GAP * (len(keep) - 1) > width and droppable:
            _, neg = droppable.pop(0)
            keep.remove(-neg)
        return keep

    def renderable(self, width: int) -> Any:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        keep = self.shown(width)
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1),
                      header_style="bold", title=self.title, collapse_padding=True)  # fmt: skip
        for i in keep:
            c = self.columns[i]
            if c.kind == "title":
                table.add_column(c.header, ratio=1, min_width=TITLE_MIN, overflow="fold",
                                 style=c.style)  # fmt: skip
            elif c.kind == "text":
                table.add_column(c.header, ratio=1, min_width=TEXT_MIN, no_wrap=True,
                                 overflow="ellipsis", style=c.style)  # fmt: skip
            else:
                right = c.kind in ("id", "number")
                table.add_column(c.header, no_wrap=True, justify="right" if right else "left",
                                 style=c.style)  # fmt: skip
        title_col = next((i for i in keep if self.columns[i].kind == "title"), None)
        for cells, note in self.rows:
            out: list[Any] = []
            for i in keep:
                cell = Text.from_markup(cells[i])
                if note and i == title_col:
                    cell.append("\n")
                    cell.append_text(Text.from_markup(note, style="dim"))
                out.append(cell)
            table.add_row(*out)
        return table

    def print(self, console: Any) -> None:
        console.print(self.renderable(console.width))


def when(value: datetime | None, tz: str | None = None) -> str:
    """'12-02 04:28' for a time this year (local), '2025-12-02' for an older one."""
    if value is None:
        return "-"
    from agentcal.cli._common import local_time

    local = local_time(value, tz, "%Y-%m-%d %H:%M")
    from datetime import date

    if local[:4] == str(date.today().year):
        return local[5:]
    return local[:10]


def money(value: float | None, unpriced: str = "-") -> str:
    """'$0.0003': four decimals below a dollar (never '$0.0000' for a real cost), two above."""
    if value is None:
        return unpriced
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    if abs(value) < 0.0001:
        return "<$0.0001"
    return f"${value:.4f}"


def model(name: str | None) -> str:
    """'openai/gpt-4o-mini' -> 'gpt-4o-mini'."""
    if not name:
        return "-"
    return name.rsplit("/", 1)[-1]


def duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"
