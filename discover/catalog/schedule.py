"""Learning-curve laws that read the learning-rate schedule (Tissue et al. 2024; Luo et al. 2025).

Their variables are the schedule features a curve table derives per run
(:mod:`discover.schedule`): the forward area S1, the annealing area S2 and the
multi-power law's loss-drop shape LD. The two published laws describe one
model size; the ``+N`` forms add Chinchilla's model-size term so that one law
covers the curves of several sizes (the project's composites, said so in their
descriptions: no paper fitted them).
"""

from __future__ import annotations

from .entry import catalog_law, exponent, linear, scale

TISSUE = "Tissue, Wang, Xiao, Chen, Zhang and Wang (2024). Scaling Law with Learning Rate Annealing. arXiv:2408.11029"
LUO = ("Luo, Wen, Hu, Xu, Sun, Liu, Liu, Wang and Wen (2025). A Multi-Power Law for Loss Curve Prediction "
       "Across Learning Rate Schedules. arXiv:2503.12811")


def _loss(name="L0"):
    return linear(name, init=(1.0, 2.0, 3.0))


def laws():
    tissue = catalog_law(
        "L0 + A*S1**(-alpha) - C*S2",
        ["S1", "S2"],
        name="tissue2024",
        family="schedule",
        authors_year="Tissue et al. 2024",
        citation=TISSUE,
        description=("Loss along one training run: a power law in the forward area S1 of the LR schedule, "
                     "lowered linearly by its annealing area S2 (with the table's momentum, --momentum); fitted "
                     "per model size."),
        params={"L0": _loss(), "A": linear("A", init=(0.5, 2.0)), "alpha": exponent("alpha", init=(0.3, 0.5, 0.8)),
                "C": linear("C", init=(0.5, 2.0))},
    )
    luo = catalog_law(
        "L0 + A*(S1 + SW)**(-alpha) - B*LD",
        ["S1", "LD"],
        name="luo2025",
        family="schedule",
        authors_year="Luo et al. 2025",
        citation=LUO,
        description=("The multi-power law: a power law in the forward area S1 (shifted by the warmup's area SW), "
                     "lowered by the loss drop LD of each LR decrease; LD's shape constants C, beta, gamma are "
                     "held at the paper's values (discover.schedule.MPL_SHAPE), its scale B is fitted."),
        params={"L0": _loss(), "A": linear("A", init=(0.5, 2.0)), "alpha": exponent("alpha", init=(0.3, 0.5, 0.8)),
                "SW": scale("SW", (0.01, 0.1, 1.0), lower=1e-6), "B": linear("B", init=(100.0, 1000.0))},
    )
    tissue_n = catalog_law(
        "E + A/N**alpha + B*S1**(-beta) - C*S2",
        ["N", "S1", "S2"],
        name="tissue2024_N",
        family="schedule",
        authors_year="Tissue et al. 2024 + Chinchilla's N term",
        citation=TISSUE,
        description=("Tissue et al.'s law with Chinchilla's model-size term A/N^alpha added, so that one set of "
                     "constants covers the curves of several sizes (a composite; not a published fit)."),
        params={"E": linear("E", init=(1.0, 2.0)), "A": linear("A", init=(100.0, 1000.0)), "alpha": exponent("alpha"),
                "B": linear("B", init=(0.5, 2.0)), "beta": exponent("beta", init=(0.3, 0.5, 0.8)),
                "C": linear("C", init=(0.5, 2.0))},
    )
    luo_n = catalog_law(
        "E + A/N**alpha + B*(S1 + SW)**(-beta) - C*LD",
        ["N", "S1", "LD"],
        name="luo2025_N",
        family="schedule",
        authors_year="Luo et al. 2025 + Chinchilla's N term",
        citation=LUO,
        description=("The multi-power law with Chinchilla's model-size term A/N^alpha added, so that one set of "
                     "constants covers the curves of several sizes (a composite; not a published fit)."),
        params={"E": linear("E", init=(1.0, 2.0)), "A": linear("A", init=(100.0, 1000.0)), "alpha": exponent("alpha"),
                "B": linear("B", init=(0.5, 2.0)), "beta": exponent("beta", init=(0.3, 0.5, 0.8)),
                "SW": scale("SW", (0.01, 0.1, 1.0), lower=1e-6), "C": linear("C", init=(100.0, 1000.0))},
    )
    chinchilla_anneal = catalog_law(
        "E + A/N**alpha + B/D**beta - C*S2",
        ["N", "D", "S2"],
        name="hoffmann2022_S2",
        family="schedule",
        authors_year="Hoffmann et al. 2022 + Tissue et al. 2024's annealing term",
        citation=TISSUE,
        description=("Chinchilla's form over the tokens seen so far, lowered by Tissue et al.'s annealing area S2: "
                     "curve points of runs whose schedules differ (a composite; not a published fit)."),
        params={"E": linear("E", init=(1.0, 2.0)), "A": linear("A", init=(100.0, 1000.0)),
                "B": linear("B", init=(100.0, 1000.0)), "alpha": exponent("alpha"), "beta": exponent("beta"),
                "C": linear("C", init=(0.5, 2.0))},
    )
    return [tissue, luo, tissue_n, luo_n, chinchilla_anneal]
