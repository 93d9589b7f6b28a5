"""Datasets and metrics against cases whose answer is known."""

import numpy as np
import pytest

from experiments.datasets import digits, grid25, load_dataset, ring8
from experiments.metrics import frechet_distance, metric_samples, mixture_metrics


def test_ring_has_eight_distinct_modes_on_the_unit_circle():
    d = ring8(num_train=1000, num_eval=10)
    assert len(np.unique(d.modes.round(6), axis=0)) == 8
    np.testing.assert_allclose(np.linalg.norm(d.modes, axis=1), 1.0, rtol=1e-6)
    assert d.train.shape == (1000, 2) and d.train.dtype == np.float32


def test_grid_modes_and_sigma():
    d = grid25(num_train=20_000, num_eval=10)
    assert sorted(set(d.modes[:, 0].tolist())) == [-4, -2, 0, 2, 4]
    m = mixture_metrics(d.train, d.modes, d.sigma)
    assert m["modes"] == 25 and m["high_quality"] > 0.98 and m["reverse_kl"] < 0.01


def test_mixture_metrics_known_cases():
    d = grid25(num_train=10, num_eval=10)
    one_mode = np.tile(d.modes[:1], (100, 1))
    m = mixture_metrics(one_mode, d.modes, d.sigma)
    assert m["modes"] == 1 and m["high_quality"] == 1.0
    assert m["reverse_kl"] == pytest.approx(np.log(25))
    far = one_mode + 1.0
    assert mixture_metrics(far, d.modes, d.sigma)["high_quality"] == 0.0


def test_digits_are_real_images_in_unit_range():
    d = digits()
    assert d.train.shape == (1437, 64) and d.eval.shape == (360, 64)
    assert d.train.min() == 0.0 and d.train.max() == 1.0
    assert set(np.unique(d.eval_labels)) == set(range(10))


def test_frechet_distance_known_values():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + np.array([3.0, 0, 4.0])) == pytest.approx(25.0, rel=1e-3)


@pytest.mark.parametrize("chains,draws,samples,last,n", [(4, 3, 5, 1, 8), (4, 6, 10, 2, 40), (1, 5, 50, 2, 50)])
def test_metric_samples_pool_every_chain_and_draw_equally(chains, draws, samples, last, n):
    x = np.zeros((chains, draws, samples, 2))
    for c in range(chains):
        for d in range(draws):
            x[c, d, :, 0], x[c, d, :, 1] = c, d
    s = metric_samples(x, last_draws=last, n=n)
    assert s.shape == (n, 2)
    assert set(s[:, 1].tolist()) == set(range(draws - last, draws))  # only the kept draws
    counts = np.unique(s[:, 0] * 100 + s[:, 1], return_counts=True)[1]
    assert len(counts) == chains * last and counts.max() - counts.min() <= 1


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(KeyError, match="valid: cifar10, digits, fashion_mnist, grid25, mnist, ring8, stacked_mnist, svhn_cropped"):
        load_dataset("minst")


