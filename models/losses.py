"""GAN likelihoods: the ``LOSSES`` registry.

Each loss gives per-sample *log-likelihood* terms (higher is better), used twice: summed and scaled to the
data size N in the Bayesian GAN conditional posteriors (:mod:`models.bgan`), and averaged and negated as
the maximum-likelihood GAN objective (:mod:`inference.mle`). One definition serves both, so the Bayesian
GAN and its ML twin optimise/sample the same objective.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp

from models.config import WassersteinConfig, WassersteinGPConfig
from models.registry import lookup


class GANLoss(NamedTuple):
    """Per-sample log-likelihood terms of a GAN objective.

    All functions map discriminator logits of shape ``(...,)`` float32 to ``(...,)`` float32 (nats).

    Attributes
    ----------
    generator : callable or None
        ``log p(fooled | z, theta_g, theta_d)`` per fake sample, from ``D(G(z))`` logits; ``None`` when the
        generator's likelihood is feature matching (``feature_matching``).
    discriminator_real : callable
        ``log D(x)`` per real sample.
    discriminator_fake : callable
        ``log(1 - D(G(z)))`` per fake sample.
    penalty : callable or None
        ``penalty(critic, x_real, x_fake, epsilon) -> (B_fake,)``: extra per-sample log-likelihood terms
        of the discriminator that need the critic as a function (the WGAN-GP gradient penalty, negated).
        ``critic`` maps ``(n, data_dim)`` to ``(n,)`` logits; ``x_real`` is ``(B, data_dim)``; ``x_fake``
        is ``(k B, data_dim)`` for an integer ``k`` (fakes pooled over generator particles); ``epsilon``
        is ``(k B,)`` float32 uniform on [0, 1), drawn by the caller.
    clip : float or None
        If set, every discriminator weight is projected onto ``[-clip, clip]`` after each update (WGAN
        weight clipping; for SG-MCMC, projected Langevin dynamics, Bubeck et al. 2018, which samples the
        posterior restricted to that box).
    feature_matching : bool
        The generator's log-likelihood is ``-||mean_x f(x) - mean_z f(G(z))||^2`` per sample, ``f`` the
        discriminator's last hidden layer (Salimans et al. 2016, sec. 3.1; :meth:`models.bgan.BayesGAN.generator_loglik`),
        instead of ``generator``; it needs a real minibatch in the generator's conditional.
    """

    generator: Callable[[jax.Array], jax.Array]
    discriminator_real: Callable[[jax.Array], jax.Array]
    discriminator_fake: Callable[[jax.Array], jax.Array]
    penalty: Optional[Callable[..., jax.Array]] = None
    clip: Optional[float] = None
    feature_matching: bool = False


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


def _identity(logits: jax.Array) -> jax.Array:
    return logits


def _negated(logits: jax.Array) -> jax.Array:
    return -logits


def wasserstein(clip: float = WassersteinConfig.clip) -> GANLoss:
    """Wasserstein GAN with weight clipping (Arjovsky et al. 2017, Algorithm 1).

    The discriminator is a critic ``f`` (its unbounded output): it maximises ``f(x) - f(G(z))`` over
    weights clipped to ``[-clip, clip]`` (a crude Lipschitz constraint); the generator maximises
    ``f(G(z))``. As Bayesian GAN likelihoods these are Gibbs-type pseudo-likelihoods
    ``exp(N mean f)`` (the construction behind Bayesian WGANs).

    Parameters
    ----------
    clip : float
        Weight-clipping bound ``c > 0`` (0.01 in the paper).

    Raises
    ------
    ValueError
        If ``clip`` is not positive.
    """
    WassersteinConfig(clip=clip).check()
    return GANLoss(generator=_identity, discriminator_real=_identity, discriminator_fake=_negated, clip=clip)


def wasserstein_gp(penalty_weight: float = WassersteinGPConfig.penalty_weight) -> GANLoss:
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, Algorithm 1): "BAGAN-GP" when the
    weights are sampled.

    Critic and generator terms as in :func:`wasserstein`, no clipping; the critic's log-likelihood gains
    ``-lambda (||grad_x f(x_hat)||_2 - 1)^2`` per interpolate ``x_hat = eps x_real + (1 - eps) x_fake``,
    ``eps ~ U[0, 1)``. Real points are tiled to pair with every pooled fake.

    Parameters
    ----------
    penalty_weight : float
        ``lambda >= 0`` (10 in the paper).

    Raises
    ------
    ValueError
        If ``penalty_weight`` is negative.
    """
    WassersteinGPConfig(penalty_weight=penalty_weight).check()

    def penalty(critic, x_real, x_fake, epsilon):
        reps = x_fake.shape[0] // x_real.shape[0]
        real = jnp.tile(x_real, (reps,) + (1,) * (x_real.ndim - 1))
        eps = epsilon.reshape((-1,) + (1,) * (x_fake.ndim - 1))
        x_hat = eps * real + (1.0 - eps) * x_fake
        grads = jax.vmap(jax.grad(lambda x: critic(x[None])[0]))(x_hat)
        norms = jnp.sqrt(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1) + 1e-12)
        return -penalty_weight * (norms - 1.0) ** 2

    return GANLoss(generator=_identity, discriminator_real=_identity, discriminator_fake=_negated,
                   penalty=penalty)


def feature_matching() -> GANLoss:
    """Feature matching (Salimans et al. 2016, "Improved techniques for training GANs", sec. 3.1): the
    generator matches the mean of the discriminator's last hidden layer on real data instead of fooling its
    output, the loss behind their semi-supervised MNIST rows; the discriminator's terms are
    :func:`non_saturating`'s (with a K + 1-class head, Salimans et al.'s unsupervised loss).

    As a Bayesian GAN likelihood the generator's term is a Gibbs-type pseudo-likelihood: per sample
    ``-||mean_x f(x) - mean_z f(G(z))||_2^2`` over the minibatches (one value for the batch, scaled to ``N``
    like every minibatch term), averaged over the discriminator particles.
    """
    return GANLoss(generator=None, discriminator_real=jax.nn.log_sigmoid,
                   discriminator_fake=lambda logits: jax.nn.log_sigmoid(-logits), feature_matching=True)


LOSSES: dict[str, Callable[..., GANLoss]] = {
    "non_saturating": non_saturating,
    "minimax": minimax,
    "wasserstein": wasserstein,
    "wasserstein_gp": wasserstein_gp,
    "feature_matching": feature_matching,
}


def build_loss(name: str, **hyper) -> GANLoss:
    """Look ``name`` up in :data:`LOSSES` and build it with ``hyper`` (e.g. ``clip``, ``penalty_weight``).

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the valid names.
    ValueError
        If a hyper-parameter is out of range.
    """
    return lookup(LOSSES, "loss", name)(**hyper)


def mean_loss(values: jax.Array) -> jax.Array:
    """Negated mean of per-sample log-likelihood terms: the ML objective to minimise (nats/sample)."""
    return -jnp.mean(values)
