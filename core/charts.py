"""The dashboard's picture: recent run durations per job, as server-side SVG.

Pure: plain values in, SVG text out (no Django, no clock). Colours are CSS
classes (``bar status-success``) so that portal.css is the one place that says
what Success, Failed, Running and Aborted look like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

LABEL_WIDTH = 200
SLOT = 16  # one run: a 12 px bar and a 4 px gap
BAR = 12
SCALE_WIDTH = 120
ROW_HEIGHT = 34
BAR_AREA = 24
TOP = 22
LABEL_CHARS = 26


@dataclass(frozen=True)
class Bar:
    seconds: float  # so far, for a run still going
    status: str
    title: str  # the tooltip: run id, status, duration
    href: str = ""


@dataclass(frozen=True)
class Row:
    name: str
    bars: Sequence[Bar]  # oldest first
    href: str = ""


def duration_text(seconds: float) -> str:
    """``850 ms``, ``12.3 s``, ``4 min 5 s``, ``2 h 3 min``."""
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def duration_chart(rows: Sequence[Row], *, slots: int = 30) -> str:
    """One line per job: its last ``slots`` runs as bars, newest on the right,
    height relative to that job's longest run (jobs differ by orders of
    magnitude, so one shared scale would flatten the short ones)."""
    width = LABEL_WIDTH + slots * SLOT + SCALE_WIDTH
    height = TOP + max(len(rows), 1) * ROW_HEIGHT + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="portal-chart" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="Duration of the recent runs of each job">',
        f'<text class="quiet" x="{LABEL_WIDTH}" y="14">older</text>',
        f'<text class="quiet" x="{LABEL_WIDTH + slots * SLOT - 4}" y="14" '
        f'text-anchor="end">newest</text>',
    ]
    if not rows:
        parts.append(f'<text class="quiet" x="0" y="{TOP + 20}">No runs yet.</text>')
    for index, row in enumerate(rows):
        parts.extend(_row(row, top=TOP + index * ROW_HEIGHT, slots=slots))
    parts.append("</svg>")
    return "".join(parts)


def _row(row: Row, *, top: int, slots: int) -> list[str]:
    base = top + BAR_AREA + 2
    label = _link(
        row.href,
        f'<text x="0" y="{base - 6}"><title>{escape(row.name)}</title>'
        f"{escape(_shorten(row.name))}</text>",
    )
    parts = [
        label,
        f'<line class="axis" x1="{LABEL_WIDTH}" x2="{LABEL_WIDTH + slots * SLOT - 4}" '
        f'y1="{base + 0.5}" y2="{base + 0.5}"/>',
    ]
    bars = list(row.bars)[-slots:]
    if not bars:
        parts.append(
            f'<text class="quiet" x="{LABEL_WIDTH}" y="{base - 6}">no runs yet</text>'
        )
        return parts
    longest = max(bar.seconds for bar in bars) or 1.0
    first_slot = slots - len(bars)
    for offset, bar in enumerate(bars):
        size = max(2, round(BAR_AREA * bar.seconds / longest))
        x = LABEL_WIDTH + (first_slot + offset) * SLOT
        rect = (
            f'<rect class="bar status-{escape(bar.status.lower())}" x="{x}" '
            f'y="{base - size}" width="{BAR}" height="{size}" rx="1">'
            f"<title>{escape(bar.title)}</title></rect>"
        )
        parts.append(_link(bar.href, rect))
    parts.append(
        f'<text class="quiet" x="{LABEL_WIDTH + slots * SLOT + 6}" y="{base - 6}">'
        f"max {escape(duration_text(longest))}</text>"
    )
    return parts


def _link(href: str, inner: str) -> str:
    return f'<a href="{escape(href)}">{inner}</a>' if href else inner


def _shorten(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"
