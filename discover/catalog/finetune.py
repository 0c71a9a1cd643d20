"""Lin et al. (2024): the rectified scaling law for fine-tuning."""

from __future__ import annotations

from .entry import catalog_law, exponent, linear, scale


def laws():
    law = catalog_law(
        "A/(D**alpha + B) + C",
        ["D"],
        name="lin2024",
        family="finetune",
        authors_year="Lin et al. 2024",
        citation=(
            "Lin et al. (2024). Selecting Large Language Model to Fine-tune via Rectified Scaling Law. "
            "arXiv:2402.02314"
        ),
        description=(
            "Fine-tuning loss against fine-tuning data size D: a power law whose pre-power phase is "
            "flattened by B, the data the pre-trained model has in effect already seen; fitted per "
            "model and dataset (no universal published constants)."
        ),
        params={
            "A": linear("A", init=(1.0, 100.0)),
            "C": linear("C", lower=float("-inf"), init=(0.0, 1.0)),
            "alpha": exponent("alpha", init=(0.1, 0.3, 0.6, 1.0)),
            "B": scale("B", (0.1, 10.0, 1e3, 1e5), lower=1e-8),
        },
    )
    return [law]
