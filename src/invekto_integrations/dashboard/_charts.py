"""Charts: a `Chart` spec drawn by matplotlib and returned as inline SVG markup.

The object API (`Figure`, no pyplot) keeps no global state, so rendering is safe from any
thread. Text stays text (``svg.fonttype = none``: small files, the browser's fonts), ids are
salted with the chart key (several charts share one page without clashing clip paths), and the
file carries no date, so the same data gives the same bytes. The SVG scales to its container
(width 100 %, viewBox kept), which keeps it readable on a phone.
"""

from __future__ import annotations

import html
import io
import re

from ._base import Chart

__all__ = ["chart_svg"]

_PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#f59e0b", "#7c3aed", "#0891b2", "#db2777", "#65a30d"]
_SIZE = re.compile(r'<svg([^>]*?) width="[^"]*" height="[^"]*"')


def _fmt(value: float, kind: str) -> str:
    if kind == "money":
        return f"{value:,.0f}".replace(",", ".")
    if kind == "percent":
        return f"%{value * 100:.0f}"
    if kind == "rating":
        return f"{value:.2f}"
    return f"{value:,.0f}".replace(",", ".") if value == int(value) else f"{value:.1f}"


def chart_svg(chart: Chart) -> str:
    """The chart as an ``<svg>`` element (no XML prolog), ready to inline in HTML."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": chart.key, "font.size": 9,
                                "font.family": "DejaVu Sans", "axes.spines.top": False,
                                "axes.spines.right": False}):
        fig = Figure(figsize=(6.4, 3.4), dpi=100)
        ax = fig.add_subplot()
        cats = chart.categories
        series = [[float(v) for v in s.values] for s in chart.series]
        labels = [str(s.label) for s in chart.series]
        fmt = FuncFormatter(lambda v, _pos: _fmt(v, chart.value_format))
        if chart.kind == "pie":
            values = series[0]
            shown = [(c, v, _PALETTE[i % len(_PALETTE)]) for i, (c, v) in enumerate(zip(cats, values, strict=True))
                     if v > 0]
            total = sum(v for _, v, _ in shown)
            wedges, _texts, _autotexts = ax.pie(
                [v for _, v, _ in shown], colors=[k for _, _, k in shown], startangle=90, counterclock=False,
                autopct=lambda p: f"%{p:.0f}" if p >= 5 else "", pctdistance=0.78,
                wedgeprops={"width": 0.45, "edgecolor": "white"}, textprops={"fontsize": 8, "color": "white"})
            # Names go to a legend (small slices' labels would overlap round the ring).
            ax.legend(wedges, [f"{c} ({_fmt(v, chart.value_format)}, %{100 * v / total:.0f})" for c, v, _ in shown],
                      loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
            ax.set_aspect("equal")
        elif chart.kind == "line":
            x = list(range(len(cats)))
            for i, (values, label) in enumerate(zip(series, labels, strict=True)):
                ax.plot(x, values, marker="o", markersize=3, linewidth=1.8, color=_PALETTE[i % len(_PALETTE)],
                        label=label)
            step = max(1, len(cats) // 8)
            ax.set_xticks(x[::step], [c[5:] if len(c) == 10 else c for c in cats[::step]])
            ax.yaxis.set_major_formatter(fmt)
            ax.set_ylim(bottom=0)
            ax.grid(axis="y", alpha=0.3)
        elif chart.kind == "barh":
            n = len(series)
            height = 0.8 / n
            for i, (values, label) in enumerate(zip(series, labels, strict=True)):
                y = [k + (i - (n - 1) / 2) * height for k in range(len(cats))]
                bars = ax.barh(y, values, height=height, color=_PALETTE[i % len(_PALETTE)], label=label)
                ax.bar_label(bars, labels=[_fmt(v, chart.value_format) for v in values], padding=2, fontsize=8)
            ax.set_yticks(range(len(cats)), cats)
            ax.invert_yaxis()
            ax.xaxis.set_major_formatter(fmt)
        else:  # bar, stacked
            x = list(range(len(cats)))
            n = len(series)
            bottom = [0.0] * len(cats)
            width = 0.8 if chart.kind == "stacked" else 0.8 / n
            for i, (values, label) in enumerate(zip(series, labels, strict=True)):
                if chart.kind == "stacked":
                    ax.bar(x, values, width=width, bottom=bottom, color=_PALETTE[i % len(_PALETTE)], label=label)
                    bottom = [b + v for b, v in zip(bottom, values, strict=True)]
                else:
                    pos = [k + (i - (n - 1) / 2) * width for k in x]
                    bars = ax.bar(pos, values, width=width, color=_PALETTE[i % len(_PALETTE)], label=label)
                    ax.bar_label(bars, labels=[_fmt(v, chart.value_format) for v in values], padding=2, fontsize=8)
            step = max(1, len(cats) // 10)
            ax.set_xticks(x[::step], [c[5:] if len(c) == 10 and c[4] == "-" else c for c in cats[::step]])
            ax.yaxis.set_major_formatter(fmt)
            ax.grid(axis="y", alpha=0.3)
        if chart.value_format == "count" and chart.kind != "pie":
            axis = ax.xaxis if chart.kind == "barh" else ax.yaxis
            axis.set_major_locator(MaxNLocator(integer=True))
        if len(chart.series) > 1 and chart.kind != "pie":
            # Below the axes: inside them it hides bars and line ends.
            ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12),
                      ncol=len(chart.series))
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = _SIZE.sub(r'<svg\1 width="100%"', svg, count=1)
    label = html.escape(str(chart.title), quote=True)
    return svg.replace("<svg", f'<svg role="img" aria-label="{label}"', 1)
