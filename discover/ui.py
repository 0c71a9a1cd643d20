"""Terminal output: live progress and the leaderboard (rich), quiet when asked."""

from __future__ import annotations

import math
import sys
import time

from rich.console import Console
from rich.table import Table


def _console() -> Console:
    probe = Console()
    # Piped output (a file, a CI log) has no width of its own: use a wide one rather than fold every cell.
    width = max(100, probe.width) if probe.is_terminal else 150
    return Console(stderr=False, highlight=False, soft_wrap=False, width=width)


class Progress:
    """Progress on stderr: items done, best validation error so far, time used/left."""

    def __init__(self, quiet: bool = False, label: str = "working", budget: float | None = None):
        self.quiet = quiet or not sys.stderr.isatty()
        self.label = label
        self.budget = budget
        self.best = math.inf
        self.t0 = time.perf_counter()
        self.console = Console(stderr=True)
        self.status = None

    def __enter__(self):
        if not self.quiet:
            self.status = self.console.status(self.label)
            self.status.__enter__()
        return self

    def __exit__(self, *exc):
        if self.status is not None:
            self.status.__exit__(*exc)
        return False

    def update(self, done: int, total: int | None = None, scored=None, best: float | None = None, note: str = ""):
        if scored is not None and scored.ok:
            e = scored.metrics.get("val", {}) or {}
            v = e.get("rmse_log") if e.get("rmse_log") is not None else e.get("rmse")
            if v is not None and isinstance(v, (int, float)) and v < self.best:
                self.best = float(v)
        if best is not None:
            self.best = min(self.best, best)
        if self.status is None:
            return
        elapsed = time.perf_counter() - self.t0
        parts = [f"{self.label}: {done}" + (f"/{total}" if total else "") + " candidates"]
        if math.isfinite(self.best):
            parts.append(f"best val error {self.best:.4g}")
        parts.append(f"{elapsed:.0f}s" + (f" of {self.budget:.0f}s" if self.budget else ""))
        if note:
            parts.append(note)
        self.status.update(" · ".join(parts))


def fmt(x, digits: int = 4) -> str:
    """A number for people: 4 significant digits, – for missing, ∞ for infinite; text passes through."""
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.{digits}g}"


_fmt = fmt


def print_result(res, out=None, top: int = 15):
    con = _console()
    ds, sp = res.dataset, res.split
    con.print(f"[bold]{ds.get('name')}[/]: {ds.get('rows')} rows, target {res.target}, features {', '.join(res.features)}"
              + (f", {ds.get('n_groups')} groups ({res.group})" if res.group else ""))
    sizes = sp.get("sizes", {})
    con.print(f"split {sp.get('rule')} ({sp.get('kind')}): train {sizes.get('train')}, val {sizes.get('val')}, test {sizes.get('test')}")
    err = "rmse_log" if res.log_space else "rmse"
    t = Table(show_lines=False, header_style="bold")
    numeric = (f"held-out {err}", f"test {err}", "test R²", "k", "cx")
    for col in ("#", "law", "formula", *numeric, "provenance"):
        t.add_column(col, overflow="fold", min_width=24 if col == "formula" else None,
                     justify="right" if col in numeric else "left")
    for i, s in enumerate(res.laws[:top]):
        m = s.metrics
        star = ("★" if i == res.recommended else "") + ("⚑" if s.flags else "")
        formula = s.law.formula
        if len(formula) > 70:
            formula = formula[:67] + "..."
        t.add_row(f"{i + 1}{star}", s.law.name, formula, _fmt((m.get("select") or m.get("val") or {}).get(err)),
                  _fmt((m.get("test") or {}).get(err)), _fmt((m.get("test") or {}).get("r2")),
                  str(s.law.n_constants), str(s.law.complexity),
                  s.law.provenance + (" (published)" if s.mode == "published" else "") + ("" if s.ok else f" [{s.status}]"))
    con.print(t)
    if len(res.laws) > top:
        con.print(f"... and {len(res.laws) - top} more (see leaderboard.csv)")
    for i, s in enumerate(res.laws[:top]):
        if s.flags:
            con.print(f"[yellow]⚑ {i + 1}[/] {s.law.name[:60]}: " + "; ".join(s.flags))
    if res.recommended is not None:
        best = res.laws[res.recommended]
        sel = res.selection or {}
        bands = ", ".join(f"{k} {v}" for k, v in (sel.get("folds") or {}).items())
        con.print(f"[bold]recommended[/]: {best.law.name}" + (f" — {sel['reason']}" if sel.get("reason") else ""))
        if sel.get("rule"):
            con.print(f"  chosen on {sel['rule']} ({bands} rows), never on test rows")
        con.print(f"  {best.law.formula}")
        if best.law.constants and not best.law.grouped:
            con.print("  " + ", ".join(f"{k} = {_fmt(v, 5)}" + _iv(best.intervals, k) for k, v in best.law.constants.items()))
        elif best.law.grouped:
            con.print(f"  constants per group ({len(best.law.constants)} groups) in results.json")
        fc = sel.get("forecast")
        if fc:
            at = ", ".join(f"{k}={_fmt(v)}" for k, v in fc["row"].items())
            line = f"  forecast at the largest test run ({at}): {_fmt(fc['recommended'], 5)}"
            if fc.get("interval"):
                line += f" [{_fmt(fc['interval'][0], 5)}, {_fmt(fc['interval'][1], 5)}]"
            con.print(line)
            if not fc.get("pinned") and len(fc.get("laws") or {}) > 1:
                lo, hi = fc["range"]
                con.print(f"  [yellow]the {len(fc['laws'])} laws the held-out rows cannot tell apart forecast "
                          f"{_fmt(lo, 5)} to {_fmt(hi, 5)} there: these runs do not pin the extrapolation down[/]")
    phases = [(k[:-2], v) for k, v in (res.timing or {}).items() if k.endswith("_s") and k != "total_s"]
    if phases and "total_s" in res.timing:
        budget = (res.options or {}).get("time_budget")
        con.print("time: " + " · ".join(f"{k} {v:.1f} s" for k, v in phases)
                  + f" · total {res.timing['total_s']:.1f} s" + (f" (budget {budget:g} s)" if budget else ""))
    for w in res.warnings[:5]:
        con.print(f"[yellow]warning[/]: {w}")
    if out is not None:
        con.print(f"wrote {out}/results.json")


def print_targets(table, out=None):
    """One line per target: its recommended law and that law's validation/test R²."""
    con = _console()
    t = Table(header_style="bold")
    for col in ("target", "recommended law", "val R²", "test R²", "provenance"):
        t.add_column(col, overflow="fold", justify="right" if "R²" in col else "left")
    for _, row in table.iterrows():
        t.add_row(str(row["target"]), str(row.get("law")), _fmt(row.get("val_r2")), _fmt(row.get("test_r2")),
                  str(row.get("provenance", "")))
    con.print(t)
    if out is not None:
        con.print(f"wrote {out}/targets.csv and one directory per target")


def _iv(intervals, k) -> str:
    if not intervals or not intervals.get(k):
        return ""
    lo, hi = intervals[k]
    return f" [{_fmt(lo, 3)}, {_fmt(hi, 3)}]"


def print_catalog(rows):
    con = _console()
    t = Table(header_style="bold")
    for col in ("name", "formula", "variables", "citation"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(r["name"], r["formula"], ", ".join(r["variables"]), r["citation"] or "")
    con.print(t)
