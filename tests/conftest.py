from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED.exists():  # a clone elsewhere: the shared folder sits beside the repository
    SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_path(*parts) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data {path} is not present beside the repository")
    return path


@pytest.fixture
def chinchilla_csv():
    return shared_path("chinchilla", "hoffmann2022_fig4.csv")


@pytest.fixture
def sld():
    return lambda name: shared_path("sld", name)


@pytest.fixture
def task_csv(tmp_path):
    """Write an engine task's train and validation rows (features N, D; target loss) as a CSV."""
    import numpy as np
    import pandas as pd

    def write(task) -> Path:
        path = tmp_path / "runs.csv"
        pd.DataFrame({"N": np.concatenate([task.X_train["N"], task.X_val["N"]]),
                      "D": np.concatenate([task.X_train["D"], task.X_val["D"]]),
                      "loss": np.concatenate([task.y_train, task.y_val])}).to_csv(path, index=False)
        return path

    return write
