"""Formulas as math, offline: matplotlib mathtext images of a law's LaTeX.

No CDN, no JavaScript: each formula becomes a small PNG (embedded as a data
URI in report.html). When mathtext cannot typeset a piece of LaTeX, SymPy's
presentation MathML is used instead (rendered natively by current browsers),
and as a last resort the plain formula text.
"""

from __future__ import annotations

import base64
import html
import io
from functools import lru_cache

from matplotlib import mathtext
from sympy.printing.mathml import mathml as sympy_mathml

MAX_LATEX = 2000  # longer formulas are shown as text


@lru_cache(maxsize=512)
def latex_png(latex: str, dpi: int = 130) -> bytes | None:
    """PNG bytes of ``$latex$`` typeset by mathtext, or ``None`` when it cannot be typeset."""
    if not latex or len(latex) > MAX_LATEX:
        return None
    buf = io.BytesIO()
    try:
        mathtext.math_to_image(f"${latex}$", buf, dpi=dpi, format="png")
    except Exception:  # noqa: BLE001 - mathtext raises ValueError/ParseException/... on unsupported LaTeX
        return None
    data = buf.getvalue()
    return data if data.startswith(b"\x89PNG") else None


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def mathml(expr) -> str | None:
    """Presentation MathML of a SymPy expression, wrapped in a ``<math>`` element."""
    try:
        body = sympy_mathml(expr, printer="presentation")
    except Exception:  # noqa: BLE001
        return None
    return f'<math display="inline" xmlns="http://www.w3.org/1998/Math/MathML">{body}</math>'


def formula_html(law, *, css_class: str = "formula") -> str:
    """HTML for a law's formula: a mathtext image (alt text = the formula), else MathML, else code."""
    text = law.formula
    png = latex_png(law.latex)
    if png is not None:
        return (f'<img class="{css_class}" src="{data_uri(png)}" alt="{html.escape(text, quote=True)}" '
                f'title="{html.escape(text, quote=True)}">')
    mm = mathml(law.expr)
    if mm is not None:
        return f'<span class="{css_class}">{mm}</span>'
    return f'<code class="{css_class}">{html.escape(text)}</code>'
