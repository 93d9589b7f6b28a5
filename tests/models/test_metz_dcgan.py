"""network=dcgan_metz: Metz et al.'s Stacked MNIST pair (as PacGAN's code runs it) builds at its published sizes,
normalises each call's batch by its own statistics, packs, and refuses what it cannot build."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from models.networks import MetzDiscriminator, MetzGenerator, build_networks


def _count(module) -> int:
    return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(nnx.state(module, nnx.Param)))


def test_the_pair_has_metz_et_al_s_layers_and_sizes():
    g, d = build_networks("dcgan_metz", latent_dim=100, data_dim=2352, image_shape=(28, 28, 3))
    x = g(jax.random.normal(jax.random.key(0), (5, 100)))
    assert x.shape == (5, 2352) and bool(jnp.all((x > 0) & (x < 1)))
    assert [c.kernel.shape for c in g.deconvs] == [(3, 3, 64, 32), (3, 3, 32, 16), (3, 3, 16, 8)]
    assert g.out.kernel.shape == (3, 3, 8, 3) and g.project.kernel.shape == (100, 4 * 4 * 64)
    assert d(x).shape == (5, 1)
    assert [c.kernel.shape for c in d.convs] == [(3, 3, 3, 2), (3, 3, 2, 4), (3, 3, 4, 8)]
    assert d.out.kernel.shape == (4 * 4 * 8, 1)  # 28 -> 14 -> 7 -> 4 pixels
    half = MetzDiscriminator((28, 28, 3), channels=(4, 8, 16), rngs=nnx.Rngs(0))
    assert half.out.kernel.shape == (4 * 4 * 16, 1)
    assert _count(d) < _count(half) < _count(g)  # D at 1/4 and 1/2 of G's widths: both far smaller than G


def test_batch_norm_uses_each_calls_own_batch():
    """The same sample reads differently beside another batch (per-batch statistics, no running average), and a
    batch's outputs do not depend on the order of its samples."""
    g = MetzGenerator(10, (28, 28, 3), rngs=nnx.Rngs(0))
    d = MetzDiscriminator((28, 28, 3), rngs=nnx.Rngs(0))
    z = jax.random.normal(jax.random.key(1), (4, 10))
    other = z.at[1:].set(jax.random.normal(jax.random.key(2), (3, 10)))
    assert not np.allclose(g(z)[0], g(other)[0])
    x = jax.random.uniform(jax.random.key(3), (4, 2352))
    assert not np.allclose(d(x)[0], d(x.at[1:].set(0.5))[0])
    np.testing.assert_allclose(d(x[::-1]), d(x)[::-1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g(z[::-1]), g(z)[::-1], rtol=1e-5, atol=1e-6)


def test_packing_widens_the_first_convolution_and_bad_sizes_are_refused(tmp_path):
    from experiments.build import experiment_networks
    from experiments.cli import load_config
    from experiments.datasets import Dataset
    from experiments.schema import ConfigError, validate

    cfg = validate(load_config(["experiment=stacked_mnist", "network=dcgan_metz", "network.pack=2",
                                f"out_dir={tmp_path / 'a'}"]))
    data = Dataset("stacked_mnist", np.zeros((8, 2352), np.float32), np.zeros((2, 2352), np.float32), (28, 28, 3))
    _, d = experiment_networks(cfg, data, 1)
    assert d.convs[0].kernel.shape == (3, 3, 6, 2)
    with pytest.raises(ConfigError, match=r"network.discriminator_channels.*3 widths"):
        validate(load_config(["experiment=stacked_mnist", "network=dcgan_metz", "network.discriminator_channels=[2,4]",
                              f"out_dir={tmp_path / 'b'}"]))
    with pytest.raises(ValueError, match="28 x 28"):
        MetzGenerator(10, (32, 32, 3), rngs=nnx.Rngs(0))
    # batch norm in D: refused where its per-sample outputs are read, and for a per-sample gradient penalty
    with pytest.raises(ConfigError, match="network='dcgan_metz' is invalid: must be another architecture with experiment.task='semi_supervised'"):
        validate(load_config(["experiment=mnist_ssl", "network=dcgan_metz", f"out_dir={tmp_path / 'c'}"]))
    with pytest.raises(ConfigError, match="loss='wasserstein_gp' is invalid: must be another loss with network=dcgan_metz"):
        validate(load_config(["experiment=stacked_mnist", "network=dcgan_metz", "loss=wasserstein_gp",
                              f"out_dir={tmp_path / 'd'}"]))
