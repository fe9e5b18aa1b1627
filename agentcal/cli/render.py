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

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Column kinds. "id", "date", "number" and "tag" are never cut; "title" wraps; "text" is cut.
KINDS = ("id", "date", "number", "tag", "title", "text")
TITLE_MIN = 12  # a title column never gets narrower than this
TITLE_WANT = 32  # optional columns go before a title is squeezed below its width (or this)
TEXT_MIN = 10
GAP = 2  # between two columns (no box, one space of padding on each side)


@dataclass
class Column:
    header: str
    kind: str
    optional: int = 0  # 0: always shown; otherwise dropped when too narrow, 1 first
    style: str | None = None
    want: int = 0  # text: the width worth dropping optional columns for (default TEXT_MIN)


@dataclass
class Listing:
    columns: list[Column] = field(default_factory=list)
    rows: list[tuple[list[str], str | None]] = field(default_factory=list)
    title: str | None = None

    def column(
        self, header: str, kind: str, *, optional: int = 0, style: str | None = None, want: int = 0
    ) -> None:
        assert kind in KINDS, kind
        self.columns.append(Column(header, kind, optional, style, want))

    def row(self, *cells: str, note: str | None = None) -> None:
        """Cells are Rich markup (escape user text with `_common.escape`)."""
        assert len(cells) == len(self.columns)
        self.rows.append((list(cells), note))

    def _widest(self, col: int) -> int:
        from rich.text import Text

        cells = [self.columns[col].header] + [cells[col] for cells, _ in self.rows]
        return max(Text.from_markup(c, emoji=False).cell_len for c in cells)

    def shown(self, width: int) -> list[int]:
        """Indexes of the columns that fit in `width`, dropping optional ones as needed."""
        widest = [self._widest(i) for i in range(len(self.columns))]

        def need(col: int) -> int:
            kind = self.columns[col].kind
            if kind == "title":
                return min(widest[col], TITLE_WANT)
            if kind == "text":
                return min(widest[col], self.columns[col].want or TEXT_MIN)
            return widest[col]

        keep = list(range(len(self.columns)))

        def fits(cols: list[int]) -> bool:
            return sum(need(i) for i in cols) + GAP * (len(cols) - 1) <= width

        order = sorted((c.optional, i) for i, c in enumerate(self.columns) if c.optional)
        dropped = []
        for _, i in order:
            if fits(keep):
                break
            keep.remove(i)
            dropped.append(i)
        for i in reversed(dropped[:-1]):  # a later drop may have made room for an earlier one
            if fits(sorted([*keep, i])):
                keep = sorted([*keep, i])
        return keep

    def renderable(self, width: int) -> Any:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        keep = self.shown(width)
        fixed = [i for i in keep if self.columns[i].kind not in ("title", "text")]
        titles = [i for i in keep if self.columns[i].kind == "title"]
        texts = [i for i in keep if self.columns[i].kind == "text"]
        # Free text gets what the other columns leave (titles at their width, up to TITLE_WANT).
        left = width - GAP * (len(keep) - 1) - sum(self._widest(i) for i in fixed)
        left -= sum(min(self._widest(i), TITLE_WANT) for i in titles)
        share = max(TEXT_MIN, left // len(texts)) if texts else 0
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1),
                      header_style="bold", title=self.title, collapse_padding=True)  # fmt: skip
        for i in keep:
            c = self.columns[i]
            if c.kind == "title":
                table.add_column(c.header, min_width=min(TITLE_MIN, self._widest(i)),
                                 overflow="fold", style=c.style)  # fmt: skip
            elif c.kind == "text":
                table.add_column(c.header, no_wrap=True, overflow="ellipsis", style=c.style,
                                 max_width=min(share, self._widest(i)))  # fmt: skip
            else:
                right = c.kind in ("id", "number")
                table.add_column(c.header, no_wrap=True, justify="right" if right else "left",
                                 style=c.style, min_width=self._widest(i))  # fmt: skip
        title_col = titles[0] if titles else None
        for cells, note in self.rows:
            out: list[Any] = []
            for i in keep:
                cell = Text.from_markup(cells[i], emoji=False)
                if note and i == title_col:
                    cell.append("\n")
                    cell.append_text(Text.from_markup(note, style="dim", emoji=False))
                out.append(cell)
            table.add_row(*out)
        return table

    def print(self, console: Any) -> None:
        from agentcal.cli.table_lines import TableLines

        console.print(TableLines(self.renderable(console.width)))


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


_TIMED_KEYS = ("title", "days", "time", "duration_minutes", "duration", "flexible")


def insight_value(value: Any) -> str:
    """An insight's value for people: {"time": "06:00", "duration_minutes": 60, "days":
    [1, 2, 3, 4, 5]} is "weekdays 06:00, 60 min"; {"title": "Lunch", "time": "13:00",
    "flexible": true} is "Lunch ~13:00". JSON stays for --json and `insights show`."""
    if isinstance(value, dict) and isinstance(value.get("time"), str):
        from agentcal.validation import format_days

        days = value.get("days")
        if isinstance(days, list) and all(isinstance(d, int) for d in days):
            days = format_days(sorted(days))
        at = ("~" if value.get("flexible") is True else "") + value["time"]
        head = " ".join(str(x) for x in (value.get("title"), days, at) if x)
        minutes = value.get("duration_minutes", value.get("duration"))
        parts = [head] + ([f"{minutes} min"] if minutes is not None else [])
        parts += [f"{k.replace('_', ' ')} {insight_value(v)}" for k, v in value.items()
                  if k not in _TIMED_KEYS]  # fmt: skip
        return ", ".join(parts)
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')} {insight_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(insight_value(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    return str(value)


@contextmanager
def progress(console: Any, description: str) -> Iterator[Callable[[int, int | None], None] | None]:
    """A transient progress bar for long work, on a terminal only: piped, it is None and
    nothing is printed (a Rich progress would still print an empty line). The callback takes
    the amount done and, when known, the total."""
    if not console.is_terminal:
        yield None
        return
    from rich.progress import Progress

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None = None) -> None:
            if total is None:
                bar.update(task, completed=done)
            else:
                bar.update(task, completed=min(done, total), total=total)

        yield update
