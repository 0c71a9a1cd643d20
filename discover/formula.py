"""Safe parsing of formula text into SymPy expressions.

Formulas arrive from users (``--law "E + A/N**alpha"``), catalog files and
results.json read back from disk. None of that text is ever evaluated: it is
parsed by Python's ``ast`` (a parser, not an evaluator) and the tree is walked
against a whitelist of node types, operators, functions and names, building the
SymPy expression node by node. Anything else — attribute access, subscripts,
lambdas, calls to unknown names, dunder names, keyword arguments, strings — is
rejected with a one-line :class:`~discover.errors.DataError`.

Numbers are bounded too: every purely numeric sub-expression (``9**9**9``,
``exp(exp(1e3))``, a 400-digit literal) is also computed in float64 alongside
the SymPy node and rejected when it overflows or is undefined, so SymPy never
has to evaluate an unbounded number (mpmath would happily try to build
``exp(exp(1e308))`` digit by digit) and parsing can never hang.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import warnings

import sympy
from sympy.printing.str import StrPrinter

from .errors import DataError

MAX_LENGTH = 4000
MAX_NODES = 800
MAX_DEPTH = 60

# Function names a formula may call, and the SymPy function each builds.
FUNCTIONS = {
    "exp": sympy.exp,
    "log": sympy.log,
    "ln": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "Abs": sympy.Abs,
    "tanh": sympy.tanh,
    "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)),
    "min": sympy.Min,
    "Min": sympy.Min,
    "max": sympy.Max,
    "Max": sympy.Max,
    "log10": lambda x: sympy.log(x) / sympy.log(10),
    "log2": lambda x: sympy.log(x) / sympy.log(2),
}
_ARITY = {"min": (2, 8), "Min": (2, 8), "max": (2, 8), "Max": (2, 8)}


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


# The float64 counterpart of each function, used to bound numeric sub-expressions.
_FLOAT_FUNCTIONS = {
    "exp": math.exp, "log": math.log, "ln": math.log, "sqrt": math.sqrt, "abs": abs, "Abs": abs,
    "tanh": math.tanh, "sigmoid": _sigmoid, "min": min, "Min": min, "max": max, "Max": max,
    "log10": math.log10, "log2": math.log2,
}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


#: Identifiers a table column may not take inside formulas: the formula language's functions, Python's
#: keywords, and the names numeric code generated from a formula calls or reads (a column named ``log``
#: would hide NumPy's log). Such a column is known by its name with ``_`` appended (``exp_``).
RESERVED = frozenset({*FUNCTIONS, *keyword.kwlist, *keyword.softkwlist, "numpy", "np", "math", "builtins",
                      "pi", "e", "nan", "inf", "I", "oo", "zoo", "amin", "amax", "minimum", "maximum", "where",
                      "select", "logaddexp", "power", "sin", "cos", "arctan", "sign", "absolute"})


def symbol_name(column: str) -> str:
    """The identifier a table column is known by inside formulas.

    Column names such as ``gab-validation/CrossEntropyLoss`` are not identifiers;
    they are mapped to one by replacing every other character with ``_``; a name
    in :data:`RESERVED` gets a ``_`` appended.
    """
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(column))
    if not name or name[0].isdigit():
        name = "x_" + name
    if name.startswith("__"):
        name = "x" + name
    if name in RESERVED or name.startswith("_"):
        name = name + "_" if not name.startswith("_") else "x" + name
    return name


def make_symbol(name: str) -> sympy.Symbol:
    """A real-valued SymPy symbol (real so that simplification stays sound for x > 0)."""
    return sympy.Symbol(name, real=True)


def parse_formula(text: str, *, name: str = "formula") -> sympy.Expr:
    """Parse formula text into a SymPy expression, safely.

    Accepts ``+ - * / ** ^`` (``^`` means power), parentheses, numbers,
    identifiers and calls to the functions in :data:`FUNCTIONS`. An ``=`` sign
    is allowed once, as in ``L = E + A/N**alpha``: the left side is dropped.
    """
    if not isinstance(text, str):
        raise DataError(f"{name} must be a string, got {type(text).__name__}")
    source = text.strip()
    if "=" in source and "==" not in source and source.count("=") == 1:
        left, right = source.split("=")
        if _NAME.match(left.strip()) or left.strip().endswith(")"):
            source = right.strip()
    if not source:
        raise DataError(f"{name} is empty")
    if len(source) > MAX_LENGTH:
        raise DataError(f"{name} is too long ({len(source)} characters, limit {MAX_LENGTH})")
    # ``^`` means power, with the precedence of ``**`` (Python's ``^`` is xor and binds looser than ``+``,
    # which would read ``E + A/N^a`` as ``(E + A/N)**a``)
    source = source.replace("^", "**")
    try:
        with warnings.catch_warnings():  # e.g. "invalid escape sequence": not a second stderr line
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        raise DataError(f"{name} {text!r} is not a valid formula: {err.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise DataError(f"{name} {text!r} is not a valid formula") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:
        raise DataError(f"{name} is too large ({count} syntax nodes, limit {MAX_NODES})")
    expr = _Builder(text, name).build(tree.body, 0)
    if expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I):
        raise DataError(f"{name} {text!r} rejected: it is undefined, infinite or complex (e.g. log(0), sqrt(-1))")
    if not all(_finite(n) for n in expr.atoms(sympy.Number)):
        # SymPy folds coefficients symbolically (1e308*x*1e308 -> 1e616*x): keep every number a float64
        raise DataError(f"{name} {text!r} rejected: a number in it is outside the floating-point range")
    return expr


class _Builder:
    def __init__(self, text: str, name: str):
        self.text = text
        self.name = name
        self.values: dict = {}  # numeric sub-expression -> its float64 value (always finite)

    def value(self, expr: sympy.Expr) -> float | None:
        """The float64 value of a numeric expression (None when it has symbols), computed
        without SymPy's arbitrary-precision evaluation; overflow or undefined is rejected."""
        if expr.free_symbols:
            return None
        if expr not in self.values:
            self.values[expr] = self.bounded(lambda: _float_value(expr, self.values))
        return self.values[expr]

    def numeric(self, expr: sympy.Expr, v: float) -> sympy.Expr:
        """Remember the (bounded) float64 value of a numeric node just built."""
        self.values.setdefault(expr, v)
        return expr

    def bounded(self, compute) -> float:
        try:
            v = float(compute())
        except (OverflowError, ValueError, ZeroDivisionError, TypeError):
            self.fail("a numeric sub-expression overflows or is undefined")
        if not math.isfinite(v):
            self.fail("a numeric sub-expression overflows")
        return v

    def fail(self, why: str):
        raise DataError(f"{self.name} {self.text!r} rejected: {why}")

    def build(self, node: ast.AST, depth: int) -> sympy.Expr:
        if depth > MAX_DEPTH:
            self.fail(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Constant):
            return self.number(node.value)
        if isinstance(node, ast.Name):
            return self.symbol(node.id)
        if isinstance(node, ast.UnaryOp):
            operand = self.build(node.operand, depth + 1)
            if isinstance(node.op, ast.USub):
                v = self.value(operand)
                return -operand if v is None else self.numeric(-operand, -v)
            if isinstance(node.op, ast.UAdd):
                return operand
            self.fail(f"operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.BinOp):
            left = self.build(node.left, depth + 1)
            right = self.build(node.right, depth + 1)
            a, b = self.value(left), self.value(right)
            if a is not None and b is not None and not isinstance(node.op, (ast.Pow, ast.BitXor)):
                ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                       ast.Div: lambda: a / b}
                compute = ops.get(type(node.op))
                if compute is None:
                    self.fail(f"operator {type(node.op).__name__} is not allowed")
                v = self.bounded(compute)  # overflow / division by zero caught before SymPy sees the numbers
                return self.numeric(self.binary(node.op, left, right), v)
            return self.binary(node.op, left, right)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        self.fail(f"{type(node).__name__} is not allowed in a formula")

    def number(self, value) -> sympy.Expr:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"literal {value!r} is not a number")
        if isinstance(value, int):
            if abs(value) > 10**15:
                try:
                    f = float(value)
                except OverflowError:
                    self.fail("number too large")
                return self.numeric(sympy.Float(f), f)
            return self.numeric(sympy.Integer(value), float(value))
        if not math.isfinite(value):
            self.fail("non-finite number")
        if value.is_integer() and 1e6 <= abs(value) <= 1e15:
            # a round scale written short (1.3e10) is the integer it names, as printed (_TextPrinter)
            return self.numeric(sympy.Integer(int(value)), value)
        return self.numeric(sympy.Float(value), value)

    def symbol(self, ident: str) -> sympy.Expr:
        if ident.startswith("__") or not _NAME.match(ident):
            self.fail(f"name {ident!r} is not allowed")
        if ident in FUNCTIONS:
            self.fail(f"function {ident!r} used as a value")
        return make_symbol(ident)

    def binary(self, op: ast.operator, left: sympy.Expr, right: sympy.Expr) -> sympy.Expr:
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            if right == 0:
                self.fail("division by zero")
            return left / right
        if isinstance(op, (ast.Pow, ast.BitXor)):
            a, b = self.value(left), self.value(right)
            if a is not None and b is not None:
                return self.numeric_power(left, right, a, b)
            if b is not None and abs(b) > 1e4:
                self.fail("exponent too large")
            return left**right
        self.fail(f"operator {type(op).__name__} is not allowed")

    def numeric_power(self, base: sympy.Expr, exponent: sympy.Expr, a: float, b: float) -> sympy.Expr:
        try:
            value = math.pow(a, b)
        except (OverflowError, ValueError, ZeroDivisionError):
            self.fail("numeric power overflows or is undefined")
        if not math.isfinite(value):
            self.fail("numeric power overflows")
        if isinstance(base, sympy.Integer) and isinstance(exponent, sympy.Integer) and exponent >= 0 and abs(value) < 1e15:
            return self.numeric(sympy.Integer(int(round(value))), value)
        return self.numeric(sympy.Float(value), value)

    def call(self, node: ast.Call, depth: int) -> sympy.Expr:
        if not isinstance(node.func, ast.Name):
            self.fail("only plain function names may be called")
        fname = node.func.id
        if fname not in FUNCTIONS:
            self.fail(f"unknown function {fname!r} (allowed: {', '.join(sorted(FUNCTIONS))})")
        if node.keywords:
            self.fail("keyword arguments are not allowed")
        low, high = _ARITY.get(fname, (1, 1))
        if not low <= len(node.args) <= high:
            self.fail(f"{fname}() takes {low if low == high else f'{low} to {high}'} argument(s)")
        args = [self.build(arg, depth + 1) for arg in node.args]
        values = [self.value(a) for a in args]
        if args and all(v is not None for v in values):
            # a function of numbers: bounded in float64 first, so SymPy only ever evaluates tame numbers
            v = self.bounded(lambda: _FLOAT_FUNCTIONS[fname](*values))
            return self.numeric(FUNCTIONS[fname](*args), v)
        return FUNCTIONS[fname](*args)


