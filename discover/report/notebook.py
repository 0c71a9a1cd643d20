"""How a result shows itself in a notebook: a short card (dataset and split, the recommended law as
math with its constants and intervals, how it was chosen, the top of the leaderboard with formulas
as math). The page is the report's own pieces, so a notebook and report.html never disagree."""

from __future__ import annotations

import html

from ..result import Result
from .build import constants_rows, fmt, selection_errors
from .mathrender import formula_html

TOP = 8  # leaderboard rows shown in a notebook


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def result_html(res: Result, top: int = TOP) -> str:
    ds, sp = res.dataset or {}, res.split or {}
    sizes = sp.get("sizes") or {}
    err = "rmse_log" if res.log_space else "rmse"
    out = ['<div class="discover-result">',
           f"<p><b>discover</b>: {len(res.laws)} laws for <b>{_e(res.target)}</b> "
           f"({_e(res.direction)}) against {_e(', '.join(res.features))} on {_e(ds.get('name', 'runs'))}: "
           f"{_e(ds.get('rows'))} rows, split {_e(sp.get('rule'))} into train {_e(sizes.get('train'))}, "
           f"validation {_e(sizes.get('val'))}, test {_e(sizes.get('test'))}"
           + (f"; {_e(ds.get('n_groups'))} groups ({_e(res.group)})" if res.group else "") + ".</p>"]
    if res.recommended is None:
        out.append("<p><b>No law could be fitted</b>, so there is no recommended law.</p>")
    else:
        b = res.laws[res.recommended]
        out.append(f"<p>Recommended: <b>{_e(b.law.name)}</b> <small>({_e(b.law.provenance)})</small></p>")
        out.append(f"<p>{formula_html(b.law)}</p>")
        rows = constants_rows(b)
        if rows:
            out.append("<table><tr><th>constant</th><th>value [95 % bootstrap interval]</th></tr>"
                       + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>")
        test = b.metrics.get("test") or {}
        if test.get("n"):
            out.append(f"<p>On the {test['n']} held-out test rows: {err} {fmt(test.get(err))}, "
                       f"MAPE {fmt(test.get('mape'))} %, R² {fmt(test.get('r2'))}.</p>")
        reason = (res.selection or {}).get("reason")
        if reason:
            out.append(f"<p><small>Chosen because: {_e(reason)}</small></p>")
        for flag in b.flags:
            out.append(f"<p><small>flagged: {_e(flag)}</small></p>")
    shown = [i for i, s in enumerate(res.laws) if s.ok][:top]
    if shown:
        sel, label = selection_errors(res)
        out.append(f"<table><tr><th>#</th><th>law</th><th>formula</th><th>k</th><th title='{_e(label)}'>selection error</th>"
                   f"<th>test {err}</th><th>test R²</th></tr>")
        for i in shown:
            s = res.laws[i]
            test = s.metrics.get("test") or {}
            mark = " ★" if i == res.recommended else ""
            out.append(f"<tr><td>{i + 1}{mark}</td><td>{_e(s.law.name)}</td><td>{formula_html(s.law)}</td>"
                       f"<td>{s.law.n_constants}</td><td>{fmt(sel[i])}</td>"
                       f"<td>{fmt(test.get(err)) if test.get('n') else '–'}</td>"
                       f"<td>{fmt(test.get('r2')) if test.get('n') else '–'}</td></tr>")
        out.append("</table>")
        rest = sum(1 for s in res.laws if s.ok) - len(shown)
        if rest > 0:
            out.append(f"<p><small>… {rest} more in <code>result.leaderboard</code>.</small></p>")
    for w in res.warnings[:5]:
        out.append(f"<p><small>warning: {_e(w)}</small></p>")
    out.append("</div>")
    return "\n".join(out)
