"""`OptunaSweeper`: Hydra's Optuna sweeper (`hparams_search=optuna`), ending a study in which no trial
completed with one line instead of Optuna's `No trials are completed yet` traceback.

Hydra finds sweepers in its `hydra_plugins` namespace only, so this one lives here; without the
`optuna` extra it defines nothing (Hydra imports every plugin module when it starts).

A trial that fails (a NaN loss, a setting that cannot be built) or whose metric is not a number is
recorded by Optuna as failed, and the study goes on (`hydra.sweeper.max_failure_rate: 1.0` in
`conf/hparams_search/optuna.yaml`); the sweep's summary shows each failure.
"""

from __future__ import annotations

import sys

try:
    from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper as HydraOptunaSweeper
except ImportError:  # no optuna extra: hparams_search=optuna is not available
    HydraOptunaSweeper = None

NO_TRIAL_COMPLETED = "No trials are completed yet"  # what Optuna's Study.best_trial raises then
PLUGINS: list[type] = []  # what toolkit.app.plugins registers with Hydra


if HydraOptunaSweeper is not None:

    class OptunaSweeper(HydraOptunaSweeper):
        """Hydra's Optuna sweeper; a study that ends with no completed trial stops with `Error: ...`, exit 1."""

        def sweep(self, arguments: list[str]) -> None:
            try:
                super().sweep(arguments)
            except ValueError as error:
                if NO_TRIAL_COMPLETED not in str(error):
                    raise
                trials = self.sweeper.n_trials
                folder = self.sweeper.config.hydra.sweep.dir
                print(
                    f"Error: hparams_search=optuna: none of the {trials} trials completed (each failed, or gave an "
                    f"optimized_metric that is not a number); see {folder}/summary.csv for why",
                    file=sys.stderr,
                )
                raise SystemExit(1) from error

    PLUGINS.append(OptunaSweeper)
