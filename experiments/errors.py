"""The user-mistake error, its one-line check and the typed merge that reports a wrong key in one line,
importable without JAX (tasks and ``bgan-summarize`` use them; :mod:`experiments.schema` re-exports
:class:`ConfigError` and :func:`check`)."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


def plain(text: str) -> str:
    """reStructuredText inline markup as plain text for a terminal (every console script's ``--help``):
    ``:role:`x``` and ````x```` become ``x``."""
    import re

    return re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")


class ConfigError(ValueError):
    """A user mistake in the config or the overrides; the message is one line for the user."""


def check(cond: bool, key: str, what: str, value) -> None:
    """Raise :class:`ConfigError` ``"<key>=<value> is invalid: must be <what>"`` unless ``cond``."""
    if not cond:
        raise ConfigError(f"{key}={value!r} is invalid: must be {what}")


def one_line(err: Exception) -> str:
    """The first line of ``err``'s message (its type's name if it has none)."""
    msg = str(err).strip().splitlines()
    return msg[0] if msg else type(err).__name__


def merge(schema, node, where: str) -> DictConfig:
    """``node`` merged onto the structured config of the dataclass ``schema`` (typed, no unknown keys).

    Raises
    ------
    ConfigError
        Naming the key (``<where>.<key>``; ``where="config"``: the key alone) and OmegaConf's reason.
    """
    try:
        return OmegaConf.merge(OmegaConf.structured(schema), node)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None)
        full = where if not key else (key if where == "config" else f"{where}.{key}")
        raise ConfigError(f"{full}: {one_line(err)}") from None
