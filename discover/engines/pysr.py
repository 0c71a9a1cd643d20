"""The PySR engine: ``PySRRegressor`` tuned for scaling laws, its hall of fame read back as laws.

PySR runs its search in Julia (SymbolicRegression.jl). Importing ``pysr``
starts Julia and, on a fresh machine, *downloads* it. So this module never
imports ``pysr`` (or ``juliacall``) until it knows a Julia runtime is there:
:func:`julia_status` looks for one without starting anything, and
:meth:`PySREngine.available` turns its absence into one sentence saying how to
provide it. The pipeline then skips the engine with that warning.

The search (see :func:`regressor_kwargs`):

- operators ``+ - * / ^`` and ``exp``, ``log``; an exponent may only be a
  constant or a variable (``constraints={'^': (-1, 1)}``) and exp/log/pow may
  not nest deeply, which keeps candidates law-shaped;
- 64-bit floats; inputs log-normalised (``z = (log x - mu)/sd``, as for Operon);
- for a positive target, a loss on log residuals (a Julia elementwise loss), or
  with ``log_target=True`` a search on ``log y``;
- ``template="E + f(params) + g(tokens)"`` imposes structure with a
  ``TemplateExpressionSpec`` (names called like functions are free
  sub-expressions, other unknown names are fitted scalars, features stand for
  their log-normalised versions); with groups (and no template) the default
  template is ``b[group] + a[group] * f(features)``: per-group offset and scale
  as parameters indexed by the group column, the form shared;
- the catalog laws that apply are passed as ``guesses`` (when the installed
  PySR has that option), with their published constants;
- ``timeout_in_seconds`` from the budget, ``random_state`` from the seed, and
  ``deterministic=True`` with ``parallelism='serial'`` when asked.

Reading results back (:func:`parse_hall_of_fame`) is a pure function, tested on
recorded hall-of-fame files: each equation is parsed by the safe parser (never
evaluated), the engine's variables are replaced by the inverse normalisation so
the law is in the user's variables, and its numbers become free constants with
PySR's values as starting values, so the pipeline refits them.

One module, though long: the template language, the hall-of-fame reader and
the engine are one contract with PySR's output format, changed together.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import math
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from io import StringIO
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import sympy

from ..errors import DataError
from ..formula import FUNCTIONS, make_symbol, parse_formula
from ..candidate import Candidate
from ..law import Law
from .base import EngineTask
from .symbolic import MAX_CONSTANTS, MAX_NONLINEAR, InputTransform, expression_to_law

BINARY_OPERATORS = ["+", "-", "*", "/", "^"]
UNARY_OPERATORS = ["exp", "log"]
CONSTRAINTS = {"^": (-1, 1)}
NESTED_CONSTRAINTS = {
    "exp": {"exp": 1, "log": 1},
    "log": {"exp": 1, "log": 0},
    "^": {"^": 0, "exp": 0, "log": 0},
}
# Squared log residual; a non-positive prediction is penalised smoothly so the search can recover.
LOG_LOSS = ("loss_log(prediction, target) = prediction > 0 ? (log(prediction) - log(target))^2 : "
            "oftype(prediction, 100) + (prediction - target)^2")

INSTALL_HINT = (
    "PySR needs a Julia runtime and none was found here (no `julia` on PATH, no PYTHON_JULIAPKG_EXE, "
    "no Julia installed by juliapkg): either `pip install pysr` on a machine with internet access and "
    "`import pysr` once, which downloads Julia and its packages, or point PYTHON_JULIAPKG_EXE at an "
    "installed Julia whose depot/project already holds PySR's packages (JULIA_DEPOT_PATH, "
    "PYTHON_JULIAPKG_PROJECT) and set PYTHON_JULIAPKG_OFFLINE=yes."
)

GROUP_VAR = "grp"
TEMPLATE_FUNCTIONS = {"exp", "log", "sqrt", "abs"}  # functions a template may call (same name in Julia)


# --------------------------------------------------------------------------- Julia detection
def _juliapkg_project() -> Path:
    """Where juliapkg keeps its Julia project (and meta.json), without importing it."""
    project = os.environ.get("PYTHON_JULIAPKG_PROJECT")
    if project:
        return Path(project)
    if sys.prefix != sys.base_prefix:
        return Path(sys.prefix) / "julia_env"
    if os.environ.get("CONDA_PREFIX"):
        return Path(os.environ["CONDA_PREFIX"]) / "julia_env"
    depot = os.environ.get("JULIA_DEPOT_PATH", "").split(os.pathsep)[0] or str(Path.home() / ".julia")
    return Path(depot) / "environments" / "pyjuliapkg"


def find_julia() -> str | None:
    """Path of a Julia executable PySR would use, or None. Starts nothing, downloads nothing."""
    exe = os.environ.get("PYTHON_JULIAPKG_EXE")
    if exe:
        return exe if (os.path.isfile(exe) and os.access(exe, os.X_OK)) or shutil.which(exe) else None
    prefix = _juliapkg_project() / "pyjuliapkg"
    try:
        meta = json.loads((prefix / "meta.json").read_text())
        candidate = meta.get("executable")
        if candidate and os.path.isfile(candidate):
            return candidate
    except (OSError, ValueError, AttributeError):
        pass
    installed = prefix / "install" / "bin" / "julia"
    if installed.is_file():
        return str(installed)
    return shutil.which("julia")


def julia_status() -> tuple[bool, str]:
    """(True, "") when PySR can run here, else (False, one sentence: why, and how to fix it)."""
    if importlib.util.find_spec("pysr") is None:
        return False, ("PySR is not installed: pip install 'discover[pysr]' (its first import then downloads "
                       "Julia, which needs internet; or see PYTHON_JULIAPKG_EXE for a pre-installed Julia).")
    if find_julia() is None:
        return False, INSTALL_HINT
    return True, ""


# --------------------------------------------------------------------------- templates
@dataclass
class Template:
    """A structure imposed on the search: ``E + f(z0) + g(z1)``, ``b[grp] + a[grp] * f(z0, z1)``.

    Written in Python syntax over the engine's variable names. Names called like
    functions are PySR sub-expressions; other names that are not variables are
    fitted scalars; ``name[grp]`` is a parameter per group (``grp`` holds the
    1-based group index). The text is parsed (never evaluated) once and used
    both to write PySR's Julia ``combine`` and to read results back.
    """

    text: str
    variables: tuple[str, ...]
    expressions: list[str] = field(default_factory=list)
    scalars: list[str] = field(default_factory=list)
    per_group: list[str] = field(default_factory=list)
    n_groups: int = 0
    tree: ast.AST | None = None
    arity: dict = field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str, variables: Sequence[str], *, rename: Mapping[str, str] | None = None,
                  n_groups: int = 0) -> "Template":
        """Parse a template; ``rename`` maps user names (feature identifiers) to engine variable names."""
        if not isinstance(text, str) or not text.strip():
            raise DataError("template must be a non-empty formula such as 'E + f(params) + g(tokens)'")
        if len(text) > 2000 or "#" in text:
            raise DataError(f"template {text!r} rejected")
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as err:
            raise DataError(f"template {text!r} is not a valid formula: {err.msg}") from None
        t = cls(text=text, variables=tuple(variables), n_groups=int(n_groups))
        t.tree = t._check(tree, dict(rename or {}), 0)
        if not t.expressions:
            raise DataError(f"template {text!r} has no sub-expression to search (call one like f(params))")
        if t.per_group and not n_groups:
            raise DataError(f"template {text!r} has per-group parameters but the table has no groups")
        return t

    def _check(self, node, rename, depth):
        if depth > 40:
            raise DataError(f"template {self.text!r} is nested too deeply")
        reserved = set(self.variables) | {GROUP_VAR}
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise DataError(f"template {self.text!r}: literal {node.value!r} is not a number")
            return node
        if isinstance(node, ast.Name):
            name = rename.get(node.id, node.id)
            if name in self.variables:
                return ast.Name(id=name, ctx=ast.Load())
            if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", node.id) or node.id in FUNCTIONS or node.id in reserved:
                raise DataError(f"template {self.text!r}: name {node.id!r} is not allowed")
            if node.id in self.expressions or node.id in self.per_group:
                raise DataError(f"template {self.text!r}: {node.id!r} is used in two roles")
            if node.id not in self.scalars:
                self.scalars.append(node.id)
            return node
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return ast.UnaryOp(op=node.op, operand=self._check(node.operand, rename, depth + 1))
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
            return ast.BinOp(left=self._check(node.left, rename, depth + 1), op=node.op,
                             right=self._check(node.right, rename, depth + 1))
        if isinstance(node, ast.Subscript):
            if not isinstance(node.value, ast.Name) or not isinstance(node.slice, ast.Name) \
                    or rename.get(node.slice.id, node.slice.id) not in {"group", GROUP_VAR}:
                raise DataError(f"template {self.text!r}: only name[group] subscripts are allowed")
            pname = node.value.id
            if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", pname) or pname in reserved or pname in FUNCTIONS \
                    or pname in self.scalars or pname in self.expressions:
                raise DataError(f"template {self.text!r}: parameter name {pname!r} is not allowed")
            if pname not in self.per_group:
                self.per_group.append(pname)
            return ast.Subscript(value=ast.Name(id=pname, ctx=ast.Load()),
                                 slice=ast.Name(id=GROUP_VAR, ctx=ast.Load()), ctx=ast.Load())
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            fname = node.func.id
            args = [self._check(a, rename, depth + 1) for a in node.args]
            if fname in TEMPLATE_FUNCTIONS:
                if len(args) != 1:
                    raise DataError(f"template {self.text!r}: {fname}() takes one argument")
            else:
                if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", fname) or fname in FUNCTIONS or fname in reserved \
                        or fname in self.scalars or fname in self.per_group:
                    raise DataError(f"template {self.text!r}: function {fname!r} is not allowed")
                if not args or not all(isinstance(a, ast.Name) and a.id in self.variables for a in args):
                    raise DataError(f"template {self.text!r}: sub-expression {fname}() takes features as arguments")
                if self.arity.setdefault(fname, len(args)) != len(args):
                    raise DataError(f"template {self.text!r}: {fname} is called with different numbers of arguments")
                if fname not in self.expressions:
                    self.expressions.append(fname)
            return ast.Call(func=ast.Name(id=fname, ctx=ast.Load()), args=args, keywords=[])
        raise DataError(f"template {self.text!r}: {type(node).__name__} is not allowed")

    # ---------------------------------------------------------------- to Julia
    def julia_combine(self) -> str:
        return self._julia(self.tree)

    def _julia(self, node) -> str:
        if isinstance(node, ast.Constant):
            return repr(float(node.value))
        if isinstance(node, ast.Name):
            return f"{node.id}[1]" if node.id in self.scalars else node.id
        if isinstance(node, ast.UnaryOp):
            return f"(-{self._julia(node.operand)})" if isinstance(node.op, ast.USub) else self._julia(node.operand)
        if isinstance(node, ast.BinOp):
            op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}[type(node.op)]
            return f"({self._julia(node.left)} {op} {self._julia(node.right)})"
        if isinstance(node, ast.Subscript):
            return f"{node.value.id}[{GROUP_VAR}]"
        if isinstance(node, ast.Call):
            return f"{node.func.id}({', '.join(self._julia(a) for a in node.args)})"
        raise DataError("template node not supported")  # pragma: no cover - _check rejects it first

    def spec_kwargs(self) -> dict:
        """Arguments for ``pysr.TemplateExpressionSpec``."""
        names = list(self.variables) + ([GROUP_VAR] if self.n_groups else [])
        params = {p: 1 for p in self.scalars}
        params.update({p: self.n_groups for p in self.per_group})
        out = {"expressions": list(self.expressions), "variable_names": names, "combine": self.julia_combine()}
        if params:
            out["parameters"] = params
        return out

    # ---------------------------------------------------------------- results back
    def to_sympy(self, parts: Mapping[str, str], vectors: Mapping[str, list[float]],
                 variable_map: Mapping[str, sympy.Expr]) -> tuple[sympy.Expr, dict[str, float], dict]:
        """The combined expression in the original variables, scalar starts, and per-group values."""
        subs = {}
        for fname in self.expressions:
            if fname not in parts:
                raise DataError(f"template result has no sub-expression {fname!r}")
            n = self.arity[fname]
            text = parts[fname]
            if re.search(r"#(?!\d)", text):
                raise DataError(f"sub-expression {fname} = {text!r} rejected")
            text = re.sub(r"#(\d+)", lambda m: f"arg_{m.group(1)}_", text)
            expr = _parse_equation(text, f"sub-expression {fname}")
            allowed = {f"arg_{i}_" for i in range(1, n + 1)}
            bad = {str(s) for s in expr.free_symbols} - allowed
            if bad:
                raise DataError(f"sub-expression {fname} uses unknown names {sorted(bad)}")
            subs[fname] = expr
        starts: dict[str, float] = {}
        groups: dict[str, list[float]] = {}
        for p in self.scalars:
            v = vectors.get(p)
            if not v:
                raise DataError(f"template result has no value for parameter {p!r}")
            starts[p] = float(v[0])
        for p in self.per_group:
            v = [float(x) for x in vectors.get(p) or []]
            if v:
                groups[p] = v
                starts[p] = float(np.median(v))
            else:
                starts[p] = 0.0
        return self._sympy(self.tree, subs, variable_map), starts, groups

    def _sympy(self, node, subs, vmap) -> sympy.Expr:
        if isinstance(node, ast.Constant):
            return sympy.Float(float(node.value)) if isinstance(node.value, float) else sympy.Integer(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.variables:
                return vmap[node.id]
            return make_symbol(node.id)
        if isinstance(node, ast.UnaryOp):
            inner = self._sympy(node.operand, subs, vmap)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            a, b = self._sympy(node.left, subs, vmap), self._sympy(node.right, subs, vmap)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if isinstance(node.op, ast.Div):
                return a / b
            return a**b
        if isinstance(node, ast.Subscript):
            return make_symbol(node.value.id)
        if isinstance(node, ast.Call):
            args = [self._sympy(a, subs, vmap) for a in node.args]
            if node.func.id in TEMPLATE_FUNCTIONS:
                return FUNCTIONS[node.func.id](args[0])
            body = subs[node.func.id]
            return body.xreplace({make_symbol(f"arg_{i}_"): a for i, a in enumerate(args, start=1)})
        raise DataError("template node not supported")  # pragma: no cover


def default_group_template(variables: Sequence[str], n_groups: int) -> Template:
    """Per-group offset and scale around one shared sub-expression of every variable."""
    return Template.from_text(f"b[group] + a[group] * f({', '.join(variables)})", variables, n_groups=n_groups)


# --------------------------------------------------------------------------- hall of fame -> laws
_JULIA_FLOAT = re.compile(r"\b(\d+\.?\d*)[fF]([+-]?\d+)\b")
_VECTOR = re.compile(r"^\[\s*([^\[\]]*)\]$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _parse_equation(text: str, what: str) -> sympy.Expr:
    """One Julia-printed expression -> SymPy via the safe parser (``^`` is a power, Julia floats read)."""
    if not isinstance(text, str):
        raise DataError(f"{what} is not text")
    if "#" in text or "\n" in text or "**" in text or ";" in text:
        raise DataError(f"{what} {text[:80]!r} rejected: unexpected characters")
    text = _JULIA_FLOAT.sub(r"\1e\2", text).replace("^", "**")
    return parse_formula(text, name=what)


def _parse_vector(text: str) -> list[float]:
    m = _VECTOR.match(text.strip())
    if not m:
        raise DataError(f"parameter vector {text[:60]!r} is not a list of numbers")
    out = []
    for item in m.group(1).split(","):
        item = _JULIA_FLOAT.sub(r"\1e\2", item.strip())
        if item in {"...", "…"}:
            return []  # printed abbreviated: values unknown, the fitter starts from defaults
        if not _NUMBER.match(item):
            raise DataError(f"parameter vector entry {item[:30]!r} is not a number")
        v = float(item)
        if not math.isfinite(v):
            raise DataError("parameter vector has a non-finite entry")
        out.append(v)
    return out


def _template_parts(text: str) -> tuple[dict[str, str], dict[str, list[float]]]:
    parts, vectors = {}, {}
    for piece in text.split(";"):
        if "=" not in piece:
            raise DataError(f"template equation part {piece[:60]!r} has no '='")
        name, _, rhs = piece.partition("=")
        name, rhs = name.strip(), rhs.strip()
        if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", name) or name in parts or name in vectors:
            raise DataError(f"template equation part name {name[:30]!r} rejected")
        if rhs.startswith("["):
            vectors[name] = _parse_vector(rhs)
        else:
            parts[name] = rhs
    return parts, vectors


def _as_map(variable_map: Mapping[str, sympy.Expr | str]) -> dict[str, sympy.Expr]:
    out = {}
    for name, target in variable_map.items():
        if isinstance(target, str):
            target = parse_formula(target, name=f"variable map entry {name!r}")
        target = target.xreplace({s: sympy.Symbol(str(s), positive=True) for s in target.free_symbols})
        out[name] = target
    return out


def read_hall_of_fame(source) -> pd.DataFrame:
    """A hall of fame as a frame with columns complexity, loss, equation (file path or frame)."""
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise DataError(f"cannot read hall of fame {str(path)!r}: {err.strerror}") from None
        try:
            frame = pd.read_csv(StringIO(text), dtype={"Equation": str, "equation": str})
        except (ValueError, pd.errors.ParserError) as err:
            raise DataError(f"hall of fame {str(path)!r} is not a CSV file: {err}") from None
    frame = frame.rename(columns={c: c.strip().lower() for c in frame.columns})
    missing = {"complexity", "loss", "equation"} - set(frame.columns)
    if missing:
        raise DataError(f"hall of fame lacks column(s) {sorted(missing)} (expected Complexity, Loss, Equation)")
    return frame


def parse_hall_of_fame(source, variable_map: Mapping[str, sympy.Expr | str], *, template: Template | None = None,
                       log_target: bool = False, seed: int = 0, features: Sequence[str] | None = None,
                       grouped: bool = False, engine: str = "pysr", errors: list | None = None,
                       max_constants: int = MAX_CONSTANTS, max_nonlinear: int = MAX_NONLINEAR) -> list[Candidate]:
    """Candidate laws in the original variables from a PySR hall of fame (CSV path or frame).

    ``variable_map`` maps the names the search saw (``z0``...) to expressions in
    the original variables (SymPy, or formula text parsed safely), e.g.
    ``{"z0": "(log(params) - 20.1)/1.7"}``. ``template`` reads template
    equations (``f = #1 * 0.5; E = [1.7]``). With ``log_target`` the search
    modelled ``log y``, so each law is ``exp(equation)``. Rows whose equation
    the safe parser rejects, or that use unknown names, are skipped (their
    reasons appended to ``errors`` when given).
    """
    frame = read_hall_of_fame(source)
    vmap = _as_map(variable_map)
    if features is None:
        seen = []
        for e in vmap.values():
            seen.extend(sorted(str(s) for s in e.free_symbols))
        features = list(dict.fromkeys(seen))
    laws = []
    for _, row in frame.iterrows():
        eq = row["equation"]
        try:
            complexity = int(row["complexity"])
            loss = float(row["loss"])
            if template is not None:
                parts, vectors = _template_parts(str(eq))
                expr, scalars, group_values = template.to_sympy(parts, vectors, vmap)
            else:
                expr = _parse_equation(str(eq), "hall-of-fame equation")
                unknown = {str(s) for s in expr.free_symbols} - set(vmap)
                if unknown:
                    raise DataError(f"equation uses unknown names {sorted(unknown)}")
                expr = expr.xreplace({make_symbol(n): vmap[n] for n in {str(s) for s in expr.free_symbols}})
                scalars, group_values = {}, {}
        except (DataError, ValueError, TypeError) as err:
            if errors is not None:
                errors.append(f"{str(eq)[:80]!r}: {err}")
            continue
        if log_target:
            expr = sympy.exp(expr)
        cand = expression_to_law(
            expr, features, provenance=f"engine: {engine}, seed {seed}", scalars=scalars,
            description=f"PySR hall of fame, complexity {complexity}" + (", fitted to log target" if log_target else ""),
            grouped=grouped, max_constants=max_constants, max_nonlinear=max_nonlinear, per_group=(template.per_group if template is not None and template.per_group else None),
            engine_model=str(eq), engine_score=loss, engine_complexity=complexity,
            group_vectors=group_values or None,
        )
        if cand is None:
            if errors is not None:
                errors.append(f"{str(eq)[:80]!r}: not a usable law (no variable, or too many constants)")
            continue
        laws.append(cand)
    return laws


# --------------------------------------------------------------------------- the search
def law_guess(law: Law, forward: Mapping[str, sympy.Expr], log_target: bool = False) -> str | None:
    """A catalog law as a PySR guess string over the engine's variables, or None if it cannot be one."""
    values = law.published or {n: p.starts()[0] for n, p in law.params.items()}
    if set(law.variables) - set(forward):
        return None
    expr = law.expr.xreplace({make_symbol(n): sympy.Float(v) for n, v in values.items()})
    expr = expr.xreplace({sympy.Symbol(v, positive=True): forward[v] for v in law.variables})
    if log_target:
        expr = sympy.log(expr)
    ok = (sympy.Add, sympy.Mul, sympy.Pow, sympy.exp, sympy.log, sympy.Symbol, sympy.Number)
    if any(not isinstance(n, ok) for n in sympy.preorder_traversal(expr)) or expr.has(sympy.zoo, sympy.nan):
        return None
    return sympy.sstr(expr).replace("**", "^")


def regressor_kwargs(*, seed: int, timeout: float, log_loss: bool, deterministic: bool = False,
                     maxsize: int = 25, niterations: int = 10**6, guesses: Sequence[str] | None = None,
                     output_directory: str | None = None, extra: Mapping | None = None) -> dict:
    """Keyword arguments for ``PySRRegressor``: the scaling-law setup (pure; no PySR import)."""
    kw = dict(
        binary_operators=list(BINARY_OPERATORS),
        unary_operators=list(UNARY_OPERATORS),
        constraints=dict(CONSTRAINTS),
        nested_constraints={k: dict(v) for k, v in NESTED_CONSTRAINTS.items()},
        precision=64,
        maxsize=int(maxsize),
        niterations=int(niterations),
        timeout_in_seconds=max(1.0, float(timeout)),
        random_state=int(seed),
        model_selection="best",
        verbosity=0,
        progress=False,
    )
    if log_loss:
        kw["elementwise_loss"] = LOG_LOSS
    if deterministic:
        kw["deterministic"] = True
        kw["parallelism"] = "serial"
    if guesses:
        kw["guesses"] = list(guesses)
    if output_directory:
        kw["output_directory"] = output_directory
    kw.update(dict(extra or {}))
    return kw


class PySREngine:
    """PySR (Julia) symbolic regression, set up for scaling laws; skipped with a clear warning without Julia."""

    name = "pysr"

    def __init__(self, template: str | None = None, log_target: bool = False, deterministic: bool = False,
                 maxsize: int = 25, guesses: bool = True, reserve: float = 0.25, max_constants: int = MAX_CONSTANTS,
                 max_nonlinear: int = MAX_NONLINEAR, **pysr_options):
        self.template = template
        self.log_target = bool(log_target)
        self.deterministic = bool(deterministic)
        self.maxsize = int(maxsize)
        self.use_guesses = bool(guesses)
        self.reserve = float(reserve)
        self.max_constants = int(max_constants)
        self.max_nonlinear = int(max_nonlinear)
        self.pysr_options = dict(pysr_options)  # passed through: procs, cluster_manager, populations, ...
        self.n_tried = None
        self.errors: list[str] = []

    def available(self) -> tuple[bool, str]:
        return julia_status()

    def version(self) -> str:
        try:
            return f"pysr {version('pysr')}"
        except PackageNotFoundError:
            return "pysr (not installed)"

    def setup(self, task: EngineTask) -> dict:
        """Everything the search needs, without PySR: inputs, target, template, regressor arguments."""
        transform = InputTransform.fit(task.X_train, task.features)
        Z = transform.apply(task.X_train)
        y = np.asarray(task.y_train, dtype=float)
        positive = bool(len(y)) and bool(np.all(y > 0))
        log_target = self.log_target and positive
        log_loss = positive and not log_target
        names = list(transform.names)
        groups = None
        template = None
        n_groups = 0
        if task.grouped:
            levels = sorted({str(g) for g in np.asarray(task.groups_train)} | {str(g) for g in np.asarray(task.groups_val)})
            n_groups = len(levels)
            index = {g: i + 1 for i, g in enumerate(levels)}
            groups = np.array([index[str(g)] for g in np.asarray(task.groups_train)], dtype=float)
        if self.template:
            template = Template.from_text(self.template, names, rename=dict(zip(task.features, names)), n_groups=n_groups)
        elif task.grouped:
            template = default_group_template(names, n_groups)
        X = np.column_stack([Z, groups]) if template is not None and template.n_groups else Z
        variable_names = names + ([GROUP_VAR] if template is not None and template.n_groups else [])
        guesses = []
        if self.use_guesses and template is None:
            forward = transform.forward_map()
            for law in task.known_laws:
                g = law_guess(law, forward, log_target)
                if g:
                    guesses.append(g)
        kwargs = regressor_kwargs(seed=task.seed, timeout=task.time_left * (1.0 - self.reserve), log_loss=log_loss,
                                  deterministic=self.deterministic, maxsize=self.maxsize, guesses=guesses or None,
                                  extra=self.pysr_options)
        t = np.log(y) if log_target else y
        return {"X": X, "y": t, "variable_names": variable_names, "transform": transform, "template": template,
                "log_target": log_target, "kwargs": kwargs}

    def propose(self, task: EngineTask) -> list[Candidate]:
        ok, why = julia_status()
        if not ok:
            raise RuntimeError(why)
        plan = self.setup(task)
        import pysr  # noqa: F401 - starts Julia; only reached when julia_status() found one

        kwargs = dict(plan["kwargs"])
        supported = _init_parameters(pysr.PySRRegressor)
        if "guesses" in kwargs and "guesses" not in supported:
            kwargs.pop("guesses")
        if plan["template"] is not None:
            kwargs["expression_spec"] = pysr.TemplateExpressionSpec(**plan["template"].spec_kwargs())
        with tempfile.TemporaryDirectory(prefix="discover-pysr-") as tmp:
            kwargs.setdefault("output_directory", tmp)
            kwargs["timeout_in_seconds"] = max(1.0, task.time_left * (1.0 - self.reserve))
            model = pysr.PySRRegressor(**kwargs)
            model.fit(plan["X"], plan["y"], variable_names=plan["variable_names"])
            frame = model.equations_
            if isinstance(frame, list):  # multi-output never happens here; be safe
                frame = frame[0]
            frame = frame[[c for c in frame.columns if c.lower() in {"complexity", "loss", "equation"}]]
        self.errors = []
        laws = parse_hall_of_fame(frame, plan["transform"].inverse_map(), template=plan["template"],
                                  log_target=plan["log_target"], seed=task.seed, features=task.features,
                                  grouped=task.grouped, errors=self.errors,
                                  max_constants=min(self.max_constants, task.max_constants or self.max_constants),
                                  max_nonlinear=self.max_nonlinear)
        self.n_tried = len(frame)
        return laws


def _init_parameters(cls) -> set[str]:
    try:
        return set(inspect.signature(cls.__init__).parameters)
    except (TypeError, ValueError):  # pragma: no cover
        return set()
