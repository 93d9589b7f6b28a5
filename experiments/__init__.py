"""Experiments of the Bayesian GAN zoo: configs, datasets, metrics, reports and the ``bgan-run`` command.

What lives here
---------------
- ``conf/`` -- Hydra config groups ``experiment``, ``inference``, ``prior``, ``loss``.
- :mod:`experiments.errors` -- ``ConfigError``, its one-line check and the typed merge (no JAX).
- :mod:`experiments.schema` -- typed structured configs that validate a composed config.
- :mod:`experiments.prior_config` -- the ``prior`` group resolved per network and per parameter path.
- :mod:`experiments.compose` -- the config of ``bgan-run``'s overrides: generated group defaults, Hydra's
  compose, validation (``load_config``).
- :mod:`experiments.datasets` -- the ``DATASETS`` registry (8-Gaussian ring, 25-Gaussian grid, digits).
- :mod:`experiments.metrics` -- mode coverage, high-quality fraction, reverse KL, classifier metrics,
  function-space convergence diagnostics (ArviZ).
- :mod:`experiments.report` -- ``samples.png``, ``report.md`` and strict-JSON ``metrics.json``.
- :mod:`experiments.tasks` -- the ``TASKS`` registry: generation, semi-supervised, anomaly, class-imbalanced.
- :mod:`experiments.build` -- the dataset and the model a config builds.
- :mod:`experiments.run` -- the run loop, from a validated config to a run directory.
- :mod:`experiments.evaluation` -- the figures of ``metrics.json`` (headline rule, function-space stats).
- :mod:`experiments.rundir` -- the run directory: staging store, ArviZ export, orbax checkpoints.
- :mod:`experiments.cli` -- the ``bgan-run`` entry point (single runs and ``-m`` sweeps).
- :mod:`experiments.launch` -- where a sweep's jobs run (``hydra/launcher``: joblib, submitit).
- :mod:`experiments.summarize` -- ``bgan-summarize``: markdown tables of run directories over seeds.
- :mod:`experiments.diagnose` -- ``bgan-diagnose``: ArviZ R-hat/ESS of a run, flagging non-convergence.

Imports: :mod:`models` and :mod:`inference` (and the libraries); nothing imports from here.
"""
