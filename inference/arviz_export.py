"""Draws of a run as an ArviZ ``DataTree`` (the run directory's ``posterior.nc``).

Groups: ``posterior`` (thinned generator weights, ``chain`` = generator particle),
``discriminator_posterior`` (thinned discriminator weights, ``chain`` = discriminator particle),
``discriminator_predictive`` (optional: each discriminator particle's output on the evaluation points,
``d_real`` ``(chain, draw, obs)`` and, semi-supervised, ``class_probs`` ``(chain, draw, obs, class)``),
``posterior_predictive`` (``x_generated``; ``class_generated`` for a class-conditional generator), ``sample_stats`` / ``discriminator_sample_stats`` and
``observed_data`` (``x``, the evaluation split). Variable names are numpyro site names
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
    attrs : dict, optional
        Stored on every group (e.g. ``inference``, ``experiment``).

    Returns
    -------
    xarray.DataTree
        Readable by ``arviz.from_netcdf`` once written with ``to_netcdf``.
    """
    event_dims_ = event_dims(event_shape)
    x = draws["x_generated"]
    x = x.reshape(*x.shape[:3], *event_shape)
    coords = {f"{s}__index": i for s, i in weight_indices.items()}
    gen_w = {s: (("chain", "draw", f"{s}__index"), draws[s]) for s in weight_indices if s.startswith("generator")}
    disc_w = {s: (("chain", "draw", f"{s}__index"), draws[s]) for s in weight_indices if s.startswith("discriminator")}
    groups = {
        "posterior": _dataset(gen_w, coords),
        "discriminator_posterior": _dataset(disc_w, coords),
        "posterior_predictive": _dataset({"x_generated": (("chain", "draw", "sample", *event_dims_), x)} | (
            {"class_generated": (("chain", "draw", "sample"), draws["class_generated"])}
            if "class_generated" in draws else {}), {}),
        "sample_stats": _dataset(
            {k.split("/", 1)[1]: (("chain", "draw"), v) for k, v in draws.items() if k.startswith("stats/")}, {}
        ),
        "discriminator_sample_stats": _dataset(
            {k.split("/", 1)[1]: (("chain", "draw"), v) for k, v in draws.items() if k.startswith("disc_stats/")},
            {},
        ),
        "discriminator_predictive": _dataset(
            {k.split("/", 1)[1]: (("chain", "draw", "obs", *(("class",) if v.ndim == 4 else ())), v)
             for k, v in draws.items() if k.startswith("disc_points/")}, {}
        ),
        "observed_data": _dataset(
            {"x": (("obs", *event_dims_), observed.reshape(len(observed), *event_shape))}, {}
        ),
    }
    if not groups["discriminator_predictive"].data_vars:
        del groups["discriminator_predictive"]
    for name, ds in groups.items():
        if "draw" in ds.dims:
            ds = ds.assign_coords(iteration=("draw", np.asarray(draw_iterations)))
        ds.attrs.update(attrs or {})
        ds.attrs["sample_dims"] = ["chain", "draw"] if "draw" in ds.dims else []
        groups[name] = ds
    return xr.DataTree.from_dict(groups)
