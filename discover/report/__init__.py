"""Reports of a result: report.html (self-contained), report.md and the figures as PNG files.

    from discover.report import write_reports
    write_reports(result, "out/", data="runs.csv")   # or a DataFrame, or None

``data`` is the table of runs the result was fitted on; results.json does not
hold it. Without it the report still shows the leaderboard, the Pareto front
and forecasts along the compute-optimal frontier, and says what it left out.
All files are written atomically (temp file + rename).
"""

from __future__ import annotations

from pathlib import Path

from ..law import register_plotter
from ..result import Result, register_views, write_text_atomic
from .build import Report, build_report, plot
from .figures import law_figure, write_bytes_atomic
from .html import render_html
from .markdown import render_markdown
from .notebook import result_html

register_plotter(law_figure)
register_views(plot, result_html)

FIGURE_DIR = "figures"


def write_reports(result: Result, out_dir, data=None, *, level: float = 0.95) -> dict:
    """Write report.html, report.md and figures/*.png into ``out_dir``; return their paths and notes."""
    if isinstance(result, (str, Path)):
        result = Result.from_json(result)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rep = build_report(result, data, level=level)
    fig_paths = {}
    for f in rep.figures:
        rel = f"{FIGURE_DIR}/{f.name}.png"
        write_bytes_atomic(out / rel, f.png)
        fig_paths[f.name] = rel
    html_path = write_text_atomic(out / "report.html", render_html(rep))
    md_path = write_text_atomic(out / "report.md", render_markdown(rep, fig_paths))
    for f in rep.figures:
        f.close()
    return {"html": str(html_path), "markdown": str(md_path),
            "figures": [str(out / p) for p in fig_paths.values()], "notes": list(rep.notes)}


__all__ = ["write_reports", "build_report", "plot", "Report", "render_html", "render_markdown"]
