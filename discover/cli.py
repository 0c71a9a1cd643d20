"""The ``discover`` command: a thin shell over the Python API.

Bad input never produces a traceback: a :class:`DataError` becomes one line
``error: ...`` on stderr and exit code 2, and nothing is written to --out.

One module, though long: each subcommand is its parser and a short function
that reads its arguments into the API's objects; splitting them would scatter
the one place a user's command line is read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import catalog
from . import targets as tg
from .bench import run_bench
from .bench.suites import suite_label
from .bench.summary import terminal
from .checkpoint import Checkpoint, StopFlag, stop_on_signals
from .data import parse_derive, read_table
from .locking import locked
from .errors import DataError
from .formula import symbol_name
from .optimal import compute_optimal
from .options import FitOptions, SearchOptions, SettingError, TableSpec
from .pipeline import run_fit
from .report import write_reports
from .report.figures import optimum_figure, save_png_atomic, schedule_forecast_figure
from .result import Result, write_json_atomic, write_text_atomic
from .search import resume, run_search
from .ui import Progress, print_catalog, print_result, print_targets
from .version import __version__

EXAMPLES = {
    "laws": "discover laws\n  discover laws --json",
    "fit": "discover fit runs.csv --target loss --features params,tokens --split compute:0.2 --out out/\n"
           "  discover fit runs.csv --target loss --features params,tokens --law hoffmann2022 --law 'E + A/params**a' --out out/\n"
           "  discover fit sft.csv --target sft_loss --features sft_data_size --group group --split column:split --out out/",
    "run": "discover run runs.csv --target loss --features params,tokens --split compute:0.2 --time-budget 120 --out out/\n"
           "  discover run --resume out/     # after Ctrl-C or SIGTERM: continue where it stopped",
    "predict": "discover predict out/results.json --at params=7e10,tokens=1.4e12",
    "optimal": "discover optimal out/results.json --flops 1e23\n"
               "  discover optimal out/results.json --flops 5.76e23 --law hoffmann2022 --json --out out/",
    "report": "discover report out/results.json --table runs.csv",
    "bench": "discover bench synthetic --seeds 0 --time-budget 60 --out bench/",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line, exit code 2."""

    def error(self, message):
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def _csv_list(text: str | None) -> list[str]:
    if not text:
        return []
    return [t.strip() for t in text.split(",") if t.strip()]


