"""report.md: the same content as report.html in Markdown; figures are PNG files next to it
(``figures/NAME.png``) and formulas are ``$$ LaTeX $$`` blocks."""

from __future__ import annotations

from .build import Report, constants_rows, fmt, optimal_value, selection_errors

MAX_LAWS = 30


_MARKDOWN = "\\`*_{}[]<>#|"


def _cell(x) -> str:
    """Text in a Markdown table cell or line: its Markdown characters escaped, on one line."""
    return "".join("\\" + ch if ch in _MARKDOWN else ch for ch in str(x)).replace("\n", " ")


def _code(x) -> str:
    """Text as inline code in a table cell (only a pipe needs escaping there)."""
    return "`" + str(x).replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _metric(m, key):
    if not m or not m.get("n"):
        return "–"
    return fmt(m.get(key))


def render_markdown(rep: Report, figure_paths: dict[str, str]) -> str:
    res = rep.result
    ds, sp = res.dataset, res.split
    err = "rmse_log" if res.log_space else "rmse"
    L = [f"# Scaling-law report: {ds.get('name', 'runs')}", "",
         f"Target **{res.target}** against {', '.join(res.features)}; {len(res.laws)} laws ranked by how well "
         "they extrapolate.", ""]
    if res.recommended is not None:
        b = res.laws[res.recommended]
        sel = res.selection or {}
        L += ["## Recommended law", "",
              f"**{_cell(b.law.name)}** — {_cell(b.law.provenance)}"
              + (" (published constants)" if b.mode == "published" else "")
              + f", chosen on {_cell(sel.get('rule') or res.selection_split)}, never on test rows"
              + (f": {_cell(sel['reason'])}." if sel.get("reason") else "."), "", "$$", b.law.latex, "$$", "",
              f"`{b.law.formula}`", ""]
        if b.flags:
            L += ["Flagged: " + _cell("; ".join(b.flags)) + ".", ""]
        rows = constants_rows(b)
        if rows:
            L += ["| constant | value [95 % bootstrap interval] |", "|---|---|"]
            L += [f"| {_cell(k)} | {_cell(v)} |" for k, v in rows]
            L.append("")
        fc = b.forecast
        if isinstance(fc, dict) and fc.get("prediction") is not None:
            row = ", ".join(f"{k}={fmt(v)}" for k, v in (fc.get("row") or {}).items())
            iv = fc.get("interval")
            L += [f"Forecast at the largest test run ({_cell(row)}): predicted {fmt(fc['prediction'])}"
                  + (f" [{fmt(iv[0])}, {fmt(iv[1])}]" if iv else "") + f", observed {fmt(fc.get('observed'))}.", ""]
        spread = (res.selection or {}).get("forecast") or {}
        if spread and not spread.get("pinned") and len(spread.get("laws") or {}) > 1:
            lo, hi = spread["range"]
            L += [f"The {len(spread['laws'])} laws the held-out rows cannot tell apart forecast {fmt(lo)} to "
                  f"{fmt(hi)} there: these runs do not pin the extrapolation down.", ""]
    else:
        L += ["No law could be fitted, so there is no recommended law.", ""]

    sizes = sp.get("sizes") or {}
    L += ["## Dataset and split", "",
          f"- name: {ds.get('name')}", f"- rows: {ds.get('rows')}",
          f"- columns: {', '.join(map(str, ds.get('columns') or []))}",
          f"- target: {res.target}; features: {', '.join(res.features)}"]
    if res.group:
        L.append(f"- groups: {ds.get('n_groups')} (column {res.group})")
    if ds.get("derived"):
        L.append("- derived: " + ", ".join(f"{k} = {v}" for k, v in ds["derived"].items()))
    L += [f"- hash: {ds.get('hash')}",
          f"- split: {sp.get('rule')} ({sp.get('kind')}" + (f", along {sp.get('scale')}" if sp.get("scale") else "") + ")",
          f"- sizes: train {sizes.get('train')}, validation {sizes.get('val')}, test {sizes.get('test')}"]
    if rep.data_source:
        L.append(f"- figures drawn from: {rep.data_source}")
    L.append("")
    if res.engines:
        L += ["| engine | status | version | seed | budget s | wall s | laws |", "|---|---|---|---|---|---|---|"]
        for e in res.engines:
            L.append("| " + " | ".join(_cell(fmt(e.get(k)) if k in ("budget_s", "wall_s") else e.get(k, "–"))
                                       for k in ("name", "status", "version", "seed", "budget_s", "wall_s", "n_laws")) + " |")
        L.append("")

    _, sel_label = selection_errors(res)
    L += ["## Leaderboard", "",
          f"Sorted by {sel_label}. Train and test metrics come from the final fit on train + validation rows; "
          "test rows were never fitted on or used to choose. ★ = recommended.", ""]
    head = ["#", "law", "formula", "constants [95 % interval]"]
    for split in ("train", "val", "test"):
        head += [f"{split} {err}", f"{split} MAPE %", f"{split} R²"]
    head += ["k", "complexity", "BIC", "provenance", "flags"]
    L += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    shown = [i for i, s in enumerate(res.laws) if s.ok][:MAX_LAWS]
    for i in shown:
        s = res.laws[i]
        consts = "<br>".join(f"{_cell(k)} = {_cell(v)}" for k, v in constants_rows(s))
        cells = [f"{i + 1}{' ★' if i == res.recommended else ''}", _cell(s.law.name), _code(s.law.formula), consts]
        for split in ("train", "val", "test"):
            m = s.metrics.get(split)
            cells += [_metric(m, err), _metric(m, "mape"), _metric(m, "r2")]
        prov = s.law.provenance + (" (published constants)" if s.mode == "published" else "")
        cells += [s.law.n_constants, s.law.complexity, fmt(s.bic), _cell(prov), _cell("; ".join(s.flags) or "–")]
        L.append("| " + " | ".join(str(c) for c in cells) + " |")
    L.append("")
    failed = [s for s in res.laws if not s.ok]
    if failed:
        L += [f"{len(failed)} law(s) failed to fit:", ""] + [f"- **{_cell(s.law.name)}**: {_cell(s.status)}" for s in failed[:20]] + [""]

    L += ["### Formulas", ""]
    for i in shown:
        s = res.laws[i]
        L += [f"**{i + 1}. {_cell(s.law.name)}**" + (f" — {_cell(s.law.citation)}" if s.law.citation else ""), "", "$$",
              s.law.latex, "$$", ""]

    if rep.optimal:
        o = rep.optimal
        n_col, d_col = o["roles"]["N"], o["roles"]["D"]

        def val(key):
            return optimal_value(o, key)

        L += ["## Compute-optimal allocation", "",
              f"Law {o['law']}, budget C = {fmt(o['flops'])} FLOPs ({o['budget_reason']}), "
              f"C = {fmt(o['flops_per_param_token'])}·{n_col}·{d_col}, {o['method']} solution.", "",
              "| | value [95 % bootstrap interval] |", "|---|---|",
              f"| {n_col}* | {val(n_col)} |", f"| {d_col}* | {val(d_col)} |", f"| {res.target}* | {val(res.target)} |",
              f"| {d_col}/{n_col} | {fmt(o['tokens_per_param'])} |",
              f"| exponents | {n_col}* ∝ C^{fmt(o['exponents'][n_col], 3)}, {d_col}* ∝ C^{fmt(o['exponents'][d_col], 3)} |",
              ""]

    L += ["## Figures", ""]
    if not rep.figures:
        L += ["No figures could be drawn.", ""]
    for f in rep.figures:
        path = figure_paths.get(f.name)
        if path:
            L += [f"![{f.title}]({path})", "", f"*{f.title}.* {f.caption}", ""]
    if res.warnings or rep.notes:
        L += ["## Notes", ""] + [f"- warning: {_cell(w)}" for w in res.warnings] + [f"- {_cell(n)}" for n in rep.notes] + [""]
    return "\n".join(L)
