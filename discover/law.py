"""The one type for a candidate law, everywhere in the project.

A :class:`Law` is a SymPy expression over *variables* (table columns, by their
formula identifiers) and free *constants*. Each constant carries bounds and a
few initial values for multi-start fitting, and optionally a published value.
A law also says where it came from (``catalog: Hoffmann et al. 2022`` or
``engine: grammar, seed 3``).

A law may carry fitted constants: ``constants`` maps name → value, or, when it
was fitted per group, group → {name → value}. Laws are immutable; fitting
returns a new law (:meth:`Law.with_constants`).

One module, though long: the type, its constants (:class:`Param`), its numeric
form and its JSON form change together whenever a law learns something new.
"""

from __future__ import annotations

import dataclasses
import html
import keyword
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping, Sequence

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from . import schema
from .errors import DataError
from .formula import make_symbol, parse_formula, symbol_name, to_text


@dataclass(frozen=True)
class Param:
    """A free constant of a law: bounds, initial values for multi-start, published value.

    ``log_scale`` asks the fitter to search this constant in log space (it must be
    positive): right for scales such as Kaplan's N_c ~ 1e13 that are not linear
    coefficients.
    """

    name: str
    lower: float = -math.inf
    upper: float = math.inf
    init: tuple[float, ...] = ()
    published: float | None = None
    log_scale: bool = False

    def __post_init__(self):
        if not self.lower < self.upper:
            raise DataError(f"constant {self.name}: lower bound {self.lower} is not below upper bound {self.upper}")
        if self.log_scale and self.lower < 0:
            raise DataError(f"constant {self.name}: log_scale needs a non-negative lower bound")

    def starts(self) -> tuple[float, ...]:
        """Initial values, clipped into the bounds."""
        values = self.init or (self.default_start(),)
        out = []
        for v in values:
            v = min(max(float(v), self.lower), self.upper)
            if self.log_scale and v <= 0:
                v = max(self.lower, 1e-12)
            out.append(v)
        return tuple(dict.fromkeys(out))

    def default_start(self) -> float:
        if self.lower <= 1.0 <= self.upper:
            return 1.0
        if math.isfinite(self.lower) and math.isfinite(self.upper):
            return 0.5 * (self.lower + self.upper)
        return self.lower + 1.0 if math.isfinite(self.lower) else self.upper - 1.0

    def to_dict(self) -> dict:
        return {
            "lower": _num(self.lower),
            "upper": _num(self.upper),
            "init": list(self.init),
            "published": self.published,
            "log_scale": self.log_scale,
        }

    @classmethod
    def from_dict(cls, name: str, data: Mapping, where: str = "param") -> "Param":
        data = schema.mapping(data, where)
        return cls(
            name=name,
            lower=schema.number(data.get("lower", -math.inf), f"{where}.lower", finite=False),
            upper=schema.number(data.get("upper", math.inf), f"{where}.upper", finite=False),
            init=tuple(schema.number(v, f"{where}.init[{i}]")
                       for i, v in enumerate(schema.sequence(data.get("init", []), f"{where}.init"))),
            published=schema.number(data.get("published"), f"{where}.published", optional=True),
            log_scale=schema.flag(data.get("log_scale"), f"{where}.log_scale", default=False),
        )


def _num(x: float):
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


class _softplus(sympy.Function):
    """log(1 + exp(u)), evaluated by numpy as logaddexp(0, u): never overflows."""


class _StablePrinter(NumPyPrinter):
    """NumPy code of a law as :func:`compile_numpy` evaluates it (softplus as ``numpy.logaddexp``)."""

    def _print__softplus(self, e):
        return f"numpy.logaddexp(0, {self._print(e.args[0])})"


def _stable(expr: sympy.Expr) -> sympy.Expr:
    """``(1 + B**q)**p`` rewritten as ``exp(p * softplus(q * log(B)))`` for numpy.

    A broken power law's ``(1 + (x/d)**(1/f))**(c*f)`` overflows once ``(x/d)**(1/f)``
    passes 1e308 (a sharp break, a little past it), though the factor itself is about
    ``(x/d)**c`` there; in logs it is finite wherever the law is. Integer powers are
    left alone (their base may be negative)."""
    def match(e):
        if not (e.is_Pow and isinstance(e.base, sympy.Add) and len(e.base.args) == 2 and not e.exp.is_Integer):
            return False
        one, other = sorted(e.base.args, key=lambda a: 0 if a == 1 else 1)
        return one == 1 and other.is_Pow and not other.exp.is_Integer

    def rewrite(e):
        inner = next(a for a in e.base.args if a != 1)
        return sympy.exp(e.exp * _softplus(inner.exp * sympy.log(inner.base)))

    return expr.replace(match, rewrite)


