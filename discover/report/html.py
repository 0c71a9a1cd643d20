"""report.html: one self-contained page (inline CSS, figures and formulas as data URIs, no scripts,
no network)."""

from __future__ import annotations

import base64
import html
import math

from ..version import __version__
from .build import Report, constants_rows, fmt, optimal_value, selection_errors
from .mathrender import formula_html

MAX_LAWS = 30

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1200px;
     color:#1d232a;line-height:1.45;padding:0 16px}
h1{font-size:1.6em;margin-bottom:0.1em} h2{margin-top:1.6em;border-bottom:1px solid #d6dbe0;padding-bottom:4px}
.sub{color:#5a6570;margin-top:0}
table{border-collapse:collapse;font-size:0.84em;margin:8px 0}
th,td{border:1px solid #d6dbe0;padding:4px 7px;vertical-align:top;text-align:left}
th{background:#f1f4f7} td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.rec{background:#fff8dc}
img.formula{max-width:460px;height:auto;vertical-align:middle}
.bigformula img.formula{max-width:100%}
.consts{font-size:0.92em;white-space:nowrap}
.figs{display:flex;flex-wrap:wrap;gap:18px}
figure{margin:0;flex:1 1 540px;max-width:100%}
figure img{width:100%;max-width:720px;height:auto;border:1px solid #e3e7eb}
figcaption{font-size:0.86em;color:#4a545e;max-width:720px}
.note{background:#f6f8fa;border-left:3px solid #9aa5b1;padding:6px 10px;margin:6px 0;font-size:0.9em}
.warn{border-left-color:#d29922}
code{font-size:0.92em}
.wide{overflow-x:auto;max-width:100%} td.prov{min-width:200px;max-width:320px}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:2px 14px} dl.kv dt{font-weight:600} dl.kv dd{margin:0}
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _kv(items) -> str:
    return '<dl class="kv">' + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def _metric(m: dict | None, key: str) -> str:
    if not m or not m.get("n"):
        return "–"
    return fmt(m.get(key))


def render_html(rep: Report) -> str:
    res = rep.result
    ds, sp = res.dataset, res.split
    err = "rmse_log" if res.log_space else "rmse"
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<link rel="icon" href="data:,">',
           f"<title>discover report: {_e(ds.get('name', 'runs'))}</title>",
           f"<style>{CSS}</style></head><body>"]
    out.append(f"<h1>Scaling-law report: {_e(ds.get('name', 'runs'))}</h1>")
    out.append(f'<p class="sub">target <b>{_e(res.target)}</b> against {_e(", ".join(res.features))}; '
               f"{len(res.laws)} laws ranked by how well they extrapolate "
               f"(discover {_e(_version())}).</p>")

    # recommended
    if res.recommended is not None:
        b = res.laws[res.recommended]
        out.append("<h2>Recommended law</h2>")
        out.append(f"<p><b>{_e(b.law.name)}</b> — {_e(b.law.provenance)}"
                   + (" (published constants)" if b.mode == "published" else "")
                   + f", chosen on {_e(res.selection_split)} data only.</p>")
        out.append(f'<p class="bigformula">{formula_html(b.law)}</p>')
        out.append(f"<p><code>{_e(b.law.formula)}</code></p>")
        rows = constants_rows(b)
        if rows:
            out.append("<table><tr><th>constant</th><th>value [95 % bootstrap interval]</th></tr>"
                       + "".join(f"<tr><td>{_e(k)}</td><td class='num'>{_e(v)}</td></tr>" for k, v in rows)
                       + "</table>")
        fc = b.forecast
        if isinstance(fc, dict) and fc.get("prediction") is not None:
            row = ", ".join(f"{k}={fmt(v)}" for k, v in (fc.get("row") or {}).items())
            iv = fc.get("interval")
            out.append(f"<p>Forecast at the largest test run ({_e(row)}): predicted {fmt(fc['prediction'])}"
                       + (f" [{fmt(iv[0])}, {fmt(iv[1])}]" if iv else "")
                       + f", observed {fmt(fc.get('observed'))}.</p>")
    else:
        out.append('<div class="note warn">No law could be fitted, so there is no recommended law.</div>')

    # dataset and split
    out.append("<h2>Dataset and split</h2>")
    sizes = sp.get("sizes") or {}
    items = [("name", ds.get("name")), ("rows", ds.get("rows")), ("columns", ", ".join(map(str, ds.get("columns") or []))),
             ("target", res.target), ("features", ", ".join(res.features))]
    if res.group:
        items.append(("groups", f"{ds.get('n_groups')} (column {res.group})"))
    if ds.get("weight"):
        items.append(("weight", ds.get("weight")))
    if ds.get("derived"):
        items.append(("derived", ", ".join(f"{k} = {v}" for k, v in ds["derived"].items())))
    items += [("hash", ds.get("hash")),
              ("split", f"{sp.get('rule')} ({sp.get('kind')}" + (f", along {sp.get('scale')}" if sp.get("scale") else "") + ")"),
              ("sizes", f"train {sizes.get('train')}, validation {sizes.get('val')}, test {sizes.get('test')}")]
    if sp.get("backtest"):
        items.append(("backtest", f"fit {sp['backtest'].get('fit')}, evaluate {sp['backtest'].get('eval')}"))
    if rep.data_source:
        items.append(("figures drawn from", rep.data_source))
    out.append(_kv(items))
    if res.engines:
        out.append("<table><tr><th>engine</th><th>status</th><th>version</th><th>seed</th><th>budget s</th>"
                   "<th>wall s</th><th>laws</th></tr>")
        for e in res.engines:
            out.append("<tr>" + "".join(f"<td>{_e(fmt(e.get(k)) if k in ('budget_s', 'wall_s') else e.get(k, '–'))}</td>"
                                         for k in ("name", "status", "version", "seed", "budget_s", "wall_s", "n_laws"))
                       + "</tr>")
        out.append("</table>")

    # leaderboard
    out.append("<h2>Leaderboard</h2>")
    sel, sel_label = selection_errors(res)
    out.append(f"<p>Sorted by {_e(sel_label)}. Train and test metrics come from the final fit on train + validation "
               "rows; test rows were never fitted on or used to choose. ★ = recommended.</p>")
    head = ["#", "law", "formula", "constants [95 % interval]", f"val {err}", f"test {err}",
            "test MAPE %", "test R²", "k", "complexity", "BIC", "provenance"]
    out.append('<div class="wide"><table class="board"><tr>' + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>")
    shown = [i for i, s in enumerate(res.laws) if s.ok][:MAX_LAWS]
    for i in shown:
        s = res.laws[i]
        cls = ' class="rec"' if i == res.recommended else ""
        consts = "<br>".join(f"{_e(k)} = {_e(v)}" for k, v in constants_rows(s))
        m = s.metrics
        cells = [f"<td>{i + 1}{' ★' if i == res.recommended else ''}</td>", f"<td>{_e(s.law.name)}</td>",
                 f"<td>{formula_html(s.law)}</td>", f'<td class="consts">{consts}</td>',
                 f'<td class="num">{_metric(m.get("val"), err)}</td>',
                 f'<td class="num">{_metric(m.get("test"), err)}</td>', f'<td class="num">{_metric(m.get("test"), "mape")}</td>',
                 f'<td class="num">{_metric(m.get("test"), "r2")}</td>', f'<td class="num">{s.law.n_constants}</td>',
                 f'<td class="num">{s.law.complexity}</td>', f'<td class="num">{fmt(s.bic)}</td>']
        prov = _e(s.law.provenance) + (" <i>(published constants)</i>" if s.mode == "published" else "")
        if s.law.citation:
            prov += f"<br><small>{_e(s.law.citation)}</small>"
        if not s.converged:
            prov += "<br><small>fit did not converge</small>"
        for flag in s.flags or ([f"at bounds: {', '.join(map(str, s.at_bounds))}"] if s.at_bounds else []):
            prov += f'<br><small class="flag">flagged: {_e(flag)}</small>'
        cells.append(f'<td class="prov">{prov}</td>')
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</table></div>")
    # every metric of every split, for the laws shown
    out.append("<h3>All metrics</h3>")
    head = ["#", "law"]
    for split in ("train", "val", "test", "backtest"):
        head += [f"{split} n", f"{split} {err}", f"{split} MAPE %", f"{split} R²"]
    out.append('<div class="wide"><table><tr>' + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>")
    for i in shown:
        s = res.laws[i]
        cells = [f"<td>{i + 1}</td>", f"<td>{_e(s.law.name)}</td>"]
        for split in ("train", "val", "test", "backtest"):
            m = s.metrics.get(split) or {}
            cells += [f'<td class="num">{_e(m.get("n", 0))}</td>', f'<td class="num">{_metric(m, err)}</td>',
                      f'<td class="num">{_metric(m, "mape")}</td>', f'<td class="num">{_metric(m, "r2")}</td>']
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table></div>")
    n_ok = sum(1 for s in res.laws if s.ok)
    if n_ok > len(shown):
        out.append(f"<p>… and {n_ok - len(shown)} more laws in results.json and leaderboard.csv.</p>")
    failed = [s for s in res.laws if not s.ok]
    if failed:
        out.append(f"<p>{len(failed)} law(s) failed to fit:</p><ul>"
                   + "".join(f"<li><b>{_e(s.law.name)}</b>: {_e(s.status)}</li>" for s in failed[:20]) + "</ul>")

    # compute-optimal
    if rep.optimal:
        o = rep.optimal
        n_col, d_col = o["roles"]["N"], o["roles"]["D"]

        def cell(key):
            return optimal_value(o, key)

        out.append("<h2>Compute-optimal allocation</h2>")
        out.append(f"<p>Law {_e(o['law'])}, budget C = {fmt(o['flops'])} FLOPs ({_e(o['budget_reason'])}), "
                   f"C = {fmt(o['flops_per_param_token'])}·{_e(n_col)}·{_e(d_col)}, {_e(o['method'])} solution.</p>")
        out.append("<table><tr><th></th><th>value [95 % bootstrap interval]</th></tr>"
                   f"<tr><td>{_e(n_col)}*</td><td class='num'>{cell(n_col)}</td></tr>"
                   f"<tr><td>{_e(d_col)}*</td><td class='num'>{cell(d_col)}</td></tr>"
                   f"<tr><td>{_e(res.target)}*</td><td class='num'>{cell(res.target)}</td></tr>"
                   f"<tr><td>{_e(d_col)}/{_e(n_col)}</td><td class='num'>{fmt(o['tokens_per_param'])}</td></tr>"
                   f"<tr><td>exponents</td><td class='num'>{_e(n_col)}* ∝ C^{fmt(o['exponents'][n_col], 3)}, "
                   f"{_e(d_col)}* ∝ C^{fmt(o['exponents'][d_col], 3)}</td></tr></table>")

    # figures
    out.append("<h2>Figures</h2>")
    if not rep.figures:
        out.append('<div class="note">No figures could be drawn.</div>')
    out.append('<div class="figs">')
    for f in rep.figures:
        uri = "data:image/png;base64," + base64.b64encode(f.png).decode("ascii")
        out.append(f'<figure id="fig-{_e(f.name)}"><img src="{uri}" alt="{_e(f.title)}">'
                   f"<figcaption><b>{_e(f.title)}.</b> {_e(f.caption)}</figcaption></figure>")
    out.append("</div>")

    # notes and warnings
    if res.warnings or rep.notes:
        out.append("<h2>Notes</h2>")
        for w in res.warnings:
            out.append(f'<div class="note warn">warning: {_e(w)}</div>')
        for n in rep.notes:
            out.append(f'<div class="note">{_e(n)}</div>')
    opts = res.options or {}
    proto = opts.get("protocol")
    foot = f"seed {opts.get('seed')}, bootstrap {opts.get('bootstrap')}, Huber delta {opts.get('delta')}"
    if res.timing.get("total_s") is not None and math.isfinite(float(res.timing["total_s"])):
        foot += f", {fmt(res.timing['total_s'])} s"
    out.append(f'<p class="sub" style="margin-top:2em">{_e(foot)}.' + (f" Protocol: {_e(proto)}." if proto else "")
               + "</p>")
    out.append("</body></html>")
    return "\n".join(out)


def _version() -> str:
    return __version__
