"""``bgan-run``: compose a Hydra config from overrides, validate it, run it.

Usage: ``bgan-run [KEY=VALUE ...]``, e.g. ``bgan-run experiment=grid25 inference=mle seed=1``.
A user mistake (unknown group option or key, malformed override, wrong type, out-of-range value) prints
one line naming the bad key and the valid choices, exits with code 2 and writes nothing.
"""

from __future__ import annotations

import sys
from importlib import resources

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from experiments.schema import ConfigError, validate

GROUPS = ("experiment", "inference", "prior", "loss")


def config_dir() -> str:
    return str(resources.files("experiments") / "conf")


def group_options(group: str) -> list[str]:
    """Names of the shipped options of a config group (the yaml files in ``conf/<group>``)."""
    return sorted(p.name.removesuffix(".yaml") for p in (resources.files("experiments") / "conf" / group).iterdir()
                  if p.name.endswith(".yaml"))


def _explain(overrides: list[str], err: Exception) -> str:
    """Turn a Hydra composition error into one line naming the bad key and the valid choices."""
    for ov in overrides:
        key, _, value = ov.lstrip("+~").partition("=")
        if key in GROUPS and value not in group_options(key):
            return f"unknown {key} {value!r}; valid: {', '.join(group_options(key))}"
    text = " ".join(str(err).split())
    if "is not in struct" in text or "Could not override" in text:
        bad = next((ov.partition("=")[0] for ov in overrides if ov.partition("=")[0] in text), None)
        return f"unknown config key {bad or text!r}; valid top-level keys: seed, iterations, out_dir, progress, " \
               f"{', '.join(GROUPS)} (and their fields, e.g. inference.step_size)"
    return f"bad override in {' '.join(overrides)!r}: {text}"


def load_config(overrides: list[str]) -> DictConfig:
    """Compose and validate the config for ``overrides``.

    Raises
    ------
    ConfigError
        With a one-line message for the user.
    """
    for ov in overrides:
        if "=" not in ov:
            raise ConfigError(f"malformed override {ov!r}: expected KEY=VALUE (e.g. experiment=grid25)")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(_explain(overrides, err)) from None
    return validate(cfg)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``bgan-run``; returns the exit code (2 for a user mistake)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("\ngroups: " + "; ".join(f"{g}: {', '.join(group_options(g))}" for g in GROUPS))
        return 0
    try:
        cfg = load_config(argv)
        from experiments.run import run  # heavy imports only after the config is valid

        out = run(cfg)
    except ConfigError as err:
        print(f"bgan-run: error: {err}", file=sys.stderr)
        return 2
    print(f"bgan-run: wrote {out}")
    return 0


def console_main() -> None:
    """``bgan-run`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    console_main()
