"""The AnoGAN anomaly score (Schlegl et al. 2017) and the low-data augmentation figures."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits

from experiments.metrics import anogan_scores, augmentation_metrics
from inference.common import init_particles
from models.bgan import BayesGAN
from models.heads import ConditionalHead
from models.losses import build_loss
from models.networks import make_discriminator, make_generator
from models.priors import build_prior


def small_model(head=None):
    normal = build_prior("normal")
    kwargs = {"head": head} if head is not None else {}
    return BayesGAN(make_generator(2, [16], 6, output_activation="linear"), make_discriminator(6, [8]),
                    normal, normal, build_loss("non_saturating"), latent_dim=2, **kwargs)


def test_anogan_score_is_low_on_the_generators_range_and_high_off_it():
    """Points a generator sample makes (x = G_j(z0)) are inverted to a small residual; the same points moved
    off the generators' range score higher, for each of the generator samples averaged over."""
    model = small_model()
    gen, disc = init_particles(jax.random.key(0), model, 3, 2)
    z0 = jax.random.normal(jax.random.key(1), (20, 2))
    on = np.asarray(model.generate(jax.tree.map(lambda v: v[0], gen), z0))
    off = on + np.array([4.0, -4.0, 4.0, -4.0, 4.0, -4.0], np.float32)
    scores = anogan_scores(model, gen, disc, np.concatenate([on, off]), steps=300, seed=0)
    assert scores.shape == (40,)
    assert np.all(scores[20:] > scores[:20].max())
    pixel_only = anogan_scores(model, jax.tree.map(lambda v: v[:1], gen), disc, on, steps=300, feature_weight=0.0)
    assert np.median(pixel_only) < 0.2 * np.median(np.abs(on).sum(axis=1))  # G_0(z0) is found again


def test_anogan_refuses_a_conditional_model_and_bad_settings():
    head = ConditionalHead(num_classes=2, latent_means=jnp.zeros((2, 2)), latent_chols=jnp.stack([jnp.eye(2)] * 2))
    model = small_model(head)
    with pytest.raises(ValueError, match="unconditional"):
        anogan_scores(model, {}, {}, np.zeros((1, 6)))
    gen, disc = init_particles(jax.random.key(0), small_model(), 1, 1)
    with pytest.raises(ValueError, match="feature_weight"):
        anogan_scores(small_model(), gen, disc, np.zeros((1, 6), np.float32), feature_weight=2.0)


def _few_digits():
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    train = np.concatenate([rng.permutation(np.flatnonzero(y[:1000] == c))[:2] for c in range(10)])
    pool = np.arange(1000, 1400)
    return x[train], y[train], x[pool], y[pool], x[1400:], y[1400:]


def test_augmentation_helps_with_true_images_and_hurts_with_wrong_labels():
    """Real images of the right class as the "generated" ones raise the accuracy of the few-shot classifier;
    the same images under shuffled classes lower it; the real-only figure is the same in both."""
    x_tr, y_tr, x_pool, y_pool, x_ev, y_ev = _few_digits()
    good = augmentation_metrics(x_pool, y_pool, x_tr, y_tr, x_ev, y_ev, per_class=30, seed=0)
    wrong = augmentation_metrics(x_pool, (y_pool + 3) % 10, x_tr, y_tr, x_ev, y_ev, per_class=30, seed=0)
    assert good["test_accuracy_real_only"] == wrong["test_accuracy_real_only"] < 0.85
    assert good["test_accuracy"] > good["test_accuracy_real_only"] + 0.05
    assert wrong["test_accuracy"] < good["test_accuracy_real_only"] - 0.2
    assert good["generated_added"] == {str(c): 30 for c in range(10)}
    few = augmentation_metrics(x_pool[:5], y_pool[:5], x_tr, y_tr, x_ev, y_ev, per_class=30, seed=0)
    assert sum(few["generated_added"].values()) == 5  # fewer when the generator made fewer
    with pytest.raises(ValueError, match="per_class"):
        augmentation_metrics(x_pool, y_pool, x_tr, y_tr, x_ev, y_ev, per_class=0)
