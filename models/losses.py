"""GAN likelihoods: the ``LOSSES`` registry.

Each loss gives per-sample *log-likelihood* terms (higher is better), used twice: summed and scaled to the
data size N in the Bayesian GAN conditional posteriors (:mod:`models.bgan`), and averaged and negated as
the maximum-likelihood GAN objective (:mod:`inference.mle`). One definition serves both, so the Bayesian
GAN and its ML twin optimise/sample the same objective.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from models.registry import lookup


class GANLoss(NamedTuple):
    """Per-sample log-likelihood terms of a GAN objective.

    All functions map discriminator logits of shape ``(...,)`` float32 to ``(...,)`` float32 (nats).

    Attributes
    ----------
    generator : callable
        ``log p(fooled | z, theta_g, theta_d)`` per fake sample, from ``D(G(z))`` logits.
    discriminator_real : callable
        ``log D(x)`` per real sample.
    discriminator_fake : callable
        ``log(1 - D(G(z)))`` per fake sample.
    """

    generator: Callable[[jax.Array], jax.Array]
    discriminator_real: Callable[[jax.Array], jax.Array]
    discriminator_fake: Callable[[jax.Array], jax.Array]


def non_saturating() -> GANLoss:
    """Non-saturating GAN likelihood (Goodfellow et al. 2014, sec. 3; Saatchi & Wilson 2017, eqs. 1-2).

    Generator: ``log D(G(z))``; discriminator: ``log D(x)`` and ``log(1 - D(G(z)))`` with
    ``D = sigmoid(logits)``, computed stably with ``jax.nn.log_sigmoid``.
    """
    return GANLoss(
        generator=jax.nn.log_sigmoid,
        discriminator_real=jax.nn.log_sigmoid,
        discriminator_fake=lambda logits: jax.nn.log_sigmoid(-logits),
    )


def minimax() -> GANLoss:
    """The original minimax GAN likelihood (Goodfellow et al. 2014, eq. 1).

    The generator maximises ``-log(1 - D(G(z)))`` (it minimises ``log(1 - D(G(z)))``, whose gradient
    vanishes when the discriminator wins early: the reason for the non-saturating form); the
    discriminator's terms are the same as in :func:`non_saturating`.
    """
    return GANLoss(
        generator=lambda logits: -jax.nn.log_sigmoid(-logits),
        discriminator_real=jax.nn.log_sigmoid,
        discriminator_fake=lambda logits: jax.nn.log_sigmoid(-logits),
    )


LOSSES: dict[str, Callable[[], GANLoss]] = {"non_saturating": non_saturating, "minimax": minimax}


def build_loss(name: str) -> GANLoss:
    """Look ``name`` up in :data:`LOSSES`.

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the valid names.
    """
    return lookup(LOSSES, "loss", name)()


def mean_loss(values: jax.Array) -> jax.Array:
    """Negated mean of per-sample log-likelihood terms: the ML objective to minimise (nats/sample)."""
    return -jnp.mean(values)
