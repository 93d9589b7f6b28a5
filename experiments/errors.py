"""The user-mistake error and its one-line check, importable without JAX (tasks and ``bgan-summarize`` use
them; :mod:`experiments.schema` re-exports both)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A user mistake in the config or the overrides; the message is one line for the user."""


def check(cond: bool, key: str, what: str, value) -> None:
    """Raise :class:`ConfigError` ``"<key>=<value> is invalid: must be <what>"`` unless ``cond``."""
    if not cond:
        raise ConfigError(f"{key}={value!r} is invalid: must be {what}")
