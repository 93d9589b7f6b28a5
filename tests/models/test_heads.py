"""The heads a task gives the model (models/heads.py): outputs, latents and likelihood terms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models.heads import ConditionalHead, PlainHead, SemiSupervisedHead
from models.losses import build_loss

LOSS = build_loss("non_saturating")


def test_plain_head_is_the_single_logit_gan():
    head = PlainHead()
    out = jax.random.normal(jax.random.key(0), (5, 1))
    assert head.out_features == 1 and not head.conditional
    np.testing.assert_array_equal(head.critic_logit(out), out[:, 0])
    np.testing.assert_allclose(head.generator_terms(LOSS, out, None), jax.nn.log_sigmoid(out[:, 0]), rtol=1e-6)
    real, x = head.real_terms(LOSS, lambda v: v[:, :1], out)
    np.testing.assert_allclose(real, jax.nn.log_sigmoid(out[:, 0]), rtol=1e-6)
    assert head.extra_terms(lambda v: v) == {} and head.term_scale("real", 7, 100) == 100
    with pytest.raises(ValueError):
        head.class_probabilities(out)
    z = head.sample_latent(jax.random.key(1), (3, 4), 2)
    assert z.shape == (3, 4, 2) and head.latent_noise(z) is z


def test_semi_supervised_head_logit_and_labelled_term():
    x_lab, y_lab = jnp.eye(3), jnp.array([0, 2, 1])
    head = SemiSupervisedHead(num_classes=3, x_labelled=x_lab, y_labelled=y_lab, labelled_weight=2.0)
    out = jax.random.normal(jax.random.key(0), (4, 4))
    assert head.out_features == 4
    # sigmoid(critic logit) = 1 - softmax(out)[0], the probability of "real"
    np.testing.assert_allclose(jax.nn.sigmoid(head.critic_logit(out)), 1 - jax.nn.softmax(out)[:, 0], rtol=1e-5)
    np.testing.assert_allclose(head.class_probabilities(out), jax.nn.softmax(out[:, 1:]), rtol=1e-6)
    w = jax.random.normal(jax.random.key(1), (3, 4))
    labelled = head.extra_terms(lambda x: x @ w)["labelled"]
    # Salimans et al.'s L_supervised: the cross-entropy over the K real classes' logits (l_1..K)
    logits = x_lab @ w
    want = logits[jnp.arange(3), y_lab + 1] - jax.nn.logsumexp(logits[:, 1:], axis=-1)
    np.testing.assert_allclose(labelled, want, rtol=1e-6)
    # not the log-softmax over all K + 1 outputs, which adds log D(x_s) (the "real" probability) per image
    k_plus_1 = jax.nn.log_softmax(logits)[jnp.arange(3), y_lab + 1]
    assert np.all(np.abs(np.asarray(labelled - k_plus_1)) > 1e-3)
    np.testing.assert_allclose(labelled - k_plus_1, -jax.nn.log_sigmoid(head.critic_logit(logits)), rtol=1e-5)
    assert head.term_scale("labelled", 3, 1000) == 6.0 and head.term_scale("fake", 64, 1000) == 1000
    with pytest.raises(ValueError):
        SemiSupervisedHead(num_classes=3)


def test_conditional_head_draws_each_class_from_its_gaussian_and_asks_for_it():
    means = jnp.array([[-10.0, 0.0], [10.0, 0.0]])
    chols = jnp.stack([jnp.eye(2) * 0.1, jnp.eye(2) * 0.1])
    head = ConditionalHead(num_classes=2, latent_means=means, latent_chols=chols)
    z = head.sample_latent(jax.random.key(0), (2000,), 2)
    c = head.latent_classes(z)
    assert z.shape == (2000, 3) and head.latent_noise(z).shape == (2000, 2) and head.conditional
    assert 0.45 < float(c.mean()) < 0.55  # uniform over the classes: balanced generation
    np.testing.assert_allclose(head.latent_noise(z)[c == 1].mean(0), means[1], atol=0.02)
    out = jax.random.normal(jax.random.key(1), (2000, 3))
    np.testing.assert_allclose(head.generator_terms(LOSS, out, z),
                               jax.nn.log_softmax(out)[jnp.arange(2000), c + 1], rtol=1e-6)
    x_real = jnp.concatenate([jnp.ones((5, 2)), jnp.array([[0.0], [1.0], [1.0], [0.0], [1.0]])], axis=1)
    real, stripped = head.real_terms(LOSS, lambda x: jnp.tile(jnp.array([0.0, 1.0, 2.0]), (len(x), 1)), x_real)
    assert stripped.shape == (5, 2)
    np.testing.assert_allclose(real, jax.nn.log_softmax(jnp.array([0.0, 1.0, 2.0]))[
        jnp.array([1, 2, 2, 1, 2])], rtol=1e-6)
