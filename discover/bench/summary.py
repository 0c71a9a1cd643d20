"""Benchmark tables: one row per cell, per task and per engine; CSV, Markdown, terminal.

* ``summary_cells.csv`` — every cell's row (task, engine, seed, budget, test
  R², test RMSE of log target, recovered, complexity, wall time, peak memory,
  best catalog law's test R², beat_catalog, status, error, ...);
* ``summary_tasks.csv`` — per task and engine, means over seeds, beside the
  best catalog law refit on the same rows and the best catalog law with its
  published constants;
* ``summary_engines.csv`` — per engine: mean and median over tasks of the
  test R² (each task's mean over seeds), recovery rate on tasks with a known
  truth, how many tasks beat the best catalog law;
* ``summary.md`` — the three tables in Markdown.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..result import write_text_atomic

CELL_COLUMNS = ["task", "engine", "seed", "budget", "status", "test_r2", "test_rmse_log", "test_rmse", "recovered",
                "truth_found", "truth_found_engine", "truth_val_rank", "truth_val_z",
                "complexity", "n_constants", "law", "provenance", "catalog_r2", "catalog_law", "beat_catalog",
                "published_r2", "catalog_pick", "catalog_pick_test", "oracle_law", "oracle_test", "regret",
                "vs_catalog_ratio", "vs_catalog_z", "vs_catalog_p", "loses_to_catalog", "selection_rule", "wall_s", "engine_s", "n_tried", "n_laws", "peak_rss_mb", "rss_scope", "noise",
                "rows", "formula", "error", "key", "host", "pid"]
TASK_COLUMNS = ["task", "engine", "seeds", "ok", "test_r2", "test_r2_min", "catalog_r2", "published_r2", "beat_catalog",
                "test_err", "catalog_pick_test", "vs_catalog_ratio", "loses_to_catalog", "regret",
                "recovered", "found", "complexity", "wall_s", "law"]
ENGINE_COLUMNS = ["engine", "cells", "ok", "failed", "tasks", "mean_test_r2", "median_test_r2", "median_regret",
                  "lose_to_catalog_tasks", "recovery_rate",
                  "recovered_cells", "truth_cells", "found_rate", "engine_found_rate", "beat_catalog_tasks",
                  "catalog_picked", "mean_wall_s", "max_peak_rss_mb"]


def cells_frame(rows: Sequence[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    for c in CELL_COLUMNS:
        if c not in frame.columns:
            frame[c] = None
    extra = [c for c in frame.columns if c not in CELL_COLUMNS]
    return frame[CELL_COLUMNS + extra]


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def tasks_frame(cells: pd.DataFrame) -> pd.DataFrame:
    """Per task and engine: means over seeds of the finished cells."""
    out = []
    for (task, engine), g in cells.groupby(["task", "engine"], sort=False):
        ok = g[g["status"] == "ok"]
        r2 = _num(ok["test_r2"])
        cat = _num(ok["catalog_r2"])
        m, c = _mean(r2), _mean(cat)
        out.append({
            "task": task, "engine": engine, "seeds": len(g), "ok": len(ok),
            "test_r2": m, "test_r2_min": float(r2.min()) if r2.notna().any() else math.nan,
            "catalog_r2": c, "published_r2": _mean(_num(g["published_r2"])),
            "beat_catalog": (bool(m > c) if math.isfinite(m) and math.isfinite(c) else None),
            "test_err": _mean(_num(ok["test_rmse_log"]).where(_num(ok["test_rmse_log"]).notna(), _num(ok["test_rmse"]))),
            "catalog_pick_test": _mean(_num(ok["catalog_pick_test"])),
            "vs_catalog_ratio": _mean(_num(ok["vs_catalog_ratio"])),
            "loses_to_catalog": _any(ok["loses_to_catalog"]),
            "regret": _mean(_num(ok["regret"])),
            "recovered": _share(ok["recovered"]), "found": _share(ok["truth_found"]),
            "complexity": _mean(_num(ok["complexity"])), "wall_s": _mean(_num(ok["wall_s"])),
            "law": _mode(ok["formula"]),
        })
    return pd.DataFrame(out, columns=TASK_COLUMNS)


def engines_frame(cells: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    out = []
    for engine, g in cells.groupby("engine", sort=False):
        t = tasks[tasks["engine"] == engine]
        r2 = _num(t["test_r2"]).dropna()
        truth = g[(g["status"] == "ok") & g["recovered"].notna()]
        n_rec = int(truth["recovered"].astype(bool).sum()) if len(truth) else 0
        beat = t["beat_catalog"].dropna()
        ok = g[g["status"] == "ok"]
        picked = ok["provenance"].dropna().astype(str)
        out.append({
            "engine": engine, "cells": len(g), "ok": int((g["status"] == "ok").sum()),
            "failed": int((g["status"] != "ok").sum()), "tasks": len(t),
            "mean_test_r2": float(r2.mean()) if len(r2) else math.nan,
            "median_test_r2": float(r2.median()) if len(r2) else math.nan,
            "median_regret": float(_num(t["regret"]).median()) if _num(t["regret"]).notna().any() else math.nan,
            "lose_to_catalog_tasks": f"{int(t['loses_to_catalog'].dropna().astype(bool).sum())}/"
                                     f"{int(t['loses_to_catalog'].notna().sum())}",
            "recovery_rate": (n_rec / len(truth)) if len(truth) else math.nan,
            "recovered_cells": n_rec, "truth_cells": len(truth),
            # the true form among the candidates at all (a miss there is the search's), and proposed by an engine
            "found_rate": _share(truth["truth_found"]), "engine_found_rate": _share(truth["truth_found_engine"]),
            "beat_catalog_tasks": f"{int(beat.astype(bool).sum())}/{len(beat)}",
            # share of finished cells whose recommended law is a catalog law (its recovery is the catalog's)
            "catalog_picked": float(picked.str.startswith("catalog").mean()) if len(picked) else math.nan,
            "mean_wall_s": _mean(_num(g["wall_s"])), "max_peak_rss_mb": float(_num(g["peak_rss_mb"]).max())
            if _num(g["peak_rss_mb"]).notna().any() else math.nan,
        })
    return pd.DataFrame(out, columns=ENGINE_COLUMNS)


def _share(s: pd.Series) -> float:
    """The share of true values among the known ones; NaN when none is known."""
    s = s.dropna()
    return float(s.astype(bool).mean()) if len(s) else math.nan


def _any(s: pd.Series):
    """True when any known value is true; None when none is known."""
    s = s.dropna()
    return bool(s.astype(bool).any()) if len(s) else None


def _mean(s: pd.Series) -> float:
    s = s.dropna()
    return float(s.mean()) if len(s) else math.nan


def _mode(s: pd.Series):
    s = s.dropna()
    return s.value_counts().index[0] if len(s) else None


def summarize(rows: Sequence[dict]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    cells = cells_frame(rows)
    if cells.empty:
        return cells, pd.DataFrame(columns=TASK_COLUMNS), pd.DataFrame(columns=ENGINE_COLUMNS)
    tasks = tasks_frame(cells)
    return cells, tasks, engines_frame(cells, tasks)


def write_summary(rows: Sequence[dict], out) -> dict:
    """Write the summary CSVs and Markdown under ``out``; return their paths."""
    out = Path(out)
    cells, tasks, engines = summarize(rows)
    files = {"cells": out / "summary_cells.csv", "tasks": out / "summary_tasks.csv",
             "engines": out / "summary_engines.csv", "markdown": out / "summary.md"}
    write_text_atomic(files["cells"], cells.to_csv(index=False))
    write_text_atomic(files["tasks"], tasks.to_csv(index=False))
    write_text_atomic(files["engines"], engines.to_csv(index=False))
    write_text_atomic(files["markdown"], markdown(cells, tasks, engines))
    return {k: str(v) for k, v in files.items()}


# -------------------------------------------------------------------- rendering
_TASK_VIEW = [("task", "task"), ("engine", "engine"), ("seeds", "seeds"), ("test_r2", "test R²"),
              ("catalog_r2", "catalog R² (refit)"), ("published_r2", "published R²"), ("beat_catalog", "beat"),
              ("test_err", "test err"), ("catalog_pick_test", "catalog pick err"), ("vs_catalog_ratio", "vs pick"),
              ("loses_to_catalog", "loses"), ("regret", "regret"),
              ("recovered", "recovered"), ("found", "found"), ("wall_s", "wall s")]
_ENGINE_VIEW = [("engine", "engine"), ("cells", "cells"), ("failed", "failed"), ("tasks", "tasks"),
                ("mean_test_r2", "mean R²"), ("median_test_r2", "median R²"), ("median_regret", "median regret"),
                ("lose_to_catalog_tasks", "lose to pick"), ("recovery_rate", "recovery"),
                ("found_rate", "found"), ("engine_found_rate", "found by engine"),
                ("beat_catalog_tasks", "beat catalog"), ("catalog_picked", "catalog picked"),
                ("mean_wall_s", "mean wall s"),
                ("max_peak_rss_mb", "peak MB")]
_CELL_VIEW = [("task", "task"), ("engine", "engine"), ("seed", "seed"), ("status", "status"), ("test_r2", "test R²"),
              ("test_rmse_log", "test RMSE log"), ("catalog_r2", "catalog R²"), ("recovered", "recovered"),
              ("truth_val_rank", "truth val rank"), ("truth_val_z", "truth val z"), ("complexity", "complexity"),
              ("wall_s", "wall s"), ("peak_rss_mb", "peak MB"), ("formula", "law")]


def _cell(v, key: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if key in ("recovered", "found") and isinstance(v, (float, np.floating)):
        return "yes" if v == 1 else ("no" if v == 0 else f"{v:.0%}")
    if key in ("recovery_rate", "catalog_picked", "found_rate", "engine_found_rate"):
        return f"{v:.0%}"
    if isinstance(v, (float, np.floating)):
        if key in ("complexity", "truth_val_rank"):
            return f"{v:.0f}"
        if key in ("wall_s", "mean_wall_s", "max_peak_rss_mb", "peak_rss_mb"):
            return f"{v:.1f}"
        if key in ("truth_val_z", "vs_catalog_ratio", "regret", "median_regret"):
            return f"{v:.2f}"
        return f"{v:.4f}"
    return str(v)


def _rows(frame: pd.DataFrame, view) -> tuple[list[str], list[list[str]]]:
    head = [h for _, h in view]
    body = [[_cell(r.get(k), k) for k, _ in view] for r in frame.to_dict("records")]
    return head, body


def _md_table(head, body) -> str:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def text_table(head, body, max_width: int = 60) -> str:
    body = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in row] for row in body]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(head)]
    fmt = lambda row: "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(r) for r in body])


def markdown(cells: pd.DataFrame, tasks: pd.DataFrame, engines: pd.DataFrame) -> str:
    parts = ["# Benchmark summary", "",
             "Test R² of the recommended law (chosen on validation rows only) beside the best catalog law "
             "refit on the same rows (the best by test R², an optimistic baseline) and the best catalog law "
             "with its published constants. Means over seeds. 'catalog picked' is the share of cells whose "
             "recommended law is a catalog law: a recovery there is the catalog's, not the engine's. "
             "'recovered': the recommended law's form is the true one — each form, refit, reproduces the "
             "other's curves on the task's inputs to 0.1 %, the recommended form at generic constants near "
             "those it was found with (discover.canon.equivalent). 'found': some candidate of the run, "
             "an engine's or the catalog's, has the true form, so a miss with 'found' is the selection's; "
             "'found by engine': an engine proposed it. 'truth val rank' and 'truth val z': the best such "
             "candidate's place by validation error and its paired excess squared error over the best law "
             "there, in standard errors (above 2, the validation rows speak against the true form). "
             "'test err': the recommended law's test RMSE (of log y for a positive target); 'catalog pick err': "
             "that of the catalog law the same rule picks among the catalog laws on the held-out bands; "
             "'vs pick': their ratio; 'loses': worse than the pick by more than 10 % or by a paired test on the "
             "test rows at 5 %; 'regret': the recommended law's test error over the best of the run's laws on test "
             "(the oracle, reported, never used).", "",
             "## Engines", "", _md_table(*_rows(engines, _ENGINE_VIEW)), "",
             "## Tasks", "", _md_table(*_rows(tasks, _TASK_VIEW)), "",
             "## Cells", "", _md_table(*_rows(cells, _CELL_VIEW)), ""]
    failed = cells[cells["status"] != "ok"] if len(cells) else cells
    if len(failed):
        parts += ["## Failed cells", ""]
        parts += [f"- {r['task']} {r['engine']} seed {r['seed']}: {r['status']}: {r.get('error') or ''}"
                  for r in failed.to_dict("records")]
        parts.append("")
    return "\n".join(parts)


def terminal(rows: Sequence[dict]) -> str:
    """The per-task and per-engine tables, for printing at the end of a run."""
    cells, tasks, engines = summarize(rows)
    if cells.empty:
        return "no cells"
    view, engine_view = _TASK_VIEW, _ENGINE_VIEW
    if not tasks["recovered"].notna().any():  # no task with a known law: nothing to recover
        view = [v for v in view if v[0] not in ("recovered", "found")]
        engine_view = [v for v in engine_view if v[0] not in ("recovery_rate", "found_rate", "engine_found_rate")]
    if not tasks["published_r2"].notna().any():
        view = [v for v in view if v[0] != "published_r2"]
    parts = [text_table(*_rows(tasks, view)), "", text_table(*_rows(engines, engine_view))]
    failed = cells[cells["status"] != "ok"]
    for r in failed.to_dict("records")[:10]:
        parts.append(f"failed: {r['task']} {r['engine']} seed {r['seed']}: {r['status']}: {r.get('error') or ''}"[:300])
    return "\n".join(parts)