def _finite(number: sympy.Number) -> bool:
    try:
        return math.isfinite(float(number))
    except (OverflowError, TypeError, ValueError):
        return False


def _float_value(expr: sympy.Expr, known: dict) -> float:
    """float64 value of a symbol-free SymPy expression, node by node (raises on overflow/undefined)."""
    if expr in known:
        return known[expr]
    if expr.is_Number:
        if not expr.is_finite:
            raise ValueError("undefined number")
        return float(expr)
    args = [_float_value(a, known) for a in expr.args]
    if expr.is_Add:
        return math.fsum(args)
    if expr.is_Mul:
        return math.prod(args)
    if expr.is_Pow:
        return math.pow(args[0], args[1])
    for fn, f in ((sympy.exp, math.exp), (sympy.log, math.log), (sympy.tanh, math.tanh), (sympy.Abs, abs),
                  (sympy.Min, min), (sympy.Max, max)):
        if isinstance(expr, fn):
            return f(*args)
    raise ValueError(f"cannot bound {type(expr).__name__}")


class _TextPrinter(StrPrinter):
    """sstr, except that numeric constants SymPy folds into symbols-by-name (``exp(1)`` becomes
    ``E``) are printed so that they read back as numbers, not as a free constant named ``E``."""

    def _print_Exp1(self, expr):
        return "exp(1)"

    def _print_Integer(self, expr):
        # a round scale of seven digits or more reads 1.3e10, not 13000000000 (read back as the integer)
        n = int(expr)
        if 10**6 <= abs(n) <= 10**15 and n % 1000 == 0:
            text = next(t for t in (f"{float(n):.{p}e}" for p in range(17)) if float(t) == n)
            mantissa, exp = text.split("e")
            return f"{mantissa.rstrip('0').rstrip('.')}e{int(exp)}"
        return super()._print_Integer(expr)

    def _print_Float(self, expr):
        # the shortest text that reads back to the same float64 (sstr keeps 15 digits, so
        # 1.7976931348623157e308 would come back as inf and 1/3. as another number); a large or
        # small one in scientific notation, so a scale reads 1.3e+10, not 13000000000.0
        value = float(expr)
        if expr._prec > 53 or not math.isfinite(value):
            return super()._print_Float(expr)
        if value != 0 and not 1e-4 <= abs(value) < 1e6:
            return next(t for t in (f"{value:.{p}e}" for p in range(17)) if float(t) == value)
        return repr(value)

    def _print_NumberSymbol(self, expr):
        return repr(float(expr))

    _print_Pi = _print_NumberSymbol
    _print_EulerGamma = _print_NumberSymbol
    _print_GoldenRatio = _print_NumberSymbol
    _print_Catalan = _print_NumberSymbol


def to_text(expr: sympy.Expr) -> str:
    """The formula text that :func:`parse_formula` reads back to the same expression."""
    return _TextPrinter({"order": "none"}).doprint(expr)
