"""Inference for the Bayesian GAN zoo.

What lives here
---------------
- :mod:`inference.base` -- the ``Sampler`` protocol the driver knows, phases, the step-size schedule, the
  RMSprop preconditioner, the ``n_critic`` loop and the particle gather.
- :mod:`inference.config` -- every algorithm's hyper-parameters and defaults (no JAX).
- :mod:`inference.common` -- what several algorithms share about the GAN: the initial particles (prior
  draws) and the per-datum discriminator loss.
- :mod:`inference.bridge` -- the one numpyro -> log-density bridge (nothing else touches numpyro's
  inference utilities).
- :mod:`inference.sghmc` -- SGHMC with persistent momentum as an ``init``/``step`` pair.
- :mod:`inference.sgld` -- SGLD (BlackJAX's kernel) and pSGLD as an ``init``/``step`` pair.
- :mod:`inference.bayesgan` -- the Saatchi & Wilson Gibbs sweep over ``J_g``/``J_d`` particles.
- :mod:`inference.svi` -- mean-field variational Bayesian GAN (numpyro SVI, ``TraceMeanField_ELBO``).
- :mod:`inference.mle` -- the maximum-likelihood GAN twin (optax Adam), MC dropout on it and the ensemble.
- :mod:`inference.ebgan` -- EBGAN: MSGLD generators against a stochastic-approximation discriminator.
- :mod:`inference.driver` -- the compiled ``lax.scan`` loop, thinning, chunks and particle sharding.
- :mod:`inference.registry` -- the ``INFERENCE`` registry.

Imports: jax, numpyro, blackjax, optax and :mod:`models`; nothing from :mod:`experiments`.
"""
