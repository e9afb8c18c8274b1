"""The layered graph of neuron-to-neuron contributions: columns are layers, lines are weights."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from cnnlens.attribution.contributions import ContributionGraph

POSITIVE, NEGATIVE = "#c0392b", "#2c6fbb"
NODE_POINTS = 34  # a node's diameter in points: its two label lines fit inside
LABEL_POINTS = 7.5  # the labels' font size


def _contribution_figure(graph: ContributionGraph, title: str = "") -> Figure:
    """The graph in a Figure of its own (see `draw_contributions`)."""
    tallest = max((len(units) for units in graph.nodes), default=1)
    height = max(4.6, 0.55 * (tallest + 1) + 1.2)  # room for every circle of the fullest column
    figure = Figure(figsize=(2.4 * len(graph.layers) + 1, height), dpi=90)
    draw_contributions(figure.add_subplot(), graph, title)
    figure.tight_layout()
    return figure


def draw_contributions(axes: Axes, graph: ContributionGraph, title: str = "") -> None:
    """Draw the contribution graph: labelled unit circles in one column per layer, edge lines.

    Each circle shows the unit index over its mean activation; each edge's width follows
    |contribution|, red for positive, blue for negative, as the legend under the graph says. Circles
    are NODE_POINTS across: give the axes about 0.55 inch of height per unit of the fullest column.
    """
    places = {}
    for column, units in enumerate(graph.nodes):
        ordered = sorted(units)
        for row, unit in enumerate(ordered):
            y = (row + 1) / (len(ordered) + 1)
            places[(column, unit)] = (column, y)
            axes.scatter(
                [column], [y], s=NODE_POINTS**2, color="white", edgecolor="black", zorder=3
            )
            axes.annotate(
                f"{unit}\n{units[unit]:.2f}",
                (column, y),
                ha="center",
                va="center",
                fontsize=LABEL_POINTS,
                linespacing=1.0,
                zorder=4,
            )
    strongest = max((abs(w) for *_, w in graph.edges), default=1.0) or 1.0
    for column, source, target, weight in graph.edges:
        (x0, y0), (x1, y1) = places[(column, source)], places[(column + 1, target)]
        axes.plot(
            [x0, x1],
            [y0, y1],
            color=POSITIVE if weight > 0 else NEGATIVE,
            linewidth=0.5 + 4 * abs(weight) / strongest,
            alpha=0.8,
            zorder=1,
        )
    axes.set_xticks(range(len(graph.layers)), graph.layers, fontsize=8)
    axes.set_yticks([])
    axes.set_xlim(-0.5, len(graph.layers) - 0.5)
    axes.set_ylim(0, 1)
    for side in ("left", "right", "top"):
        axes.spines[side].set_visible(False)
    axes.set_title(title, fontsize=9)
    axes.legend(
        handles=[
            Line2D([], [], color=POSITIVE, linewidth=2.5, label="positive contribution (excites)"),
            Line2D([], [], color=NEGATIVE, linewidth=2.5, label="negative contribution (inhibits)"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.08),
        ncol=2,
        fontsize=8,
        frameon=False,
    )