def test_synthetic_dataset_recipe():
    from experiments.datasets import synthetic

    d = synthetic(num_train=2000, num_eval=500)
    assert d.train.shape == (2000, 100) and d.eval.shape == (500, 100)
    np.testing.assert_allclose(d.train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(d.train.std(0), 1, rtol=1e-4)
    # points lie on 10 two-dimensional affine pieces: the data matrix of one cluster has rank 2 (+ offset)
    first = d.train[:200] - d.train[:200].mean(0)
    assert np.linalg.matrix_rank(first, tol=1e-3 * np.abs(first).max()) == 2
    np.testing.assert_array_equal(synthetic(num_train=50, num_eval=5).train, synthetic(num_train=50, num_eval=5).train)


def test_pca_js_divergence_known_cases():
    from experiments.datasets import synthetic
    from experiments.metrics import pca_js_divergence

    d = synthetic(num_train=3000, num_eval=3000)
    same = pca_js_divergence(d.eval, d.train)
    other = pca_js_divergence(d.eval, np.random.default_rng(0).standard_normal((3000, 100)))
    assert 0 <= same < 0.05 and other > 0.3 and other <= np.log(2) + 1e-9


def test_data_copying_z_detects_copies_and_blur():
    """Meehan et al. (2020)'s statistic: ~0 for fresh draws, << 0 for noisy copies of the training set,
    >> 0 for a too-wide generator."""
    from experiments.metrics import data_copying_z

    r = np.random.default_rng(0)
    train, held_out = r.normal(size=(250, 2)), r.normal(size=(2500, 2))
    assert abs(data_copying_z(train, held_out, r.normal(size=(2500, 2)))) < 3
    copies = train[r.integers(0, 250, 2500)] + 0.01 * r.normal(size=(2500, 2))
    assert data_copying_z(train, held_out, copies) < -20
    assert data_copying_z(train, held_out, 2 * r.normal(size=(2500, 2))) > 20


@pytest.mark.slow
def test_conv_classifier_learns_a_spatial_rule_and_gives_its_dense_features():
    """The MNIST metrics classifier (experiment.metrics_classifier=cnn) separates images by where the ink is,
    which no pixel-count rule can: class k has its bright square in quadrant k."""
    from experiments.evaluation import metrics_classifier
    from experiments.datasets import Dataset
    from experiments.metrics import ConvClassifier

    rng = np.random.default_rng(0)

    def images(n):
        y = rng.integers(0, 4, n)
        x = rng.random((n, 12, 12)) * 0.2
        for i, k in enumerate(y):
            r, c = divmod(int(k), 2)
            x[i, 6 * r + 1:6 * r + 5, 6 * c + 1:6 * c + 5] += 0.8
        return x.reshape(n, -1).astype(np.float32), y

    x, y = images(512)
    x_test, y_test = images(200)
    data = Dataset("quadrants", x, x_test, (12, 12), train_labels=y, eval_labels=y_test)
    clf = metrics_classifier(data, "cnn")
    assert isinstance(clf, ConvClassifier) and clf.num_classes == 4
    assert (clf.predict(x_test) == y_test).mean() >= 0.98
    features = clf.features(x_test)
    assert features.shape == (200, 128) and (features >= 0).all() and features.dtype == np.float64
    assert "CNN" in clf.definition
    assert type(metrics_classifier(data, "mlp")).__name__ == "ImageClassifier"
    few = ConvClassifier(x[:60], y[:60], (12, 12), epochs=30)  # fewer images than one batch of 128: still trains
    assert (few.predict(x_test) == y_test).mean() >= 0.9
    assert few.features(x_test[:0]).shape == (0, 128) and few.predict(x_test[:0]).shape == (0,)


def test_data_copying_z_saturates_at_its_documented_ceiling():
    from experiments.metrics import data_copying_z

    rng = np.random.default_rng(0)
    train, held_out = rng.normal(size=(500, 5)), rng.normal(size=(300, 5))
    far = rng.normal(size=(200, 5)) + 100.0  # every generated point farther than every held-out one
    assert data_copying_z(train, held_out, far) == pytest.approx(np.sqrt(3 * 200 * 300 / (200 + 300 + 1)))


def test_pooled_figures_are_also_reported_at_the_final_draws_count():
    """A uniform generator on grid25's modes: its plug-in reverse KL is ~0.005 at 2,500 samples and ~0.0005
    at 25,000 (a count effect, not quality), so compute_metrics reports the pooled figures at 2,500 too, and
    those match the final draw's scale."""
    from experiments.evaluation import compute_metrics

    d = grid25(num_train=1000, num_eval=10)
    rng = np.random.default_rng(0)
    chains, draws, samples = 2, 10, 2500
    modes = rng.integers(0, 25, size=(chains, draws, samples))  # every mode equally often
    x = d.modes[modes] + 0.01 * rng.normal(size=(chains, draws, samples, 2))
    m = compute_metrics(d, x.astype(np.float32), 1, pooled_headline=True)
    assert m["pooled_samples"] == 25_000 and m["final_draw_samples"] == 2500
    assert m["num_high_quality_pooled_2500"] == 2500  # every sample is within 3 sigma: counted over 2,500
    assert m["reverse_kl"] < 0.0015 < 0.002 < m["reverse_kl_pooled_2500"] < 0.012
    assert 0.002 < m["reverse_kl_final_draw"] < 0.012
    assert m["modes"] == m["modes_pooled_2500"] == 25 and m["high_quality_pooled_2500"] == 1.0