def _add_table_args(p: argparse.ArgumentParser, resumable: bool = False):
    # with --resume the table and its settings come from the checkpoint, so they are checked by hand
    p.add_argument("table", nargs="?" if resumable else None, help="CSV, TSV or Parquet file of runs")
    p.add_argument("--target", help="target column (e.g. loss)")
    p.add_argument("--targets", help="several target columns, comma-separated: one law per target "
                                     "(DIR/<target>/...), or one form for all with --shared-form")
    p.add_argument("--shared-form", action="store_true",
                   help="with --targets: one functional form, constants refit per target")
    p.add_argument("--features", required=not resumable, help="comma-separated feature columns (e.g. params,tokens)")
    p.add_argument("--group", help="group column (or several, comma-separated: one group per combination): "
                                   "one form, constants refit per group")
    p.add_argument("--weight", help="column of row weights")
    p.add_argument("--derive", action="append", default=[], metavar="NAME=FORMULA",
                   help="add a derived column, e.g. flops=6*params*tokens (repeatable)")
    p.add_argument("--split", default=None,
                   help="column:COL | largest:COL:FRAC | compute:FRAC | group:NAME | random:FRAC | tail:FRAC | none")
    p.add_argument("--curve", metavar="RUN_COL",
                   help="a curve table: rows are evaluations of runs, this column names the run "
                        "(splits then keep each run's curve whole; tail:FRAC holds out the end of every curve)")
    p.add_argument("--step", metavar="STEP_COL", help="with --curve: the optimizer step of each evaluation")
    p.add_argument("--lr", metavar="LR_COL",
                   help="with --curve: the learning rate at each step; its schedule features (lr_area S1, "
                        "lr_anneal S2, lr_drop ...) are derived per run and join the features")
    p.add_argument("--momentum", type=float, default=0.999,
                   help="momentum of the annealing area lr_anneal (S2), Tissue et al. 2024 (default 0.999)")
    p.add_argument("--min-step", type=float, default=None,
                   help="with --curve: fit only evaluations from this step on (earlier ones still feed the "
                        "schedule features), e.g. to leave out the warmup")
    p.add_argument("--val-frac", type=float, default=0.15, help="validation band carved from the top of train (default 0.15)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--delta", type=float, default=None,
                   help="Huber delta: on log residuals when the target is positive (default 1e-3), "
                        "else on residuals in units of the target's spread (default 1.0)")
    p.add_argument("--bootstrap", type=int, default=100, help="bootstrap resamples for intervals (default 100, 0 = off)")
    p.add_argument("--shared", default="", help="constants shared across groups, comma-separated (e.g. alpha)")
    p.add_argument("--maximize", action="store_const", const="maximize", dest="direction", default=None,
                   help="the target is a score to maximise (accuracy); default: from its name (loss is minimised)")
    p.add_argument("--minimize", action="store_const", const="minimize", dest="direction",
                   help="the target is minimised, whatever its name")
    p.add_argument("--out", help="output directory for results.json and reports")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="discover", description="Find, refit and rank scaling laws by how well they extrapolate.",
                     epilog="examples:\n  " + "\n  ".join(v.splitlines()[0] for v in EXAMPLES.values()),
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the version")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    def cmd(name, help_text):
        return sub.add_parser(name, help=help_text, description=help_text, epilog="example:\n  " + EXAMPLES[name],
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = cmd("laws", "list the catalog of published laws")
    p.add_argument("--json", action="store_true", help="print the catalog as JSON")

    p = cmd("fit", "refit and score published or user-written laws on a table of runs")
    _add_table_args(p)
    p.add_argument("--law", action="append", default=[], help="catalog name or formula (repeatable; default: all applicable)")
    p.add_argument("--bind", default="", help="variable binding for catalog laws, e.g. N=params,D=tokens")
    p.add_argument("--published", action="store_true", help="score with published constants, no refit")

    p = cmd("run", "search for new laws (engines) and rank them beside the catalog laws")
    _add_table_args(p, resumable=True)
    p.add_argument("--resume", metavar="DIR",
                   help="continue the interrupted run whose --out was DIR (its settings and table come from DIR)")
    p.add_argument("--engines", default="grammar", help="comma-separated engines: grammar, operon, pysr (default grammar)")
    p.add_argument("--time-budget", type=float, default=300.0, help="seconds for the search, split between engines (default 300)")
    p.add_argument("--max-forms", type=int, default=None, metavar="N",
                   help="also stop the grammar search after N fitted forms: a run that ends on N, not on the "
                        "clock, gives the same laws for the same seed on any machine")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes that fit the grammar's forms in parallel (default: every local core); with "
                        "--max-forms the laws are the same for any N")
    p.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                   help="a dask.distributed scheduler (tcp://host:8786): its workers fit the grammar's forms")
    p.add_argument("--max-constants", type=int, default=None, metavar="K",
                   help="no candidate law (catalog ones too) may have more than K constants (per group, when grouped)")
    p.add_argument("--law", action="append", default=[], help="also score this catalog name or formula (repeatable)")
    p.add_argument("--no-catalog", action="store_true", help="do not score the catalog laws beside the discovered ones")

    p = cmd("predict", "predict with a fitted law from results.json")
    p.add_argument("results", help="results.json (or its directory)")
    p.add_argument("--at", action="append", default=[],
                   help="feature values, e.g. params=7e10,tokens=1.4e12 (repeatable); with --schedule, the planned "
                        "run's constant features (params=1.2e9)")
    p.add_argument("--schedule", metavar="CSV",
                   help="results of a curve table: forecast the whole curve of a planned run from its schedule "
                        "(columns step and lr, plus any per-step feature such as tokens)")
    p.add_argument("--curve-out", metavar="CSV", help="with --schedule: write the predicted curve (every step) here")
    p.add_argument("--plot", metavar="PNG", help="with --schedule: draw the predicted curve above its schedule")
    p.add_argument("--law", help="law name (default: the recommended one)")
    p.add_argument("--group", help="group label, for laws with per-group constants")
    p.add_argument("--interval", type=float, default=0.95, help="bootstrap interval level (default 0.95)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")

    p = cmd("optimal", "compute-optimal model size and data for a compute budget, from a fitted law")
    p.add_argument("results", help="results.json (or its directory)")
    p.add_argument("--flops", type=float, required=True, help="compute budget C in FLOPs, e.g. 1e23")
    p.add_argument("--law", help="law name (default: the recommended one)")
    p.add_argument("--group", help="group label, for laws with per-group constants (required for them)")
    p.add_argument("--flops-per-param-token", type=float, default=6.0, dest="k",
                   help="k in C = k*N*D (default 6)")
    p.add_argument("--at", action="append", default=[], metavar="NAME=VALUE",
                   help="fixed values of the law's other variables, e.g. learning_rate=3e-4 (repeatable)")
    p.add_argument("--interval", type=float, default=0.95, help="bootstrap interval level (default 0.95)")
    p.add_argument("--span", type=float, default=100.0,
                   help="fit the exponents of N*, D* against C over C/SPAN .. C*SPAN (default 100)")
    p.add_argument("--out", help="directory for optimal.json and the frontier figure optimal_frontier.png")
    p.add_argument("--json", action="store_true", help="print the allocation as JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")

    p = cmd("report", "rebuild report.html and report.md from results.json")
    p.add_argument("results", help="results.json (or its directory)")
    p.add_argument("--table", help="the table of runs that was fitted (for figures of observed values)")
    p.add_argument("--out", help="output directory (default: the directory of results.json)")
    p.add_argument("--json", action="store_true", help="print the written paths as JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")

    p = cmd("bench", "benchmark engines on a suite of tasks (engines x tasks x seeds), resumable")
    p.add_argument("suite", help="'synthetic', a directory of task files (NAME.json + table), or one task JSON file")
    p.add_argument("--engines", default="grammar", help="comma-separated engines, one cell each; "
                   "'a+b' shares one cell's budget (default grammar)")
    p.add_argument("--seeds", default="0", help="comma-separated engine seeds (default 0)")
    p.add_argument("--time-budget", type=float, default=300.0, help="search seconds per cell (default 300)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes, one fresh process per cell (default 1; 0 = this process)")
    p.add_argument("--dask-scheduler", metavar="ADDRESS", help="run cells on a Dask cluster, e.g. tcp://HOST:8786")
    p.add_argument("--noise", default="0.01", help="synthetic suite: comma-separated noise levels (default 0.01)")
    p.add_argument("--data-seed", type=int, default=0, help="synthetic suite: seed the tables are drawn with (default 0)")
    p.add_argument("--tasks", default="", help="only these tasks, comma-separated (default all)")
    p.add_argument("--bootstrap", type=int, default=0, help="bootstrap resamples for the top laws (default 0 = off)")
    p.add_argument("--retry-failed", action="store_true", help="rerun cells that failed before")
    p.add_argument("--out", help="output directory (default bench/<suite name>); rerun with it to resume")
    p.add_argument("--json", action="store_true", help="print the per-cell rows as JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(__version__)
        return 0
    if not args.command:
        parser.print_help()
        return 0
    try:
        return _dispatch(args)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # noqa: BLE001 - last resort: one line, not a traceback
        if os.environ.get("DISCOVER_DEBUG"):
            raise
        print(f"internal error: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''} "
              "(set DISCOVER_DEBUG=1 for a traceback; please report it)", file=sys.stderr)
        return 1


def _dispatch(args) -> int:
    if args.command == "laws":
        return _cmd_laws(args)
    if args.command == "fit":
        return _cmd_fit(args)
    if args.command == "run":
        return _cmd_run(args)
    if args.command == "predict":
        return _cmd_predict(args)
    if args.command == "optimal":
        return _cmd_optimal(args)
    if args.command == "report":
        return _cmd_report(args)
    if args.command == "bench":
        return _cmd_bench(args)
    raise DataError(f"unknown command {args.command!r}")


def _parse_kv(text: str, what: str) -> dict[str, str]:
    out = {}
    for item in _csv_list(text):
        if "=" not in item:
            raise DataError(f"{what} {item!r} must look like NAME=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _cmd_laws(args) -> int:
    rows = []
    for name in catalog.names():
        law = catalog.get(name)
        rows.append({"name": name, "formula": law.formula, "variables": list(law.variables),
                     "published": law.published, "citation": law.citation, "description": law.description})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print_catalog(rows)
    return 0


def _check_target_args(args):
    if args.target and args.targets:
        raise DataError("give --target or --targets, not both")
    if not args.target and not args.targets:
        raise DataError("--target (or --targets) is required")
    if args.shared_form and not args.targets:
        raise DataError("--shared-form needs --targets")
    if not args.features:
        raise DataError("--features is required")


def _run_table(runner, args, table, *more, search=None, **kwargs):
    """Run ``runner`` (``run_fit`` or ``run_search``) for --target, or for every --targets (one law
    each, or one shared form).

    Returns a Result, or {target: Result} for one law per target; nothing is
    written or printed here, so the progress display is closed first."""
    extra = () if search is None else (search,)
    if not args.targets:
        return runner(args.table, table, *more, *extra, **kwargs)
    if args.shared_form:
        return tg.shared_target(runner, args.table, args.targets, table, *more, *extra, **kwargs)
    return tg.each_target(runner, args.table, args.targets, table, *more, search=search, **kwargs)


def _emit(res, args, out):
    """Write and show what _run_table returned."""
    if not isinstance(res, dict):
        _write_outputs(res, out, None if args.targets else args.table)
        _show(res, args, out)
        return
    for t, r in res.items():
        _write_outputs(r, None if out is None else out / tg.slug(t), None)
    table = tg.summary(res)
    if out is not None:
        write_text_atomic(out / "targets.csv", table.to_csv(index=False))
    if args.json:
        print(json.dumps({t: r.to_dict() for t, r in res.items()}, indent=1))
    elif not args.quiet:
        print_targets(table, out)


def _settings(args) -> tuple[TableSpec, FitOptions]:
    """The table's and the fit's settings from the command line, validated once."""
    target = args.target or tg.parse_targets(args.targets)[0]  # with --targets each run replaces it
    with _flags():
        table = TableSpec(target=target, features=_csv_list(args.features), group=args.group, weight=args.weight,
                          split=args.split, derive=parse_derive(args.derive), val_frac=args.val_frac,
                          direction=args.direction, curve=args.curve, step=args.step, lr=args.lr,
                          momentum=args.momentum, min_step=args.min_step)
        options = FitOptions(seed=args.seed, delta=args.delta, bootstrap=args.bootstrap, shared=_csv_list(args.shared))
    return table, options


@contextlib.contextmanager
def _flags():
    """A bad setting is named by its flag (``--bootstrap must be >= 0``), not by its API name."""
    try:
        yield
    except SettingError as err:
        raise DataError(err.named("--" + err.field.replace("_", "-"))) from None


def _out_dir(args) -> Path | None:
    if not args.out:
        return None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {args.out!r} exists and is not a directory")
    return out


def _cmd_fit(args) -> int:
    _check_target_args(args)
    out = _out_dir(args)
    table, options = _settings(args)
    with locked(out):
        with Progress(quiet=args.quiet or args.json, label="fitting laws") as prog:
            res = _run_table(run_fit, args, table, options, laws=args.law or None, published=args.published,
                             bind=_parse_kv(args.bind, "--bind") or None, progress=prog.update)
        _emit(res, args, out)
    return _no_usable_law(res)


def _no_usable_law(res) -> int:
    """2, with one line, when no law could be fitted and judged (for any target); else 0."""
    results = res if isinstance(res, dict) else {None: res}
    empty = [t for t, r in results.items() if r.recommended is None and r.status == "complete"]
    if not empty:
        return 0
    first = next((s.status for s in results[empty[0]].laws if not s.ok), "no law applies")
    where = f" for target {empty[0]!r}" if empty[0] is not None else ""
    print(f"error: no law could be fitted and judged{where} ({first}); each law's reason is in results.json",
          file=sys.stderr)
    return 2


def _cmd_run(args) -> int:
    quiet = args.quiet or args.json
    stop = StopFlag()

    def say_stopping(reason):
        if not args.quiet:
            print(f"\n{reason}: stopping; scoring the best laws so far (press Ctrl-C again to quit at once)",
                  file=sys.stderr)

    if args.resume:
        out = Path(args.resume)
        if args.table or args.target or args.targets or args.features or (args.out and Path(args.out) != out):
            raise DataError("--resume takes its table, settings and output directory from the checkpoint; "
                            "give only --resume DIR")
        settings = Checkpoint.load(out).settings
        budget = (settings.get("search") or {}).get("time_budget")
        with locked(out):
            with stop_on_signals(stop, say_stopping), \
                    Progress(quiet=quiet, label="resuming", budget=budget) as prog:
                res = resume(out, progress=prog.update, stop=stop)
            _write_outputs(res, out, settings.get("data"))
            _show(res, args, out)
    else:
        if not args.table:
            raise DataError("the table of runs is missing (or use --resume DIR)")
        _check_target_args(args)
        out = _out_dir(args)
        table, options = _settings(args)
        with _flags():
            search = SearchOptions(engines=_csv_list(args.engines), time_budget=args.time_budget,
                                   max_forms=args.max_forms, catalog=not args.no_catalog,
                                   max_constants=args.max_constants, workers=args.workers,
                                   dask_scheduler=args.dask_scheduler)
        # a checkpoint needs the table on disk; runs over several targets are not resumable
        ck = out if (out is not None and not args.targets) else None
        with locked(out):
            with stop_on_signals(stop, say_stopping), \
                    Progress(quiet=quiet, label="searching", budget=search.time_budget) as prog:
                res = _run_table(run_search, args, table, options, search=search, laws=args.law or None,
                                 progress=prog.update, checkpoint=ck, stop=stop)
            _emit(res, args, out)
    if stop:
        if not args.quiet:
            where = f"; continue with: discover run --resume {out}" if (out is not None and not args.targets) else ""
            print(f"interrupted ({stop.reason}): wrote the best laws so far{where}", file=sys.stderr)
        return 128 + (15 if stop.reason == "SIGTERM" else 2)
    return _no_usable_law(res)


def _write_outputs(res, out: Path | None, table=None):
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    res.to_json(out / "results.json")
    write_text_atomic(out / "leaderboard.csv", res.leaderboard.to_csv(index=False))
    write_reports(res, out, data=read_table(table)[0] if table is not None else None)


def _show(res, args, out):
    if args.json:
        print(json.dumps(res.to_dict(), indent=1))
        return
    if args.quiet:
        return
    print_result(res, out)


def _cmd_predict(args) -> int:
    res = Result.from_json(args.results)
    scored = res.get(args.law)
    if args.schedule:
        return _predict_schedule(args, res, scored)
    if args.curve_out or args.plot:
        raise DataError("--curve-out and --plot draw a planned schedule's forecast; give --schedule CSV")
    if not args.at:
        raise DataError("give the feature values to predict at with --at (e.g. --at params=7e10,tokens=1.4e12)")
    needed = {symbol_name(f): f for f in res.features if symbol_name(f) in scored.law.variables}
    rows = []
    for at in args.at:
        values = _parse_kv(at, "--at")
        row = {}
        for k, v in values.items():
            if k not in res.features and k not in needed:
                raise DataError(f"--at names {k!r}, which is not a feature of these results "
                                f"(law {scored.law.name} needs {', '.join(needed.values())})")
            try:
                row[k] = float(v)
            except ValueError:
                raise DataError(f"--at {k}={v!r} is not a number") from None
            if not math.isfinite(row[k]):
                raise DataError(f"--at {k}={v!r} is not a finite number")
        missing = [c for s, c in needed.items() if c not in row and s not in row]
        if missing:
            raise DataError(f"--at gives no value for {', '.join(missing)}, which law {scored.law.name} needs")
        if args.group:
            row[res.group or "group"] = args.group
        rows.append(row)
    frame = pd.DataFrame(rows)
    has_boot = bool(scored.samples)
    if has_boot:
        table = res.predict(frame, law=args.law, interval=args.interval)
    else:
        table = pd.DataFrame({"prediction": res.predict(frame, law=args.law)})
    bad = np.flatnonzero(~np.isfinite(table["prediction"].to_numpy(dtype=float)))
    if len(bad):
        raise DataError(f"law {scored.law.name} gives no finite prediction at --at {args.at[int(bad[0])]}")
    out = []
    for i, row in enumerate(rows):
        item = {**row, res.target or "prediction": float(table["prediction"].iloc[i]), "law": scored.law.name}
        if has_boot:
            item["interval"] = [float(table["lower"].iloc[i]), float(table["upper"].iloc[i])]
            item["level"] = args.interval
        out.append(item)
    if args.json:
        print(json.dumps(out if len(out) > 1 else out[0], indent=1))
    elif not args.quiet:
        for item in out:
            at = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in item.items()
                           if k not in {res.target, "law", "interval", "level", "prediction"})
            line = f"{res.target or 'prediction'} at {at}: {item[res.target or 'prediction']:.6g}"
            if "interval" in item:
                lo, hi = item["interval"]
                line += f"  [{lo:.6g}, {hi:.6g}] ({int(args.interval * 100)} % bootstrap)"
            print(line + f"  (law: {item['law']})")
    return 0


def _at_values(items: list[str]) -> dict[str, float]:
    out = {}
    for at in items:
        for k, v in _parse_kv(at, "--at").items():
            try:
                out[k] = float(v)
            except ValueError:
                raise DataError(f"--at {k}={v!r} is not a number") from None
            if not math.isfinite(out[k]):
                raise DataError(f"--at {k}={v!r} is not a finite number")
    return out


def _predict_schedule(args, res, scored) -> int:
    """A planned run's whole predicted curve, from its schedule file and its constant features."""
    at = _at_values(args.at)
    if args.group:
        at[res.group or "group"] = args.group
    frame = read_table(args.schedule)[0]
    level = args.interval if scored.samples else None
    table = res.predict_schedule(frame, at=at, law=args.law, interval=level)
    pred = table["prediction"].to_numpy(dtype=float)
    if not np.all(np.isfinite(pred)):
        i = int(np.flatnonzero(~np.isfinite(pred))[0])
        raise DataError(f"law {scored.law.name} gives no finite prediction at step "
                        f"{table[res.dataset['curve']['step']].iloc[i]:g} of the schedule")
    step_col, lr_col = res.dataset["curve"]["step"], res.dataset["curve"]["lr"]
    if args.curve_out:
        write_text_atomic(Path(args.curve_out), table.to_csv(index=False))
    if args.plot:
        lo = table["lower"].to_numpy(float) if "lower" in table else None
        hi = table["upper"].to_numpy(float) if "upper" in table else None
        fig = schedule_forecast_figure(table[step_col].to_numpy(float), table[lr_col].to_numpy(float), pred, lo, hi,
                                       scored.law.name, res.target or "prediction", level)
        save_png_atomic(fig, Path(args.plot))
    end = table.iloc[-1]
    summary = {"law": scored.law.name, "steps": int(len(table)), "final_step": float(end[step_col]),
               "final": float(end["prediction"]), "at": at}
    if "lower" in table:
        summary.update(interval=[float(end["lower"]), float(end["upper"])], level=level)
    if args.json:
        print(json.dumps({**summary, "curve": json.loads(table.to_json(orient="records"))}, indent=1))
    elif not args.quiet:
        line = (f"{res.target or 'prediction'} at the end of the planned schedule (step {summary['final_step']:g}): "
                f"{summary['final']:.6g}")
        if "interval" in summary:
            lo, hi = summary["interval"]
            line += f"  [{lo:.6g}, {hi:.6g}] ({int(level * 100)} % bootstrap)"
        else:
            line += "  (no interval: the results have no bootstrap constants; fit with --bootstrap > 0)"
        print(line + f"  (law: {scored.law.name})")
        for q in (0.1, 0.25, 0.5, 0.75):
            r = table.iloc[min(len(table) - 1, int(q * len(table)))]
            print(f"  step {r[step_col]:>10g}  lr {r[lr_col]:.3g}  {res.target or 'prediction'} {r['prediction']:.6g}")
        for path in (args.curve_out, args.plot):
            if path:
                print(f"wrote {path}")
    return 0


def _cmd_optimal(args) -> int:
    res = Result.from_json(args.results)
    fixed = {}
    for at in args.at:
        for k, v in _parse_kv(at, "--at").items():
            try:
                fixed[k] = float(v)
            except ValueError:
                raise DataError(f"--at {k}={v!r} is not a number") from None
    opt = compute_optimal(res, args.flops, law=args.law, group=args.group, k=args.k, interval=args.interval,
                          span=args.span, fixed=fixed or None)
    doc = opt.to_dict()
    if args.out:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise DataError(f"--out {args.out!r} exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "optimal.json", {**doc, "frontier": opt.frontier})
        save_png_atomic(optimum_figure(opt), out / "optimal_frontier.png")
        doc["files"] = [str(out / "optimal.json"), str(out / "optimal_frontier.png")]
    if args.json:
        print(json.dumps(doc, indent=1))
        return 0
    if args.quiet:
        return 0
    n_col, d_col = opt.columns["N"], opt.columns["D"]

    def line(name, key):
        iv = opt.intervals.get(key)
        text = f"  {name:<{width}} = {doc[key]:.4g}"
        if iv:
            text += f"  [{iv[0]:.4g}, {iv[1]:.4g}] ({opt.level * 100:g} % bootstrap, {opt.n_draws} draws)"
        return text

    width = max(len(n_col), len(d_col), len(opt.target)) + 1
    print(f"compute-optimal allocation, law {opt.law}" + (f" (group {opt.group})" if opt.group else "")
          + f", at C = {opt.flops:.4g} FLOPs with C = {opt.k:g}*{n_col}*{d_col} ({opt.method}; "
          + ("largest" if opt.direction == "maximize" else "smallest") + f" predicted {opt.target}):")
    print(line(n_col + "*", n_col))
    print(line(d_col + "*", d_col))
    print(line(opt.target + "*", opt.target))
    print(f"  {d_col}/{n_col} = {opt.d / opt.n:.3g}")
    print(f"  over C/{args.span:g} .. C*{args.span:g}: {n_col}* ~ C^{opt.exponents[n_col]:.3f}, "
          f"{d_col}* ~ C^{opt.exponents[d_col]:.3f}")
    if opt.fixed:
        print("  with " + ", ".join(f"{k}={v:g}" for k, v in opt.fixed.items()))
    for note in opt.notes:
        print(f"  note: {note}")
    for f in doc.get("files", []):
        print(f"wrote {f}")
    return 0


def _cmd_report(args) -> int:
    res = Result.from_json(args.results)
    src = Path(args.results)
    out = Path(args.out) if args.out else (src if src.is_dir() else src.parent)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {str(out)!r} exists and is not a directory")
    data = read_table(args.table)[0] if args.table else None
    written = write_reports(res, out, data=data)
    if args.json:
        print(json.dumps(written, indent=1))
    elif not args.quiet:
        print(f"wrote {written['html']}")
        print(f"wrote {written['markdown']} (+ {len(written['figures'])} figures)")
        for note in written["notes"]:
            print(f"note: {note}", file=sys.stderr)
    return 0


def _cmd_bench(args) -> int:
    if args.dask_scheduler and args.workers is not None:
        raise DataError("give either --workers or --dask-scheduler, not both")
    try:
        seeds = [int(s) for s in _csv_list(args.seeds)]
    except ValueError:
        raise DataError(f"--seeds {args.seeds!r} must be comma-separated integers") from None
    try:
        noise = [float(x) for x in _csv_list(args.noise)]
    except ValueError:
        raise DataError(f"--noise {args.noise!r} must be comma-separated numbers") from None
    out = Path(args.out) if args.out else Path("bench") / suite_label(args.suite)
    log = None if (args.quiet or args.json) else (lambda msg: print(msg, file=sys.stderr, flush=True))
    res = run_bench(args.suite, out=out, engines=_csv_list(args.engines), seeds=seeds, time_budget=args.time_budget,
                    workers=1 if args.workers is None else args.workers, dask_scheduler=args.dask_scheduler,
                    noise=noise, data_seed=args.data_seed, tasks=_csv_list(args.tasks) or None,
                    retry_failed=args.retry_failed, bootstrap=args.bootstrap, log=log)
    if args.json:
        print(json.dumps(res.rows, indent=1))
    elif not args.quiet:
        print(terminal(res.rows))
        print(f"wrote {res.files['markdown']} and summary_*.csv; cells in {res.out / 'cells'} "
              f"({res.ran} run, {res.skipped} already done, {res.wall_s:.1f} s)")
        if res.lost:
            print(f"{res.lost} cells lost to a crashed worker process; rerun the same command to retry them",
                  file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
