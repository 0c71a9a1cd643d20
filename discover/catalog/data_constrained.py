"""Muennighoff et al. (2023): scaling with repeated data (data-constrained law).

Repeated tokens and excess parameters are worth less than fresh ones. With U
unique tokens, D tokens seen in total and N parameters:

* effective data   D' = U * (1 + R_Dstar * (1 - exp(-(D/U - 1) / R_Dstar)))
* base parameters  U_N = min(k_U * U, N): the compute-optimal size for U tokens
* effective params N' = U_N * (1 + R_Nstar * (1 - exp(-(N/U_N - 1) / R_Nstar)))
* loss             L = E + A / N'**alpha + B / D'**beta

This is the form the SLDBench ``data_constrained`` task uses as its human law
(GitHub ``linhaowei1/SLD``), with the paper's fitted constants as SLDBench rounds
them (R_Nstar = 5.3, R_Dstar = 15.4) and U_N approximated by k_U * U with
k_U = 0.051 parameters per unique token. With these published constants the law
scores test R^2 = 0.9106 on that task's split.
"""

from __future__ import annotations

from .entry import catalog_law, exponent, linear, scale

FORMULA = (
    "E"
    " + A/(min(k_U*U, N)*(1 + R_Nstar*(1 - exp(-(N/min(k_U*U, N) - 1)/R_Nstar))))**alpha"
    " + B/(U*(1 + R_Dstar*(1 - exp(-(D/U - 1)/R_Dstar))))**beta"
)


def laws():
    law = catalog_law(
        FORMULA,
        ["N", "D", "U"],
        name="muennighoff2023",
        family="data_constrained",
        authors_year="Muennighoff et al. 2023",
        citation="Muennighoff et al. (2023). Scaling Data-Constrained Language Models. arXiv:2305.16264",
        description=(
            "Loss with repeated data: Chinchilla form over effective data D' (U unique tokens seen "
            "D/U times, value of repeats decaying with constant R_Dstar) and effective parameters N' "
            "(excess over k_U*U decaying with R_Nstar); form and constants as in SLDBench's data_constrained task."
        ),
        params={
            "E": linear("E", init=(1.0, 2.0)),
            "A": linear("A", init=(100.0, 1000.0)),
            "B": linear("B", init=(100.0, 1000.0)),
            "alpha": exponent("alpha"),
            "beta": exponent("beta"),
            "R_Nstar": scale("R_Nstar", (1.0, 5.0, 20.0), lower=1e-3),
            "R_Dstar": scale("R_Dstar", (1.0, 15.0, 50.0), lower=1e-3),
            "k_U": scale("k_U", (0.01, 0.05, 0.2), lower=1e-6),
        },
        published={
            "E": 1.87,
            "A": 521.0,
            "B": 1488.0,
            "alpha": 0.353,
            "beta": 0.353,
            "R_Nstar": 5.3,
            "R_Dstar": 15.4,
            "k_U": 0.051,
        },
    )
    return [law]
