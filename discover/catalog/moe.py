"""Mixture-of-experts laws: Clark et al. (2022) and Krajewski et al. (2024)."""

from __future__ import annotations

from ..law import Param
from .entry import catalog_law, exponent, linear, scale

CLARK = "Clark et al. 2022"
CLARK_CITATION = "Clark et al. (2022). Unified Scaling Laws for Routed Language Models. arXiv:2202.01169"

# Clark et al.'s saturating transform of the expert count, E_hat, which levels
# off at E_max and tends to (E - 1) plus an offset near E_start for few experts.
_E_HAT = "1/(1/(E - 1 + 1/(1/(E_start - 1) - 1/E_max)) + 1/E_max)"


def _clark_params():
    return {
        "a": exponent("a", lower=-3.0, upper=3.0, init=(-0.2, -0.08, -0.02)),
        "b": exponent("b", lower=-3.0, upper=3.0, init=(-0.2, -0.1, 0.0)),
        "c": exponent("c", lower=-1.0, upper=1.0, init=(-0.01, 0.0, 0.01)),
        "d": Param(name="d", lower=-50.0, upper=50.0, init=(0.0, 1.0, 3.0)),
    }


def laws():
    clark = catalog_law(
        "exp(a*log(N) + b*log(E) + c*log(N)*log(E) + d)",
        ["N", "E"],
        name="clark2022",
        family="moe",
        authors_year=CLARK,
        citation=CLARK_CITATION,
        description=(
            "Loss of a routed (mixture-of-experts) model with N dense parameters and E experts: "
            "log L is bilinear in log N and log E (natural logs), written here for L itself. "
            "Constants depend on the routing method; none attached."
        ),
        params=_clark_params(),
    )
    clark_sat = catalog_law(
        f"exp(a*log(N) + b*log({_E_HAT}) + c*log(N)*log({_E_HAT}) + d)",
        ["N", "E"],
        name="clark2022_saturating",
        family="moe",
        authors_year=CLARK,
        citation=CLARK_CITATION,
        description=(
            "Clark et al.'s bilinear log-law with the expert count replaced by its saturating "
            "transform E_hat (bounded by E_max, offset by E_start), for many experts; needs E > 1. "
            "No constants attached."
        ),
        params={
            **_clark_params(),
            "E_start": scale("E_start", (1.5, 2.0, 4.0), lower=1.001),
            "E_max": scale("E_max", (64.0, 300.0, 1000.0), lower=1.5),
        },
    )
    krajewski = catalog_law(
        "c + (g/G**gamma + a)/N**alpha + b/D**beta",
        ["N", "D", "G"],
        name="krajewski2024",
        family="moe",
        authors_year="Krajewski et al. 2024",
        citation="Krajewski et al. (2024). Scaling Laws for Fine-Grained Mixture of Experts. arXiv:2402.07871",
        description=(
            "Loss of a fine-grained MoE with N active parameters, D tokens and granularity G: the "
            "parameter term's coefficient falls with G as g/G^gamma + a. Published constants not "
            "attached (not verified against the paper here)."
        ),
        params={
            "c": linear("c", init=(0.5, 1.5)),
            "g": linear("g", init=(1.0, 10.0)),
            "a": linear("a", init=(1.0, 10.0)),
            "b": linear("b", init=(10.0, 100.0)),
            "alpha": exponent("alpha"),
            "beta": exponent("beta"),
            "gamma": exponent("gamma"),
        },
    )
    return [clark, clark_sat, krajewski]
