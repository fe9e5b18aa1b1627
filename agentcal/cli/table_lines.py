"""A Listing's Rich table drawn line by line: the same output as Rich's own renderer, at a
fraction of its cost for long lists.

Rich renders every cell of a table through its whole pipeline (a Padding around the cell, a
wrap, a measure, cropping and shaping the lines), about 0.3 ms a cell: 300 events took ~120 ms
to print. A Listing's cells are Text with a few fixed settings (no edge, no row styles, top
alignment), and most of them fit their column on one line. So the column widths come from
Rich's own calculation (on a proxy table holding only the widest cell of each column, which
measures the same), a cell that fits is padded directly, and only a cell that must wrap or be
cut goes through `Text.wrap`, as Rich would do it. A table with anything else is drawn by
Rich itself. tests/cli/test_table_lines.py compares both outputs, characters and styles.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions
    from rich.table import Table
    from rich.text import Text


class TableLines:
    """Renders `table` (a Listing's) as Rich would, without Rich's per-cell pipeline."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Any]:
        from rich.segment import Segment
        from rich.style import Style

        t = self.table
        if not _supported(t):
            yield t
            return
        max_width = options.max_width - t._extra_width
        widths = _proxy(t)._calculate_column_widths(console, options.update_width(max_width))
        table_width = sum(widths) + t._extra_width
        if t.title:
            title = console.render_str(
                str(t.title), style=Style.pick_first(t.title_style, "table.title"), highlight=False
            )
            yield from console.render(
                title,
                options.update(width=table_width, highlight=t.highlight, height=None).update(
                    justify=t.title_justify
                ),
            )
        get_style = console.get_style
        header_style = get_style(t.header_style or "")
        last = len(t.columns) - 1
        # Right padding of each column (the left one is 0: no edge padding, and collapsed).
        pads = [0 if i == last else t.padding[1] for i in range(len(t.columns))]
        assert t.box is not None
        box = t.box.substitute(options, safe=console.safe_box)
        border = get_style(t.border_style or "")
        new_line = Segment.line()
        cell_options = options.update(width=table_width, highlight=t.highlight, height=None)

        def row_lines(
            cells: list[tuple[Text, Style]], header: bool, vertical: str
        ) -> Iterator[Segment]:
            divider = Segment(vertical, border)
            shaped: list[list[list[Segment]]] = []
            for i, (text, style) in enumerate(cells):
                width, col = widths[i] - pads[i], t.columns[i]
                shaped.append(_cell_lines(console, cell_options, text, style, width, pads[i], col))
            height = max(len(lines) for lines in shaped)
            for i, lines in enumerate(shaped):
                if len(lines) < height:
                    blank = [Segment(" " * widths[i], cells[i][1])]
                    missing = [blank] * (height - len(lines))
                    shaped[i] = missing + lines if header else lines + missing
            for n in range(height):
                for i, lines in enumerate(shaped):
                    yield from lines[n]
                    if i != last:
                        yield divider
                yield new_line

        if t.show_header:
            styles = [header_style + get_style(c.header_style or "") for c in t.columns]
            heads = [
                (console.render_str(str(c.header), highlight=False), s)
                for c, s in zip(t.columns, styles, strict=True)
            ]
            yield from row_lines(heads, True, box.head_vertical)
            yield Segment(box.get_row(widths, "head", edge=False), border)
            yield new_line
        column_styles = [get_style(c.style or "") for c in t.columns]
        rows = list(zip(*(c._cells for c in t.columns), strict=True))
        for n, row in enumerate(rows):
            # Rich's dividers: the head's on the first line drawn, the foot's on the last.
            first, final = n == 0 and not t.show_header, n == len(rows) - 1
            vertical = (
                box.head_vertical if first else (box.foot_vertical if final else box.mid_vertical)
            )
            yield from row_lines(list(zip(row, column_styles, strict=True)), False, vertical)


def _supported(t: Table) -> bool:
    """The settings a Listing gives its table: the only ones drawn here."""
    from rich.text import Text

    return (
        t.box is not None
        and not t.show_edge
        and not t.pad_edge
        and t.collapse_padding
        and t.padding == (0, 1, 0, 1)
        and not (t.show_footer or t.show_lines or t.leading or t.row_styles or t.expand)
        and t.width is None
        and t.min_width is None
        and not t.caption
        and t.safe_box is None
        and t.style in (None, "", "none")
        and not any(r.style or r.end_section for r in t.rows)
        and all(c.vertical == "top" and c.width is None and not c.ratio for c in t.columns)
        and all(isinstance(cell, Text) for c in t.columns for cell in c._cells)
        and all(isinstance(c.header, str) for c in t.columns)
    )


def _measure(text: Text) -> tuple[int, int]:
    """Rich's measurement of a Text: (longest word, longest line)."""
    from rich.cells import cell_len

    plain = text.plain
    lines = plain.splitlines()
    longest = max((cell_len(line) for line in lines), default=0)
    words = plain.split()
    return (max(cell_len(w) for w in words) if words else longest), longest


def _proxy(t: Table) -> Table:
    """A copy of `t`'s columns holding only each column's cells of greatest minimum and
    maximum width: Rich's column widths depend on nothing else."""
    from copy import copy

    from rich.text import Text

    proxy = copy(t)
    proxy.columns = []
    proxy.rows = []
    for col in t.columns:
        widest: list[Text] = []
        if col._cells:
            sizes = [_measure(cell) for cell in col._cells]  # type: ignore[arg-type]
            widest_min = max(range(len(sizes)), key=lambda i: sizes[i][0])
            widest_max = max(range(len(sizes)), key=lambda i: sizes[i][1])
            widest = [col._cells[widest_min], col._cells[widest_max]]  # type: ignore[list-item]
        c = copy(col)
        c._cells = list(widest)
        proxy.columns.append(c)
    n = max((len(c._cells) for c in proxy.columns), default=0)
    for c in proxy.columns:  # every column the same number of cells (an empty Text measures 0)
        c._cells += [Text("")] * (n - len(c._cells))
    return proxy


def _cell_lines(
    console: Console,
    options: ConsoleOptions,
    text: Text,
    style: Any,
    width: int,
    pad: int,
    col: Any,
) -> list[list[Any]]:
    """One cell as lines of segments, `width` + `pad` wide, as Rich's table draws it."""
    from rich.cells import cell_len
    from rich.segment import Segment

    plain = text.plain
    if "\n" not in plain and "\t" not in plain and cell_len(plain) <= width and width > 0:
        # Fits on one line: Rich would only pad it (after the justification).
        gap = width - cell_len(plain)
        line = list(Segment.apply_style(text.render(console), style))
        fill = Segment(" " * gap, style) if gap else None
        if col.justify == "right":
            out = ([fill] if fill else []) + line
        elif col.justify == "center" and gap:
            left = gap // 2
            out = [Segment(" " * left, style), *line, Segment(" " * (gap - left), style)]
        else:
            out = line + ([fill] if fill else [])
        if pad:
            out.append(Segment(" " * pad, style))
        return [out]
    options = options.update(
        width=width, justify=col.justify, no_wrap=col.no_wrap, overflow=col.overflow,
        height=None, highlight=col.highlight,
    )  # fmt: skip
    lines = console.render_lines(text, options, style=style)
    if pad:
        lines = [[*line, Segment(" " * pad, style)] for line in lines]
    return lines