def compile_numpy(args: Sequence[sympy.Symbol], expr):
    """A numpy function of ``args`` for an expression (or a list of them), overflow-safe
    where :func:`_stable` knows how."""
    stable = [_stable(e) for e in expr] if isinstance(expr, (list, tuple)) else _stable(expr)
    return sympy.lambdify(list(args), stable, modules=[{"_softplus": lambda u: np.logaddexp(0.0, u)}, "numpy"])


#: How a law draws itself (``Law.plot``): set by :mod:`discover.report`, where the figures live.
PLOTTERS: dict = {}


def register_plotter(fn) -> None:
    """Called by :mod:`discover.report` on import: ``fn(law, data, target=None, x=None)`` draws a law."""
    PLOTTERS["law"] = fn


@dataclass(frozen=True)
class Law:
    """A candidate law: expression, variables, constants, provenance, fitted values."""

    name: str
    expr: sympy.Expr
    variables: tuple[str, ...]
    params: Mapping[str, Param]
    provenance: str = "user"
    citation: str | None = None
    description: str = ""
    constants: Mapping[str, Any] | None = None
    group: str | None = None
    shared: tuple[str, ...] = ()

    # ------------------------------------------------------------------ build
    @classmethod
    def from_formula(
        cls,
        formula: str | sympy.Expr,
        variables: Sequence[str],
        *,
        name: str | None = None,
        params: Mapping[str, Param | Mapping] | None = None,
        published: Mapping[str, float] | None = None,
        provenance: str = "user",
        citation: str | None = None,
        description: str = "",
    ) -> "Law":
        """Build a law from formula text (parsed safely) or a SymPy expression.

        Constants are the free symbols that are not variables. Those not named in
        ``params`` get default bounds and starts by their role in the formula:
        a constant used as an exponent starts from a small grid of exponents.
        """
        expr = parse_formula(formula, name=f"law {name or formula!r}") if isinstance(formula, str) else formula
        variables = tuple(symbol_name(v) for v in variables)
        names = sorted(str(s) for s in expr.free_symbols)
        const_names = [n for n in names if n not in variables]
        given = dict(params or {})
        published = dict(published or {})
        unknown = set(given) - set(const_names)
        if unknown:
            raise DataError(f"law {name or formula!r}: parameters {sorted(unknown)} do not appear in the formula")
        unknown = set(published) - set(const_names)
        if unknown:
            raise DataError(f"law {name or formula!r}: published values for unknown constants {sorted(unknown)}")
        out: dict[str, Param] = {}
        for c in const_names:
            p = given.get(c)
            if p is None:
                p = default_param(expr, c)
            elif isinstance(p, Mapping):
                p = Param(name=c, **p)
            if c in published:
                p = dataclasses.replace(p, published=float(published[c]))
            out[c] = p
        return cls(
            name=name or to_text(expr),
            expr=expr,
            variables=variables,
            params=out,
            provenance=provenance,
            citation=citation,
            description=description,
        )

    def __post_init__(self):
        expr = self.expr
        if not isinstance(expr, sympy.Expr):
            raise DataError(f"law {self.name}: expression is not a SymPy expression")
        # Canonical symbols: variables are positive (scales, sizes), constants real.
        repl = {}
        for s in expr.free_symbols:
            n = str(s)
            want = sympy.Symbol(n, positive=True) if n in self.variables else make_symbol(n)
            if s != want:
                repl[s] = want
        numbers = {sympy.E: sympy.Float(math.e), sympy.pi: sympy.Float(math.pi)}
        if repl:
            expr = expr.xreplace(repl)
        if expr.has(sympy.E) or expr.has(sympy.pi):
            expr = expr.xreplace(numbers)
        object.__setattr__(self, "expr", expr)
        object.__setattr__(self, "variables", tuple(self.variables))
        missing = {str(s) for s in expr.free_symbols} - set(self.variables) - set(self.params)
        if missing:
            raise DataError(f"law {self.name}: symbols {sorted(missing)} are neither variables nor constants")
        if not self.used_variables:
            raise DataError(f"law {self.name}: formula uses none of its variables {list(self.variables)}")

    # ------------------------------------------------------------- properties
    @property
    def used_variables(self) -> tuple[str, ...]:
        """The variables the formula uses (a law may declare one it does not, e.g. a closing share)."""
        names = {str(s) for s in self.expr.free_symbols}
        return tuple(v for v in self.variables if v in names)

    @property
    def constant_names(self) -> tuple[str, ...]:
        return tuple(self.params)

    @property
    def n_constants(self) -> int:
        return len(self.params)

    @cached_property
    def complexity(self) -> int:
        """Number of nodes in the expression tree (numbers and symbols count 1)."""
        return expression_complexity(self.expr)

    @property
    def formula(self) -> str:
        return to_text(self.expr)

    @property
    def latex(self) -> str:
        return self.to_latex()

    @property
    def published(self) -> dict[str, float] | None:
        values = {n: p.published for n, p in self.params.items()}
        if any(v is None for v in values.values()):
            return None
        return values

    @property
    def is_fitted(self) -> bool:
        return self.constants is not None

    @property
    def grouped(self) -> bool:
        return self.group is not None

    def symbols(self) -> tuple[list[sympy.Symbol], list[sympy.Symbol]]:
        vs = [sympy.Symbol(v, positive=True) for v in self.variables]
        cs = [make_symbol(c) for c in self.params]
        return vs, cs

    @cached_property
    def _function(self):
        vs, cs = self.symbols()
        return compile_numpy(vs + cs, self.expr)

    def evaluate(self, X: Mapping[str, np.ndarray] | np.ndarray, values: Mapping[str, Any]) -> np.ndarray:
        """Evaluate with explicit constant values (arrays broadcast per row)."""
        cols = self._columns(X)
        args = cols + [np.asarray(values[c], dtype=float) for c in self.params]
        with np.errstate(all="ignore"):
            out = self._function(*args)
        n = len(cols[0]) if cols else 1
        return np.broadcast_to(np.asarray(out, dtype=float), (n,)).copy()

    def _columns(self, X) -> list[np.ndarray]:
        if isinstance(X, np.ndarray):
            if X.ndim != 2 or X.shape[1] != len(self.variables):
                raise DataError(f"law {self.name} needs {len(self.variables)} columns {list(self.variables)}, got array of shape {X.shape}")
            return [X[:, i].astype(float) for i in range(X.shape[1])]
        cols = []
        for v in self.variables:
            if v not in X:
                raise DataError(f"law {self.name} needs column {v!r}, which the table does not have")
            cols.append(np.asarray(X[v], dtype=float))
        return cols

    def predict(self, X, groups: Sequence | np.ndarray | None = None) -> np.ndarray:
        """Predict with the fitted constants; ``groups`` picks per-group constants."""
        if self.constants is None:
            raise DataError(f"law {self.name} has no fitted constants; fit it first")
        if not self.grouped:
            return self.evaluate(X, self.constants)
        if groups is None:
            if isinstance(X, Mapping) or hasattr(X, "columns"):
                if self.group in X:
                    groups = np.asarray(X[self.group])
            if groups is None:
                raise DataError(f"law {self.name} has per-group constants; give the group column {self.group!r}")
        groups = np.asarray(groups).astype(str)
        values = {}
        for c in self.params:
            arr = np.full(len(groups), np.nan)
            for g in np.unique(groups):
                if g not in self.constants:
                    raise DataError(f"law {self.name}: group {str(g)!r} was not seen in fitting, so it has no constants")
                arr[groups == g] = self.constants[g][c]
            values[c] = arr
        return self.evaluate(X, values)

    # ---------------------------------------------------------------- derive
    def with_constants(self, constants, *, group: str | None = None, shared: Sequence[str] = ()) -> "Law":
        return dataclasses.replace(self, constants=constants, group=group, shared=tuple(shared))

    def bind(self, mapping: Mapping[str, str]) -> "Law":
        """Rename variables to table columns: ``{"N": "params", "D": "tokens"}``."""
        mapping = {k: symbol_name(v) for k, v in mapping.items()}
        clash = set(mapping.values()) & set(self.params)
        if clash:
            # A column named like a constant: rename the constant out of the way.
            law = self.rename_constants({c: c + "_" for c in clash})
            return law.bind(mapping)
        repl = {sympy.Symbol(k, positive=True): sympy.Symbol(v, positive=True) for k, v in mapping.items() if k != v}
        expr = self.expr.xreplace(repl)
        variables = tuple(mapping.get(v, v) for v in self.variables)
        return dataclasses.replace(self, expr=expr, variables=variables)

    def rename_constants(self, mapping: Mapping[str, str]) -> "Law":
        repl = {make_symbol(k): make_symbol(v) for k, v in mapping.items()}
        params = {mapping.get(n, n): dataclasses.replace(p, name=mapping.get(n, n)) for n, p in self.params.items()}
        return dataclasses.replace(self, expr=self.expr.xreplace(repl), params=params)

    # ------------------------------------------------------------ serialise
    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "expression": self.formula,
            "latex": self.latex,
            "variables": list(self.variables),
            "params": {n: p.to_dict() for n, p in self.params.items()},
            "constants": _plain(self.constants),
            "group": self.group,
            "shared": list(self.shared),
            "provenance": self.provenance,
            "citation": self.citation,
            "description": self.description,
            "complexity": self.complexity,
            "n_constants": self.n_constants,
        }

    @classmethod
    def from_dict(cls, data: Mapping, where: str = "law") -> "Law":
        """Read a law back (from results.json): every field checked, the expression through the safe parser."""
        data = schema.mapping(data, where)
        expression = schema.text(data.get("expression"), f"{where}.expression")
        variables = [schema.text(v, f"{where}.variables[{i}]")
                     for i, v in enumerate(schema.sequence(data.get("variables"), f"{where}.variables"))]
        expr = parse_formula(expression, name=f"law {data.get('name')!r}")
        params = {str(n): Param.from_dict(str(n), p, f"{where}.params.{n}")
                  for n, p in schema.mapping(data.get("params", {}), f"{where}.params").items()}
        shared = [schema.text(v, f"{where}.shared[{i}]")
                  for i, v in enumerate(schema.sequence(data.get("shared", []), f"{where}.shared"))]
        return cls(
            name=schema.text(data.get("name", expression), f"{where}.name"),
            expr=expr,
            variables=tuple(variables),
            params=params,
            provenance=schema.text(data.get("provenance", "user"), f"{where}.provenance"),
            citation=schema.text(data.get("citation"), f"{where}.citation", optional=True),
            description=schema.text(data.get("description", ""), f"{where}.description"),
            constants=schema.constants(data.get("constants"), f"{where}.constants"),
            group=schema.text(data.get("group"), f"{where}.group", optional=True),
            shared=tuple(shared),
        )

    # ------------------------------------------------------------ export
    def to_sympy(self, values: bool = False) -> sympy.Expr:
        """The law's SymPy expression; with ``values=True`` the fitted constants substituted (one set
        of constants only: a law fitted per group has one per group)."""
        if not values:
            return self.expr
        return self.expr.xreplace({make_symbol(n): sympy.Float(v) for n, v in self._single_constants().items()})

    def to_latex(self, values: bool = False, digits: int = 4) -> str:
        """LaTeX of the law (``values=True``: with its fitted constants to ``digits`` significant
        digits). A variable named by a word (``params``, ``data_size``) is set upright, as a paper sets
        it, not as a product of italic letters."""
        names = {}
        for sym in self.expr.free_symbols:
            v, base = sym.name, sym.name.split("_")[0]
            if v in self.variables and len(base) > 1 and not sympy.latex(sympy.Symbol(base)).startswith("\\"):
                names[sym] = r"\mathrm{" + v.replace("_", r"\_") + "}"  # a word, not a Greek letter
        expr = self.expr
        if values:
            expr = expr.xreplace({make_symbol(n): sympy.Float(float(f"{v:.{digits}g}"), digits)
                                  for n, v in self._single_constants().items()})
        return sympy.latex(expr, symbol_names=names, full_prec=False)

    def to_python(self, name: str = "law") -> str:
        """The text of a standalone NumPy function computing the fitted law (to paste into a paper's code).

        Its arguments are the law's variables (arrays); a law fitted per group takes ``group`` too and
        holds a table of every group's constants."""
        if self.constants is None:
            raise DataError(f"law {self.name} has no fitted constants; fit it first")
        for v in (*self.variables, *self.params, name):
            if not v.isidentifier() or keyword.iskeyword(v):
                raise DataError(f"law {self.name}: {v!r} is not a Python name, so the law cannot be written as Python")
        # the overflow-safe form predict() evaluates, so that the text computes what predict computes
        body = _StablePrinter({"fully_qualified_modules": True}).doprint(_stable(self.expr))
        group = next(g for g in ("group", "group_label", "group_name") if g not in (*self.variables, *self.params, name))
        lines = [f"def {name}({', '.join(self.variables)}{', ' + group if self.grouped else ''}):",
                 f'    """{self.formula} (fitted by discover{", per group" if self.grouped else ""}; '
                 f'{group + ": one label, or one per row" if self.grouped else "arrays or numbers"})."""',
                 "    import numpy"]
        if self.grouped:
            table = {str(g): {n: float(v[n]) for n in self.params} for g, v in self.constants.items()}
            lines.append(f"    table = {table!r}")
            lines.append(f"    labels = numpy.asarray({group}).astype(str)")
            lines += [f"    {n} = numpy.vectorize(lambda g: table[g][{n!r}], otypes=[float])(labels)"
                      for n in self.params]
        else:
            lines += [f"    {n} = {float(self.constants[n])!r}" for n in self.params]
        lines.append(f"    return {body}")
        return "\n".join(lines) + "\n"

    def plot(self, data, target: str | None = None, x: str | None = None):
        """A matplotlib Figure of the fitted law on a table's rows (against ``x``, its first variable by
        default), with the observed ``target`` when given."""
        if self.constants is None:
            raise DataError(f"law {self.name} has no fitted constants; fit it first")
        return PLOTTERS["law"](self, data, target=target, x=x)

    def _repr_latex_(self) -> str:
        return f"${self.latex}$"

    def _repr_html_(self) -> str:
        rows = ""
        if self.constants is not None and not self.grouped:
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{float(v):.6g}</td></tr>" for k, v in self.constants.items())
            rows = f"<table><tr><th>constant</th><th>value</th></tr>{rows}</table>"
        elif self.grouped:
            rows = f"<p>constants for {len(self.constants)} groups (<code>law.constants</code>)</p>"
        return (f"<div><b>{html.escape(self.name)}</b> <small>({html.escape(self.provenance)})</small>"
                f"<p>$${self.latex}$$</p><p><code>{html.escape(self.formula)}</code></p>{rows}</div>")

    def _single_constants(self) -> Mapping[str, float]:
        if self.constants is None:
            raise DataError(f"law {self.name} has no fitted constants; fit it first")
        if self.grouped:
            raise DataError(f"law {self.name} has constants per group; substitute one group's yourself")
        return self.constants

    def __getstate__(self):
        """Pickle without the compiled function (it is rebuilt on first use), so laws can
        travel to worker processes and Dask workers."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_function", "complexity")}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"Law({self.name!r}: {self.formula})"


def _plain(obj):
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    return float(obj)


def expression_complexity(expr: sympy.Expr) -> int:
    return sum(1 for _ in sympy.preorder_traversal(expr))


def default_param(expr: sympy.Expr, name: str) -> Param:
    """Bounds and starts for a constant the user did not describe, from its role.

    A constant that appears in an exponent is exponent-like: bounded to
    [-10, 10] and started from a small grid. Others are unbounded and started
    at 1 (linear coefficients are solved exactly by the fitter anyway).
    """
    sym = make_symbol(name)
    in_exponent = any(
        isinstance(node, sympy.Pow) and sym in node.exp.free_symbols
        or isinstance(node, sympy.exp) and sym in node.args[0].free_symbols and node.args[0].has(sympy.log)
        for node in sympy.preorder_traversal(expr)
    )
    if in_exponent:
        return Param(name=name, lower=-10.0, upper=10.0, init=(0.1, 0.3, 0.7))
    return Param(name=name, init=(1.0,))

