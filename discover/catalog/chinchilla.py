"""Hoffmann et al. (2022) (Chinchilla) and the Epoch AI refit of the same form."""

from __future__ import annotations

from .entry import catalog_law, exponent, linear

FORM = "E + A/N**alpha + B/D**beta"


def _params():
    return {
        "E": linear("E", init=(1.0, 2.0)),
        "A": linear("A", init=(100.0, 1000.0)),
        "B": linear("B", init=(100.0, 1000.0)),
        "alpha": exponent("alpha"),
        "beta": exponent("beta"),
    }


def laws():
    hoffmann = catalog_law(
        FORM,
        ["N", "D"],
        name="hoffmann2022",
        family="chinchilla",
        authors_year="Hoffmann et al. 2022",
        citation="Hoffmann et al. (2022). Training Compute-Optimal Large Language Models. arXiv:2203.15556",
        description=(
            "Final pre-training loss as irreducible loss plus separate power laws in parameters N "
            "and tokens D (Chinchilla approach 3); published constants are for MassiveText, loss in nats."
        ),
        params=_params(),
        published={"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},
    )
    epoch = catalog_law(
        FORM,
        ["N", "D"],
        name="besiroglu2024",
        family="chinchilla",
        authors_year="Besiroglu et al. 2024",
        citation="Besiroglu, Erdil, Barnett and You (2024). Chinchilla Scaling: A replication attempt. arXiv:2404.10102",
        description=(
            "The Chinchilla form refitted by Epoch AI on the runs read off Hoffmann et al.'s Figure 4 "
            "(Huber loss on log L); same roles N and D, loss in nats."
        ),
        params=_params(),
        published={"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658},
    )
    return [hoffmann, epoch]
