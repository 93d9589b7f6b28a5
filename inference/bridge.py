"""The one bridge from numpyro models to log-density functions (BlackJAX conventions).

Everything that samples or optimises in this package goes through :func:`make_logdensity_fn` and
:func:`init_position`; nothing else touches ``numpyro.infer.util``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from numpyro.infer import Predictive
from numpyro.infer.util import potential_energy, unconstrain_fn


def make_logdensity_fn(model: Callable) -> Callable:
    """Turn a numpyro model into ``logdensity_fn(position, *model_args) -> scalar``.

    Parameters
    ----------
    model : callable
        A numpyro model; its positional arguments are passed through as ``*model_args``.

    Returns
    -------
    callable
        ``logdensity_fn(position, *model_args)``: the log joint density (nats, float32 scalar) at
        ``position``, a dict of unconstrained latent sites (no leading particle axis), including the
        log-Jacobian of any constraining transform (``numpyro.infer.util.potential_energy``, negated).
    """

    def logdensity_fn(position: dict, *model_args) -> jax.Array:
        return -potential_energy(model, model_args, {}, position)

    return logdensity_fn


def init_position(rng_key: jax.Array, model: Callable, num_particles: int, *model_args) -> dict:
    """Draw ``num_particles`` initial positions from the prior (what ``numpyro.infer.init_to_sample``
    does for one chain), vectorised with ``numpyro.infer.Predictive``.

    Returns
    -------
    dict of str to array
        Unconstrained latent sites, each with a leading axis of size ``num_particles``.
    """
    shapes = site_shapes(model, *model_args)
    draws = Predictive(model, num_samples=num_particles, return_sites=list(shapes))(rng_key, *model_args)
    return jax.vmap(lambda p: unconstrain_fn(model, model_args, {}, p))(draws)


def site_shapes(model: Callable, *model_args) -> dict[str, tuple[int, ...]]:
    """Shapes of the latent sample sites of ``model`` (one prior draw, traced abstractly: nothing runs)."""
    from numpyro import handlers

    def latent_values(key):
        tr = handlers.trace(handlers.seed(model, key)).get_trace(*model_args)
        return {name: site["value"] for name, site in tr.items()
                if site["type"] == "sample" and not site["is_observed"]}

    return {name: tuple(v.shape) for name, v in jax.eval_shape(latent_values, jax.random.key(0)).items()}
