"""The Bayesian GAN of Saatchi & Wilson (2017) as numpyro models.

Generator and discriminator weights are numpyro sample sites with explicit priors, created by
``numpyro.contrib.module.random_nnx_module`` with ``scope_divider="__"`` (site names such as
``generator__layers.0.kernel``; ArviZ rejects ``/``). The two conditional posteriors of the paper are

- eq. 1: ``p(theta_g | z, theta_d) ∝ prod_i D(G(z_i; theta_g); theta_d) p(theta_g)``
- eq. 2: ``p(theta_d | z, X, theta_g) ∝ prod_i D(x_i; theta_d) prod_i (1 - D(G(z_i; theta_g); theta_d)) p(theta_d)``

with the likelihood terms taken from a :class:`models.losses.GANLoss` (the non-saturating one is exactly
eqs. 1-2). Minibatch sums are rescaled to the full data size ``N`` (``N * mean(minibatch)``), the
convention of ``blackjax.sgmcmc.gradients``. Several discriminator particles enter the generator's
conditional through the mean of their log-likelihoods, several generator particles enter the
discriminator's through the pooled fake minibatch (as in the authors' ``bayesgan`` code).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpyro
from flax import nnx
from numpyro import handlers
from numpyro.contrib.module import random_nnx_module
from numpyro.distributions.distribution import Unit

from models.losses import GANLoss
from models.priors import PriorFn

GENERATOR = "generator"
DISCRIMINATOR = "discriminator"


def _scaled_factor(name: str, values: jax.Array, num_data: int) -> None:
    """Add ``N / B * sum(values)`` to the log joint: a minibatch of ``B`` terms scaled to ``N``.

    This is ``numpyro.factor`` spelled out: ``numpyro.factor`` looks up
    ``numpyro.distributions.distribution`` as a package attribute, which is missing when ArviZ was
    imported before numpyro.distributions (seen with arviz 1.3 / numpyro 0.22).
    """
    log_factor = jnp.sum(values)
    with handlers.scale(scale=num_data / values.shape[0]):
        unit = Unit(log_factor)
        numpyro.sample(name, unit, obs=unit.sample(None), infer={"is_auxiliary": True})


@dataclass(frozen=True)
class BayesGAN:
    """Generator/discriminator networks with priors and a GAN likelihood.

    Parameters
    ----------
    generator : flax.nnx.Module
        Maps ``(..., latent_dim)`` to ``(..., data_dim)`` float32.
    discriminator : flax.nnx.Module
        Maps ``(..., data_dim)`` to ``(..., 1)`` logits.
    generator_prior, discriminator_prior : callable
        ``(name, shape) -> numpyro Distribution`` (see :mod:`models.priors`).
    loss : models.losses.GANLoss
        Per-sample log-likelihood terms.
    latent_dim : int
        Size of ``z``; ``z ~ N(0, I)``.
    """

    generator: nnx.Module
    discriminator: nnx.Module
    generator_prior: PriorFn
    discriminator_prior: PriorFn
    loss: GANLoss
    latent_dim: int

    # -- networks as random modules -------------------------------------------------------------
    def generator_net(self):
        """Register the generator's weights as sample sites; return the network as a callable."""
        return random_nnx_module(GENERATOR, self.generator, self.generator_prior, scope_divider="__")

    def discriminator_net(self):
        """Register the discriminator's weights as sample sites; return ``x -> logits (...,)``."""
        net = random_nnx_module(
            DISCRIMINATOR, self.discriminator, self.discriminator_prior, scope_divider="__"
        )
        return lambda x: jnp.squeeze(net(x), axis=-1)

    def prior_model(self) -> None:
        """Both networks' priors only (for initialisation from ``init_to_sample``)."""
        self.generator_net()
        self.discriminator_net()

    # -- deterministic use with given weights -----------------------------------------------------
    def generate(self, generator_params: dict, z: jax.Array) -> jax.Array:
        """``G(z; theta_g)``.

        Parameters
        ----------
        generator_params : dict of str to array
            One particle's generator sites (no leading particle axis).
        z : array, shape ``(B, latent_dim)``, float32

        Returns
        -------
        array, shape ``(B, data_dim)``, float32
        """
        with handlers.block(), handlers.substitute(data=generator_params):
            return self.generator_net()(z)

    def discriminate(self, discriminator_params: dict, x: jax.Array) -> jax.Array:
        """``D(x; theta_d)`` as logits, shape ``x.shape[:-1]``; ``x`` is ``(B, data_dim)`` float32."""
        with handlers.block(), handlers.substitute(data=discriminator_params):
            return self.discriminator_net()(x)

    # -- the conditional posteriors (numpyro models) --------------------------------------------
    def generator_model(self, z: jax.Array, discriminator_params: dict, num_data: int) -> None:
        """Saatchi & Wilson eq. 1: ``log p(theta_g | z, theta_d)`` up to a constant.

        Parameters
        ----------
        z : array, shape ``(B, latent_dim)``, float32
            Latent minibatch.
        discriminator_params : dict of str to array
            Discriminator particles, each leaf with a leading axis ``J_d``.
        num_data : int
            ``N``, the training-set size the minibatch likelihood is scaled to.
        """
        x_fake = self.generator_net()(z)
        logits = jax.vmap(self.discriminate, in_axes=(0, None))(discriminator_params, x_fake)
        loglik = jnp.mean(self.loss.generator(logits), axis=0)  # (B,), mean over J_d
        _scaled_factor("generator_loglik", loglik, num_data)

    def discriminator_model(self, x_real: jax.Array, x_fake: jax.Array, num_data: int) -> None:
        """Saatchi & Wilson eq. 2: ``log p(theta_d | z, X, theta_g)`` up to a constant.

        Parameters
        ----------
        x_real : array, shape ``(B, data_dim)``, float32
            Real minibatch.
        x_fake : array, shape ``(B_fake, data_dim)``, float32
            Generated minibatch, pooled over the generator particles.
        num_data : int
            ``N``; both the real and the fake term are scaled to ``N`` samples.
        """
        d = self.discriminator_net()
        _scaled_factor("discriminator_loglik_real", self.loss.discriminator_real(d(x_real)), num_data)
        _scaled_factor("discriminator_loglik_fake", self.loss.discriminator_fake(d(x_fake)), num_data)
