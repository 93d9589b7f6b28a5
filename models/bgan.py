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

from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpyro
from flax import nnx
from numpyro import handlers
from numpyro.contrib.module import random_nnx_module
from numpyro.distributions.distribution import Unit

from numpyro.distributions.transforms import biject_to

from models.heads import Head, PlainHead
from models.layers import named_key, pack_samples
from models.losses import GANLoss
from models.priors import PriorFn, is_weight_site

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


def _stream(key: jax.Array | None, name: str) -> jax.Array | None:
    """``named_key(key, name)``, or ``None`` (deterministic evaluation) without a key."""
    return None if key is None else named_key(key, name)


class GeneratorBatch(NamedTuple):
    """The data of one generator update: the second argument of ``logdensity_fn(position, batch)`` for
    :meth:`BayesGAN.generator_model` (Saatchi & Wilson eq. 1).

    Attributes
    ----------
    z : array, shape ``(B, latent_dim)`` (``+ 1`` for a class-conditional head), float32
        Latent minibatch.
    discriminators : dict of str to array
        Discriminator particles, each leaf with a leading axis ``J_d``.
    num_data : int
        ``N``, the training-set size the minibatch likelihood is scaled to.
    x_real : array, shape ``(B_real, data_dim)``, optional
        A real minibatch, for feature matching (:meth:`BayesGAN.real_minibatch` draws it).
    key : jax.Array, optional
        The networks' stochastic layers' key (Gaussian noise); ``None``: deterministic networks.
    """

    z: jax.Array
    discriminators: dict
    num_data: int
    x_real: jax.Array | None = None
    key: jax.Array | None = None


class DiscriminatorBatch(NamedTuple):
    """The data of one discriminator update: the second argument of ``logdensity_fn(position, batch)`` for
    :meth:`BayesGAN.discriminator_model` (Saatchi & Wilson eq. 2).

    Attributes
    ----------
    x_real : array, shape ``(B, data_dim)``, float32
        Real minibatch (``+ 1`` label column for a class-conditional head).
    x_fake : array, shape ``(B_fake, data_dim)``, float32
        Generated minibatch, pooled over the generator particles.
    num_data : int
        ``N``; the real, the fake and any penalty term are each scaled to ``N`` samples.
    epsilon : array, shape ``(B_fake,)``, optional
        Interpolation weights in [0, 1) for a gradient-penalty loss.
    key : jax.Array, optional
        The discriminator's stochastic layers' key; ``None``: deterministic.
    """

    x_real: jax.Array
    x_fake: jax.Array
    num_data: int
    epsilon: jax.Array | None = None
    key: jax.Array | None = None


def _fixed(params: dict):
    """``substitute_fn`` that sets every site to ``params``; a hyper-parameter site absent from ``params``
    (a hierarchical prior's precision) gets ones: weights alone determine the network's output."""

    def value(site):
        if site["name"] in params:
            return params[site["name"]]
        if site["type"] == "sample":
            return jnp.ones(site["fn"].shape())
        return None

    return value


