"""Geometry of the competency profile chart, drawn as inline SVG by a template (no JS)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 110
RIGHT_MARGIN = 20
TOP = 28
ROW_HEIGHT = 26
BAR_HEIGHT = 16
AXIS_SPACE = 22


@dataclass(frozen=True)
class Bar:
    label: str
    title: str
    y: float
    width: float
    level: str  # what the bar's tooltip says
    proficient: bool


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    plot_width: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    proficient_x: float
    proficient_label: str
    bar_height: int = BAR_HEIGHT
    top: int = TOP


def bar_chart(
    rows: list[tuple[str, str, int, str, bool]],
    ranks: list[tuple[int, str]],
    proficient_rank: int,
    proficient_label: str,
) -> Chart:
    """Lay out bars of ``(label, title, rank or 0, level text, proficient)`` on a level axis.

    ``ranks`` are the scale's ``(rank, name)`` lowest first; a bar reaches the
    position of its level's rank, and a line marks the proficient level.
    """
    plot = WIDTH - LABEL_WIDTH - RIGHT_MARGIN
    top_rank = max((rank for rank, _name in ranks), default=1) or 1

    def x(rank: int) -> float:
        return round(LABEL_WIDTH + plot * rank / top_rank, 1)

    bars = tuple(
        Bar(
            label=label,
            title=title,
            y=TOP + n * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2,
            width=round(plot * rank / top_rank, 1),
            level=level,
            proficient=proficient,
        )
        for n, (label, title, rank, level, proficient) in enumerate(rows)
    )
    ticks = tuple(Tick(x(rank), str(rank)) for rank, _name in ranks)
    height = TOP + max(len(rows), 1) * ROW_HEIGHT + AXIS_SPACE
    return Chart(
        width=WIDTH,
        height=height,
        left=LABEL_WIDTH,
        plot_width=plot,
        bars=bars,
        ticks=ticks,
        proficient_x=x(proficient_rank),
        proficient_label=proficient_label,
    )
