"""Draws of a run as an ArviZ ``DataTree`` (the run directory's ``posterior.nc``).

Groups: ``posterior`` (thinned generator weights, ``chain`` = generator particle),
``discriminator_posterior`` (thinned discriminator weights, ``chain`` = discriminator particle),
``discriminator_predictive`` (optional: each discriminator particle's output on the evaluation points,
``d_real`` ``(chain, draw, obs)`` and, semi-supervised, ``class_probs`` ``(chain, draw, obs, class)``),
``posterior_predictive`` (``x_generated``; ``class_generated`` for a class-conditional generator), ``sample_stats`` / ``discriminator_sample_stats`` and
``observed_data`` (``x``, the evaluation split). Draws recorded during warmup go to the ``warmup_`` twin of
each draw group (ArviZ's ``warmup_posterior``, ``warmup_posterior_predictive``, ``warmup_sample_stats``,
and likewise ``warmup_discriminator_posterior``, ``warmup_discriminator_sample_stats``,
``warmup_discriminator_predictive``); each group numbers its own draws from 0 and carries the iteration
of every draw as the ``iteration`` coordinate. Variable names are numpyro site names
(``generator__layers.0.kernel``); each weight variable holds the flat entries listed in its
``<site>__index`` coordinate.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

EVENT_DIMS = {1: ("coord",), 2: ("height", "width"), 3: ("height", "width", "channel")}


def event_dims(event_shape: tuple[int, ...]) -> tuple[str, ...]:
    """Dimension names of one sample: ``coord`` for 2-D points, ``feature`` for other vectors, image axes."""
    if len(event_shape) == 1 and event_shape[0] != 2:
        return ("feature",)
    return EVENT_DIMS[len(event_shape)]


#: ArviZ groups whose variables have a ``draw`` dimension; each has a ``warmup_`` twin.
DRAW_GROUPS = ("posterior", "discriminator_posterior", "posterior_predictive", "sample_stats",
               "discriminator_sample_stats", "discriminator_predictive")
WARMUP = "warmup_"


def group_of(key: str) -> tuple[str, str]:
    """``(group, variable)`` of a recorded array ``key`` (the recorder's names, :func:`inference.driver.make_recorder`):
    ``x_generated``/``class_generated`` -> ``posterior_predictive``; ``stats/*`` -> ``sample_stats``;
    ``disc_stats/*`` -> ``discriminator_sample_stats``; ``disc_points/*`` -> ``discriminator_predictive``;
    ``generator__*`` -> ``posterior``; ``discriminator__*`` -> ``discriminator_posterior``.

    Raises
    ------
    KeyError
        For a key that belongs to no group.
    """
    if key in ("x_generated", "class_generated"):
        return "posterior_predictive", key
    for prefix, group in (("stats/", "sample_stats"), ("disc_stats/", "discriminator_sample_stats"),
                          ("disc_points/", "discriminator_predictive")):
        if key.startswith(prefix):
            return group, key.removeprefix(prefix)
    if key.startswith("generator__"):
        return "posterior", key
    if key.startswith("discriminator__"):
        return "discriminator_posterior", key
    raise KeyError(f"{key!r} belongs to no ArviZ group")


def variable_dims(key: str, value: np.ndarray, event_shape: tuple[int, ...]) -> tuple[str, ...]:
    """Dimension names of a recorded array (``chain``, ``draw`` first)."""
    group, name = group_of(key)
    if name == "x_generated":
        return ("chain", "draw", "sample", *event_dims(event_shape))
    if name == "class_generated":
        return ("chain", "draw", "sample")
    if group == "discriminator_predictive":
        return ("chain", "draw", "obs", *(("class",) if value.ndim == 4 else ()))
    if group in ("posterior", "discriminator_posterior"):
        return ("chain", "draw", f"{key}__index")
    return ("chain", "draw")


def as_stored(key: str, value: np.ndarray, event_shape: tuple[int, ...]) -> np.ndarray:
    """A recorded array in its stored shape (``x_generated`` as ``(chain, draw, sample, *event_shape)``)."""
    return value.reshape(*value.shape[:3], *event_shape) if key == "x_generated" else value


def _dataset(variables: dict[str, tuple[tuple[str, ...], np.ndarray]], coords: dict) -> xr.Dataset:
    ds = xr.Dataset({k: (dims, v) for k, (dims, v) in variables.items()})
    ds = ds.assign_coords({k: v for k, v in coords.items() if k in ds.dims})
    for dim in ("chain", "draw"):
        if dim in ds.dims:
            ds = ds.assign_coords({dim: np.arange(ds.sizes[dim])})
    return ds


def to_datatree(
    draws: dict[str, np.ndarray],
    *,
    event_shape: tuple[int, ...],
    observed: np.ndarray,
    weight_indices: dict[str, np.ndarray],
    draw_iterations: np.ndarray,
    warmup_draws: dict[str, np.ndarray] | None = None,
    warmup_iterations: np.ndarray | None = None,
    attrs: dict | None = None,
) -> xr.DataTree:
    """Build the run's ArviZ ``DataTree``.

    Parameters
    ----------
    draws : dict of str to numpy.ndarray
        From :func:`inference.driver.run`: ``x_generated`` ``(chain, draw, sample, data_dim)``, one
        ``(chain, draw, k)`` array per thinned weight site, ``stats/*`` and ``disc_stats/*``
        ``(chain, draw)``.
    event_shape : tuple of int
        Shape of one sample in its own units; ``x_generated`` is reshaped to it.
    observed : numpy.ndarray, shape ``(M, data_dim)``
        Evaluation split of the real data.
    weight_indices : dict of str to numpy.ndarray
        Flat indices recorded per site (the ``<site>__index`` coordinates).
    draw_iterations : numpy.ndarray, shape ``(draw,)``
        Iteration (1-based) at which each draw was recorded; stored as coordinate ``iteration``.
    warmup_draws : dict, optional
        Draws recorded during warmup, keyed like ``draws``: stored in the ``warmup_*`` groups.
    warmup_iterations : numpy.ndarray, optional
        Their iterations.
    attrs : dict, optional
        Stored on every group (e.g. ``inference``, ``experiment``).

    Returns
    -------
    xarray.DataTree
        Readable by ``arviz.from_netcdf`` once written with ``to_netcdf``.
    """
    event_dims_ = event_dims(event_shape)
    coords = {f"{s}__index": i for s, i in weight_indices.items()}
    groups = {}
    for prefix, part, iterations in (("", draws, draw_iterations), (WARMUP, warmup_draws, warmup_iterations)):
        if part is None:
            continue
        variables: dict[str, dict] = {g: {} for g in DRAW_GROUPS}
        for key, value in part.items():
            group, name = group_of(key)
            variables[group][name] = (variable_dims(key, value, event_shape), as_stored(key, value, event_shape))
        for group in DRAW_GROUPS:
            if variables[group] or group != "discriminator_predictive":
                ds = _dataset(variables[group], coords)
                if "draw" in ds.dims:
                    ds = ds.assign_coords(iteration=("draw", np.asarray(iterations)))
                groups[prefix + group] = ds
    groups["observed_data"] = _dataset(
        {"x": (("obs", *event_dims_), observed.reshape(len(observed), *event_shape))}, {})
    for name, ds in groups.items():
        ds.attrs.update(attrs or {})
        ds.attrs["sample_dims"] = ["chain", "draw"] if "draw" in ds.dims else []
    return xr.DataTree.from_dict(groups)
