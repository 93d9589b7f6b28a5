"""Models of the Bayesian GAN zoo: architectures, priors, GAN likelihoods and numpyro models.

What lives here
---------------
- :mod:`models.networks` -- flax ``nnx`` generator/discriminator architectures (no priors, no losses).
- :mod:`models.priors` -- the ``PRIORS`` registry: prior name -> builder of a numpyro prior.
- :mod:`models.losses` -- the ``LOSSES`` registry: GAN per-sample log-likelihood terms.
- :mod:`models.config` -- prior families' and losses' hyper-parameters and defaults (no JAX).
- :mod:`models.heads` -- the heads a task gives the model (plain, semi-supervised K + 1-class, BAGAN's
  class-conditional).
- :mod:`models.bgan` -- the Saatchi & Wilson (2017) conditional posteriors as numpyro models.
- :mod:`models.registry` -- the one name lookup every registry uses (unknown name -> valid names).

Imports: jax, flax, numpyro only. Nothing from :mod:`inference` or :mod:`experiments`.
"""
