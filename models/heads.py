"""Heads: what a task asks of the networks' ends -- the discriminator's outputs, the generator's latents and
the likelihood terms built on them.

A :class:`models.bgan.BayesGAN` holds one head and calls it wherever the plain GAN and its variants differ;
it has no task fields of its own. Three heads ship:

- :class:`PlainHead` -- one real-vs-fake logit, ``z ~ N(0, I)``: every generation task.
- :class:`SemiSupervisedHead` -- the K + 1-class discriminator of Salimans et al. (2016) used by Saatchi &
  Wilson (2017, sec. 4): class 0 is "fake", and a labelled set adds ``log p(y_s | x_s, real)`` (the
  cross-entropy over the K real classes) to its likelihood.
- :class:`ConditionalHead` -- BAGAN (Mariani et al. 2018): the K + 1-class discriminator, every real example
  labelled (the label as a last data column), and class-conditional latents ``z_c ~ N(mu_c, L_c L_c^T)``
  that the generator must make the discriminator recognise as class ``c``.

A new head is a frozen dataclass with the methods of :class:`Head` (see docs/extending.md); a task
(:mod:`experiments.tasks`) builds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from models.losses import GANLoss

#: Likelihood terms summed over a whole (small) set every step, not scaled from a minibatch to ``N``.
FULL_SET_TERMS = frozenset({"labelled"})


@dataclass(frozen=True, eq=False)
class Head:
    """The plain head's behaviour, which the others refine.

    Attributes
    ----------
    num_classes : int
        ``K`` for a K + 1-class discriminator, 0 for a single logit.
    """

    num_classes: int = 0

    # -- the discriminator's outputs ------------------------------------------------------------------
    @property
    def out_features(self) -> int:
        """Discriminator outputs: 1 logit, or ``K + 1`` class logits (class 0 = fake)."""
        return self.num_classes + 1 if self.num_classes else 1

    @property
    def initialisation_images(self) -> jax.Array | None:
        """The images a data-dependent initialisation (weight norm) may read, ``(M, data_dim)``; ``None``: the
        training images."""
        return None

    def critic_logit(self, outputs: jax.Array) -> jax.Array:
        """The real-vs-fake logit ``(...,)`` of raw outputs ``(..., out_features)``: the single logit, or
        ``logsumexp(l_1..K) - l_0`` for a K + 1-class discriminator (``sigmoid`` of it is ``1 - D(x)[0]``)."""
        if self.num_classes:
            return jax.nn.logsumexp(outputs[..., 1:], axis=-1) - outputs[..., 0]
        return jnp.squeeze(outputs, axis=-1)

    def class_probabilities(self, outputs: jax.Array) -> jax.Array:
        """``p(y | x, real)``: softmax over the K real classes of raw outputs, ``(..., K)``."""
        if not self.num_classes:
            raise ValueError("class probabilities need a K + 1-class head (num_classes >= 2)")
        return jax.nn.softmax(outputs[..., 1:], axis=-1)

    # -- latents -----------------------------------------------------------------------------------
    @property
    def conditional(self) -> bool:
        """Whether latents carry a class (a last column of ``z``)."""
        return False

    def sample_latent(self, rng_key: jax.Array, shape: tuple[int, ...], latent_dim: int) -> jax.Array:
        """``(*shape, latent_dim)`` standard-normal latents (float32)."""
        return jax.random.normal(rng_key, (*shape, latent_dim))

    def latent_noise(self, z: jax.Array) -> jax.Array:
        """The generator's input: ``z`` without a class column."""
        return z

    def latent_classes(self, z: jax.Array) -> jax.Array:
        """The classes (int32) of class-conditional latents; only for a conditional head."""
        raise ValueError("latent classes need a class-conditional head")

    # -- likelihood terms --------------------------------------------------------------------------
    def generator_terms(self, loss: GANLoss, outputs: jax.Array, z: jax.Array) -> jax.Array:
        """The generator's per-sample log-likelihood ``(..., B)`` from raw outputs on ``G(z)``."""
        return loss.generator(self.critic_logit(outputs))

    def real_terms(self, loss: GANLoss, outputs, x_real: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(terms (B,), images (B, data_dim))``: the discriminator's real-data log-likelihood and the real
        images it was computed on (for a gradient penalty). ``outputs`` maps images to raw outputs."""
        return loss.discriminator_real(self.critic_logit(outputs(x_real))), x_real

    def extra_terms(self, outputs) -> dict[str, jax.Array]:
        """Further discriminator terms (e.g. ``labelled``, see :data:`FULL_SET_TERMS`)."""
        return {}

    def term_scale(self, name: str, num_terms: int, num_data: int) -> float:
        """The number of data a term's ``num_terms`` values stand for: ``N`` for a minibatch term."""
        return num_data


@dataclass(frozen=True, eq=False)
class PlainHead(Head):
    """One real-vs-fake logit and ``z ~ N(0, I)``: the GAN of Goodfellow et al. (2014) and the Bayesian GAN
    of Saatchi & Wilson (2017, eqs. 1-2)."""


@dataclass(frozen=True, eq=False)
class SemiSupervisedHead(Head):
    """The K + 1-class discriminator of the semi-supervised Bayesian GAN (Saatchi & Wilson 2017, sec. 4;
    Salimans et al. 2016).

    The labelled term is ``log p(y_s | x_s, real) = l_{y_s + 1}(x_s) - logsumexp(l_1..K(x_s))``: the
    cross-entropy over the K real classes, as Salimans et al. write ``L_supervised`` (eq. 5's
    ``log p_model(y | x, y < K + 1)``) and as Saatchi & Wilson's code computes it (a softmax cross-entropy on
    the K class logits of the labelled batch). It is not ``log D(x_s)[y_s + 1]``, the log-softmax over all
    K + 1 outputs, which adds ``log D(x_s)`` (the real-vs-fake term) once more for every labelled image.

    Parameters
    ----------
    num_classes : int
        ``K >= 2``.
    x_labelled : array, shape ``(N_s, data_dim)``, float32
        The labelled examples, all used at every step.
    y_labelled : array, shape ``(N_s,)``, int
        Their classes in ``0 .. K - 1`` (discriminator output ``y + 1``).
    labelled_weight : float
        Multiplies the labelled log-likelihood ``sum_s log p(y_s | x_s, real)``. 1 is the exact posterior given the
        labelled set; ``N / N_s`` weighs it like the ``N`` unlabelled examples, as Saatchi & Wilson's code does.
    unlabelled_weight : float
        Multiplies the minibatch terms (real, fake and any penalty; each stands for ``N`` data): 1 is the
        semi-supervised GAN; 0 leaves the labelled term alone, the supervised-only classifier of the same
        network, prior and inference trained on the labelled set alone (the control of issue 25).
    """

    x_labelled: jax.Array | None = None
    y_labelled: jax.Array | None = None
    labelled_weight: float = 1.0
    unlabelled_weight: float = 1.0

    def __post_init__(self):
        if self.num_classes < 2 or self.x_labelled is None or self.y_labelled is None:
            raise ValueError("a semi-supervised head needs num_classes >= 2 and the labelled set")
        if not self.unlabelled_weight >= 0:
            raise ValueError(f"unlabelled_weight must be >= 0, got {self.unlabelled_weight}")

    @property
    def initialisation_images(self) -> jax.Array | None:
        """The labelled images when the unlabelled terms are off (``unlabelled_weight = 0``): the supervised-only
        control reads no unlabelled image, not even to initialise weight norm's scales; else the training
        images."""
        return self.x_labelled if self.unlabelled_weight == 0 else None

    def extra_terms(self, outputs) -> dict[str, jax.Array]:
        """``labelled`` ``(N_s,)``: ``log p(y_s | x_s, real)``, the log-softmax over the K real classes' outputs,
        over every labelled example."""
        log_probs = jax.nn.log_softmax(outputs(self.x_labelled)[..., 1:], axis=-1)
        return {"labelled": jnp.take_along_axis(log_probs, self.y_labelled[:, None], axis=-1)[:, 0]}

    def term_scale(self, name: str, num_terms: int, num_data: int) -> float:
        """``labelled_weight * N_s`` for the labelled term, ``unlabelled_weight * N`` for a minibatch term."""
        if name in FULL_SET_TERMS:
            return num_terms * self.labelled_weight
        return num_data if self.unlabelled_weight == 1 else num_data * self.unlabelled_weight


@dataclass(frozen=True, eq=False)
class ConditionalHead(Head):
    """BAGAN's class-conditional GAN (Mariani et al. 2018).

    Parameters
    ----------
    num_classes : int
        ``K >= 2``.
    latent_means, latent_chols : array, shapes ``(K, latent_dim)`` and ``(K, latent_dim, latent_dim)``
        ``N(mu_c, L_c L_c^T)`` per class (fitted to an autoencoder's codes of each class).

    Notes
    -----
    Every real example carries its class in an extra last data column; the discriminator's real term is
    ``log D(x)[y + 1]``, the generator's ``log D(G(z_c))[c + 1]``.
    """

    latent_means: jax.Array | None = None
    latent_chols: jax.Array | None = None

    def __post_init__(self):
        if self.num_classes < 2 or self.latent_means is None or self.latent_chols is None:
            raise ValueError("a class-conditional head needs num_classes >= 2 and the latent Gaussians")

    @property
    def conditional(self) -> bool:
        return True

    def sample_latent(self, rng_key: jax.Array, shape: tuple[int, ...], latent_dim: int) -> jax.Array:
        """``(*shape, latent_dim + 1)``: ``c`` uniform over the K classes (balanced generation),
        ``z = mu_c + L_c eps``, and ``c`` (as a float) in the last column."""
        k_c, k_e = jax.random.split(rng_key)
        c = jax.random.randint(k_c, shape, 0, self.latent_means.shape[0])
        eps = jax.random.normal(k_e, (*shape, latent_dim))
        z = self.latent_means[c] + jnp.einsum("...ij,...j->...i", self.latent_chols[c], eps)
        return jnp.concatenate([z, c[..., None].astype(z.dtype)], axis=-1)

    def latent_noise(self, z: jax.Array) -> jax.Array:
        return z[..., :-1]

    def latent_classes(self, z: jax.Array) -> jax.Array:
        return z[..., -1].astype(jnp.int32)

    def generator_terms(self, loss: GANLoss, outputs: jax.Array, z: jax.Array) -> jax.Array:
        """``log D(G(z_c))[c + 1]``: be recognised as the class asked for."""
        log_probs = jax.nn.log_softmax(outputs, axis=-1)
        c = jnp.broadcast_to(self.latent_classes(z), outputs.shape[:-1])
        return jnp.take_along_axis(log_probs, c[..., None] + 1, axis=-1)[..., 0]

    def real_terms(self, loss: GANLoss, outputs, x_real: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``log D(x)[y + 1]`` with the label ``y`` read from the last column of ``x_real``."""
        x_real, y_real = x_real[:, :-1], x_real[:, -1].astype(jnp.int32)
        log_probs = jax.nn.log_softmax(outputs(x_real), axis=-1)
        return jnp.take_along_axis(log_probs, y_real[:, None] + 1, axis=-1)[:, 0], x_real