@dataclass(frozen=True, eq=False)
class BayesGAN:
    """Generator/discriminator networks with priors, a GAN likelihood and a head.

    Parameters
    ----------
    generator : flax.nnx.Module
        Maps ``(..., latent_dim)`` to ``(..., data_dim)`` float32.
    discriminator : flax.nnx.Module
        Maps ``(..., data_dim)`` to ``(..., head.out_features)`` raw outputs.
    generator_prior, discriminator_prior : callable
        ``(name, shape) -> numpyro Distribution`` (see :mod:`models.priors`).
    loss : models.losses.GANLoss
        Per-sample log-likelihood terms.
    latent_dim : int
        Size of ``z``.
    head : models.heads.Head
        What the task asks of the networks' ends (:mod:`models.heads`): the plain single logit (default),
        the semi-supervised K + 1-class discriminator, or BAGAN's class-conditional one.
    pack : int
        PacGAN's packing (Lin et al. 2018): the discriminator scores groups of ``pack`` samples concatenated
        (:func:`models.layers.pack_samples`; its input is ``pack * data_dim``), real with real and fake with
        fake, and the likelihood counts ``N / pack`` groups. 1: no packing (the plain head only).
    image_shape : tuple of int, optional
        ``(H, W, C)`` of image data: packed along the channels.
    """

    generator: nnx.Module
    discriminator: nnx.Module
    generator_prior: PriorFn
    discriminator_prior: PriorFn
    loss: GANLoss
    latent_dim: int
    head: Head = field(default_factory=PlainHead)
    pack: int = 1
    image_shape: tuple[int, ...] | None = None

    @property
    def num_classes(self) -> int:
        """``K`` of a K + 1-class head, else 0."""
        return self.head.num_classes

    @property
    def conditional(self) -> bool:
        """Class-conditional latents (BAGAN, Mariani et al. 2018): ``z ~ N(mu_c, Sigma_c)`` for a class ``c``."""
        return self.head.conditional

    # -- latents ------------------------------------------------------------------------------------
    def sample_latent(self, rng_key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        """Latent draws of batch shape ``shape``: ``(*shape, latent_dim)`` standard normal, or for a
        class-conditional head ``(*shape, latent_dim + 1)`` with the class last (:mod:`models.heads`)."""
        return self.head.sample_latent(rng_key, shape, self.latent_dim)

    def latent_noise(self, z: jax.Array) -> jax.Array:
        """The generator's input: ``z`` without a class-conditional head's class column."""
        return self.head.latent_noise(z)

    def latent_classes(self, z: jax.Array) -> jax.Array:
        """The classes ``c`` (int32) of class-conditional latents ``z``."""
        return self.head.latent_classes(z)

    def generator_terms(self, outputs: jax.Array, z: jax.Array) -> jax.Array:
        """The generator's per-sample log-likelihood ``(..., B)`` from raw discriminator outputs on
        ``G(z)`` (the head's :meth:`~models.heads.Head.generator_terms`)."""
        return self.head.generator_terms(self.loss, outputs, z)

    def generator_loglik(self, discriminator_params: dict, x_fake: jax.Array, z: jax.Array,
                         x_real: jax.Array | None = None, key: jax.Array | None = None) -> jax.Array:
        """The generator's per-sample log-likelihood under one discriminator (per packed group with
        :attr:`pack`).

        Parameters
        ----------
        discriminator_params : dict of str to array
            One discriminator's sites (no particle axis).
        x_fake : array, shape ``(B, data_dim)``, float32
            ``G(z)``.
        z : array, shape ``(B, latent_dim)`` (``+ 1`` for a class-conditional head)
        x_real : array, shape ``(B_real, data_dim)`` (``+ 1`` with a label column for a class-conditional head), optional
            A real minibatch: needed by feature matching (:func:`models.losses.feature_matching`), unused otherwise.
        key : jax.Array, optional
            The discriminator's noise key (streams ``"fake"`` and ``"real"``); ``None``: deterministic.

        Returns
        -------
        array, shape ``(B,)``, float32
            The head's terms (:meth:`generator_terms`), or for feature matching ``-||mean f(x_real) -
            mean f(x_fake)||^2`` (``f``: the last hidden layer) in every entry.

        Raises
        ------
        ValueError
            For feature matching without ``x_real``.
        """
        if not self.loss.feature_matching:
            return self.generator_terms(
                self.discriminator_outputs(discriminator_params, self.packed(x_fake), key=_stream(key, "fake")), z)
        if x_real is None:
            raise ValueError("loss=feature_matching needs a real minibatch in the generator's likelihood")
        if self.conditional:
            x_real = x_real[..., :-1]  # the label column
        gap = jnp.mean(self.discriminator_features(discriminator_params, self.packed(x_real), key=_stream(key, "real")),
                       axis=0) - jnp.mean(
            self.discriminator_features(discriminator_params, self.packed(x_fake), key=_stream(key, "fake")), axis=0)
        return jnp.full(x_fake.shape[:1], -jnp.sum(gap**2))

    def packed(self, x: jax.Array) -> jax.Array:
        """``x`` ``(..., n, data_dim)`` as the discriminator reads it: ``(..., n / pack, pack * data_dim)``
        (:func:`models.layers.pack_samples`; ``x`` itself without packing)."""
        return pack_samples(x, self.pack, self.image_shape)

    def real_minibatch(self, rng_key: jax.Array, data: jax.Array, shape: tuple[int, ...]) -> jax.Array | None:
        """A real minibatch ``data[idx]`` of shape ``(*shape, data.shape[-1])`` (indices with replacement) for
        the generator's likelihood when the loss matches features; ``None`` otherwise (no key is used, so
        the other losses' random streams are unchanged)."""
        if not self.loss.feature_matching:
            return None
        return data[jax.random.randint(rng_key, shape, 0, data.shape[0])]

    # -- networks as random modules -------------------------------------------------------------
    def generator_net(self):
        """Register the generator's weights as sample sites; return the network as a callable."""
        return random_nnx_module(GENERATOR, self.generator, self.generator_prior, scope_divider="__")

    def discriminator_outputs_net(self):
        """Register the discriminator's weights as sample sites; return ``(x, *, key=None, features=False) -> raw
        outputs (..., 1 or K + 1)``."""
        return random_nnx_module(DISCRIMINATOR, self.discriminator, self.discriminator_prior, scope_divider="__")

    def critic_logit(self, outputs: jax.Array) -> jax.Array:
        """The real-vs-fake logit ``(...,)`` of raw discriminator outputs (the head's)."""
        return self.head.critic_logit(outputs)

    def discriminator_net(self):
        """Register the discriminator's weights as sample sites; return ``x -> logits (...,)``."""
        net = self.discriminator_outputs_net()
        return lambda x: self.critic_logit(net(x))

    def network_start(self) -> tuple[dict, dict] | None:
        """The networks' own initial weights, named as the sample sites, when the discriminator was
        initialised from data (it has a ``data_init`` method: weight normalisation's data-dependent
        initialisation, :mod:`models.improved_gan`): every algorithm starts there, since a prior draw would
        undo that initialisation. ``None`` for the other networks (their start is a prior draw)."""
        if not hasattr(self.discriminator, "data_init"):
            return None

        def sites(prefix, module):
            out = {}

            def walk(tree, path):
                for k, v in tree.items():
                    name = f"{path}.{k}" if path else str(k)
                    if isinstance(v, dict):
                        walk(v, name)
                    else:
                        out[f"{prefix}__{name}"] = jnp.asarray(v)

            walk(nnx.to_pure_dict(nnx.state(module, nnx.Param)), "")
            return out

        return sites(GENERATOR, self.generator), sites(DISCRIMINATOR, self.discriminator)

    def dropout_sites(self) -> list[str]:
        """Site names of the kernels whose input axis (``-2``) carries hidden units, in both networks (the
        networks' ``hidden_input_kernels``): where MC dropout masks units."""
        return ([f"{GENERATOR}__{p}" for p in self.generator.hidden_input_kernels()]
                + [f"{DISCRIMINATOR}__{p}" for p in self.discriminator.hidden_input_kernels()])

    def prior_model(self) -> None:
        """Both networks' priors only (for initialisation from ``init_to_sample``)."""
        self.generator_net()
        self.discriminator_net()

    # -- deterministic use with given weights -----------------------------------------------------
    def generate(self, generator_params: dict, z: jax.Array, key: jax.Array | None = None) -> jax.Array:
        """``G(z; theta_g)``.

        Parameters
        ----------
        generator_params : dict of str to array
            One particle's generator sites (no leading particle axis).
        z : array, shape ``(B, latent_dim)``, float32
            One batch (a generator that normalises by batch statistics pools it).
        key : jax.Array, optional
            The generator's stochastic layers' key; ``None``: deterministic.

        Returns
        -------
        array, shape ``(B, data_dim)``, float32
        """
        with handlers.block(), handlers.substitute(substitute_fn=_fixed(generator_params)):
            return self.generator_net()(self.latent_noise(z), key=key)

    def discriminator_outputs(self, discriminator_params: dict, x: jax.Array, key: jax.Array | None = None) -> jax.Array:
        """Raw discriminator outputs ``(..., 1 or K + 1)`` with given weights; ``x`` is ``(B, data_dim)``;
        ``key``: the noise layers' key (``None``: deterministic)."""
        with handlers.block(), handlers.substitute(substitute_fn=_fixed(discriminator_params)):
            return self.discriminator_outputs_net()(x, key=key)

    def discriminator_features(self, discriminator_params: dict, x: jax.Array, key: jax.Array | None = None) -> jax.Array:
        """The discriminator's last hidden layer ``(B, F)`` on ``x`` ``(B, data_dim)`` with given weights (the
        ``f`` of feature matching); ``key`` as :meth:`discriminator_outputs`."""
        with handlers.block(), handlers.substitute(substitute_fn=_fixed(discriminator_params)):
            return self.discriminator_outputs_net()(x, key=key, features=True)[0]

    def discriminate(self, discriminator_params: dict, x: jax.Array) -> jax.Array:
        """``D(x; theta_d)`` as real-vs-fake logits, shape ``x.shape[:-1]`` (``(B / pack,)`` with packing: one
        per group, the last ``B mod pack`` samples left out); ``x`` is ``(B, data_dim)``."""
        if self.pack > 1:
            x = x[..., : x.shape[-2] // self.pack * self.pack, :]
        return self.critic_logit(self.discriminator_outputs(discriminator_params, self.packed(x)))

    def class_probabilities(self, discriminator_params: dict, x: jax.Array) -> jax.Array:
        """``p(y | x, real)``: softmax over the K real classes, ``(B, K)`` (semi-supervised models only)."""
        return self.head.class_probabilities(self.discriminator_outputs(discriminator_params, x))

    def discriminator_terms(self, outputs, x_real: jax.Array, x_fake: jax.Array,
                            epsilon: jax.Array | None = None, key: jax.Array | None = None) -> dict[str, jax.Array]:
        """The discriminator's per-sample log-likelihood terms under :attr:`loss`.

        Parameters
        ----------
        outputs : callable
            ``(x, *, key=None) -> raw outputs``: ``(n, data_dim) -> (n, 1 or K + 1)`` of one discriminator.
        x_real : array, shape ``(B, data_dim)``, or ``(B, data_dim + 1)`` with the label last (:class:`models.heads.ConditionalHead`)
        x_fake : array, shape ``(k B, data_dim)``
        epsilon : array, shape ``(k B,)``, optional
            Interpolation weights in [0, 1) for a loss with a gradient penalty (required by it).
        key : jax.Array, optional
            The noise layers' key: each evaluation gets its own stream (``"real"``, ``"fake"``, ``"penalty"``,
            ``"labelled"``); ``None``: deterministic.

        Returns
        -------
        dict of str to array
            ``real`` ``(B,)``, ``fake`` ``(k B,)``, for a penalised loss ``penalty`` ``(k B,)`` (each divided
            by :attr:`pack`: one term per group) and, for a
            head's further terms (:meth:`models.heads.Head.extra_terms`: ``labelled`` ``(N_s,)`` for the
            semi-supervised head).
        """
        def stream(name):
            k = _stream(key, name)
            return lambda x: outputs(x, key=k)

        def critic(name):
            net = stream(name)
            return lambda x: self.critic_logit(net(x))

        if self.pack > 1:  # groups of real and groups of fake samples; one interpolation weight per group
            x_real, x_fake = self.packed(x_real), self.packed(x_fake)
            epsilon = None if epsilon is None else epsilon.reshape(-1, self.pack)[:, 0]
        real, x_real = self.head.real_terms(self.loss, stream("real"), x_real)
        terms = {"real": real, "fake": self.loss.discriminator_fake(critic("fake")(x_fake))}
        if self.loss.penalty is not None:
            if epsilon is None:
                raise ValueError("the loss's gradient penalty needs epsilon (interpolation weights)")
            terms["penalty"] = self.loss.penalty(critic("penalty"), x_real, x_fake, epsilon)
        return terms | self.head.extra_terms(stream("labelled"))

    def project(self, discriminator_params: dict) -> dict:
        """Clip every discriminator weight to ``[-clip, clip]`` if the loss clips (WGAN); else identity."""
        if self.loss.clip is None:
            return discriminator_params
        c = self.loss.clip
        return {k: jnp.clip(v, -c, c) if is_weight_site(k) else v for k, v in discriminator_params.items()}

    def constrain(self, params: dict) -> dict:
        """Map unconstrained sites (what SG-MCMC moves) to their supports (what is exported); weights are
        unconstrained already, a hierarchical prior's precisions go through ``exp``. Works on any leading
        batch shape."""
        supports = self._supports()
        return {k: biject_to(supports[k])(v) if k in supports else v for k, v in params.items()}

    def _supports(self) -> dict:
        tr = handlers.trace(handlers.seed(self.prior_model, jax.random.key(0))).get_trace()
        return {name: site["fn"].support for name, site in tr.items()
                if site["type"] == "sample" and not is_weight_site(name)}

    # -- the conditional posteriors (numpyro models) --------------------------------------------
    def generator_model(self, batch: GeneratorBatch) -> None:
        """Saatchi & Wilson eq. 1: ``log p(theta_g | z, theta_d)`` up to a constant.

        Parameters
        ----------
        batch : GeneratorBatch
            Latents, the discriminator particles (the mean of their log-likelihoods), ``N``, a real minibatch
            for feature matching and the noise key. With a key, each discriminator particle's noise layers
            draw their own noise (``split(named_key(key, "discriminators"), J_d)``) and the generator's
            layers use ``named_key(key, "generator")``: the likelihood is stochastic, its noise redrawn at
            every step (docs/design.md, "Stochastic layers").
        """
        z, discs, key = batch.z, batch.discriminators, batch.key
        x_fake = self.generator_net()(self.latent_noise(z), key=_stream(key, "generator"))
        keys = None
        if key is not None:
            keys = jax.random.split(named_key(key, "discriminators"), jax.tree.leaves(discs)[0].shape[0])
        loglik = jnp.mean(jax.vmap(self.generator_loglik, in_axes=(0, None, None, None, 0))(
            discs, x_fake, z, batch.x_real, keys), axis=0)  # (B,), mean over J_d
        _scaled_factor("generator_loglik", loglik, self.likelihood_size(batch.num_data))

    def discriminator_model(self, batch: DiscriminatorBatch) -> None:
        """Saatchi & Wilson eq. 2: ``log p(theta_d | z, X, theta_g)`` up to a constant.

        Parameters
        ----------
        batch : DiscriminatorBatch
            Real and generated minibatches, ``N`` (the real, the fake and any penalty term are each scaled
            to ``N`` samples), a gradient penalty's interpolation weights and the noise key (see
            :meth:`discriminator_terms`).
        """
        terms = self.discriminator_terms(self.discriminator_outputs_net(), batch.x_real, batch.x_fake,
                                         batch.epsilon, batch.key)
        for name, values in terms.items():
            scale = self.term_scale(name, values.shape[0], batch.num_data)
            if scale != 0:  # a term weighted 0 (a supervised-only control's real and fake terms) adds nothing
                _scaled_factor(f"discriminator_loglik_{name}", values, scale)

    def term_scale(self, name: str, num_terms: int, num_data: int) -> float:
        """The number of data a likelihood term's ``num_terms`` values stand for: ``N`` for a minibatch term
        (``N / pack`` packed groups), the head's weight for a full-set term
        (:data:`models.heads.FULL_SET_TERMS`)."""
        return self.head.term_scale(name, num_terms, self.likelihood_size(num_data))

    def likelihood_size(self, num_data: int) -> float:
        """The number of data the likelihood counts: ``N``, or ``N / pack`` packed groups (:attr:`pack`; ``N``
        itself, an int, without packing, so the unpacked arithmetic is unchanged)."""
        return num_data / self.pack if self.pack > 1 else num_data
