"""discover: find the law behind a set of training runs.

    import discover
    res = discover.fit(df, target="loss", features=["params", "tokens"], split="compute:0.2")
    res = discover.discover(df, target="loss", features=["params", "tokens"], time_budget=120)
    res.leaderboard, res.best, res.predict(new_runs), res.to_json("out/results.json")
    discover.LawRegressor(law="hoffmann2022").fit(X, y).predict(X_new)   # scikit-learn estimator
    res.plot("forecast", data=df), res.best.plot(df, target="loss")    # matplotlib Figures
"""
from .errors import DataError
from .law import Law, Param
from .pipeline import fit
from .result import Result, Scored
from .search import discover, resume
from .estimator import LawRegressor
from .data import Dataset, load_dataset
from . import catalog, datasets
from . import report  # noqa: F401 - registers Result.plot, Law.plot and the notebook views
from .version import __version__  # noqa: F401 - the package version

__all__ = ["DataError", "Law", "Param", "fit", "discover", "resume", "Result", "Scored", "Dataset", "load_dataset",
           "catalog", "datasets", "LawRegressor"]
