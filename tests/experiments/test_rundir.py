"""Run-directory storage (experiments/rundir): the staging store, the streamed draws, posterior.nc's
warmup split across chunks, the atomic move, and orbax checkpoints."""

from __future__ import annotations

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.rundir.checkpoint import Checkpointer
from experiments.rundir.store import RunStore, filing_order, staging_dir
from experiments.schema import ConfigError


def _chunk(first: int, n: int, chains: int = 2) -> dict[str, np.ndarray]:
    """Draws first .. first + n - 1 whose values encode (chain, draw)."""
    d = np.arange(first, first + n, dtype=np.float32)
    c = np.arange(chains, dtype=np.float32)[:, None]
    x = (100 * c + d)[:, :, None, None] * np.ones((1, 1, 3, 2), np.float32)
    return {"x_generated": x, "stats/logdensity": 100 * c + d, "disc_stats/logdensity": 100 * c + d,
            "generator__layers.0.kernel": np.repeat((100 * c + d)[..., None], 2, axis=-1),
            "discriminator__layers.0.kernel": np.repeat((100 * c + d)[..., None], 2, axis=-1),
            "fs/x_mean": 100 * c + d}


def test_store_stages_checks_the_config_and_moves_into_place(tmp_path):
    out = tmp_path / "run"
    store = RunStore(out)
    assert store.root == staging_dir(out) == tmp_path / ".run.partial"
    assert store.begin("seed: 0\n") is False and store.draws_dir.is_dir()
    assert store.check("seed: 0\n") is True  # an unfinished run of the same config: resumed
    with pytest.raises(ConfigError, match="seed: 0 -> 1"):
        store.check("seed: 1\n")
    assert store.check("seed: 1\n", resume=False) is False
    store.build_dir.mkdir()
    (store.build_dir / "metrics.json").write_text("{}")
    assert store.finish() == out and (out / "metrics.json").is_file() and not store.root.exists()
    # a second complete run replaces the first as a whole
    store = RunStore(out)
    store.begin("seed: 2\n")
    store.build_dir.mkdir()
    (store.build_dir / "config.yaml").write_text("seed: 2\n")
    store.finish()
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml"]


def test_chunks_round_trip_and_are_read_across_their_boundaries(tmp_path):
    store = RunStore(tmp_path / "run")
    store.begin("x: 1\n")
    for c in range(3):
        store.save_chunk(c, _chunk(4 * c, 4))
    assert not list(store.draws_dir.glob(".*tmp*"))  # written atomically
    np.testing.assert_array_equal(store.load_chunk(1, ["stats/logdensity"])["stats/logdensity"],
                                  _chunk(4, 4)["stats/logdensity"])
    x = store.read_draws([0, 1, 2], 4, 3, 9)
    assert x.shape == (2, 6, 3, 2)
    np.testing.assert_array_equal(x[1, :, 0, 0], 100 + np.arange(3, 9))
    assert store.read_draws([0, 1, 2], 4, 0, 12, per_draw=1).shape == (2, 12, 1, 2)
    small = store.small_arrays([0, 1, 2], 10)
    assert set(small) == {"stats/logdensity", "disc_stats/logdensity", "fs/x_mean"}
    np.testing.assert_array_equal(small["fs/x_mean"][0], np.arange(10))


@pytest.mark.parametrize("num_warmup_draws", [0, 3, 5, 12])
def test_posterior_splits_warmup_draws_across_chunks(tmp_path, num_warmup_draws):
    store = RunStore(tmp_path / "run")
    store.begin("x: 1\n")
    for c in range(3):
        store.save_chunk(c, _chunk(4 * c, 4))
    iterations = 10 * (np.arange(12) + 1)
    path = tmp_path / "posterior.nc"
    written = store.write_posterior(
        path, [0, 1, 2], draw_iterations=iterations, select=lambda k: not k.startswith("fs/"),
        num_warmup_draws=num_warmup_draws, keep_draws=11, event_shape=(2,), observed=np.zeros((4, 2)),
        weight_indices={"generator__layers.0.kernel": np.arange(2), "discriminator__layers.0.kernel": np.arange(2)})
    assert written == 11
    dt = az.from_netcdf(path)
    warm = min(num_warmup_draws, 11)
    if warm:
        w = dt["warmup_posterior_predictive"]["x_generated"]
        assert list(w["iteration"].values) == list(iterations[:warm])
        np.testing.assert_array_equal(w.values[1, :, 0, 0], 100 + np.arange(warm))
    if warm < 11:
        x = dt["posterior_predictive"]["x_generated"]
        assert list(x["iteration"].values) == list(iterations[warm:11])
        np.testing.assert_array_equal(x.values[0, :, 0, 0], np.arange(warm, 11))
        np.testing.assert_array_equal(dt["sample_stats"]["logdensity"].values[1], 100 + np.arange(warm, 11))
        assert dt["discriminator_posterior"].sizes["draw"] == 11 - warm
    else:
        assert "posterior_predictive" not in dt.children


@pytest.mark.parametrize("pattern", ["cycles", "sampling_first"])
def test_sampling_draws_anywhere_in_the_run_are_filed_by_phase(tmp_path, pattern):
    """A cyclical sampler's sampling draws are not one block at the end: posterior.nc files every
    non-sampling draw (warmup, exploration) in the warmup_* groups and the sampling draws in the posterior
    groups, each in recorded order with its iteration; read through :func:`filing_order`, the non-sampling
    draws come first, so "the post-warmup draws" are a range."""
    store = RunStore(tmp_path / "run")
    store.begin("x: 1\n")
    for c in range(3):
        store.save_chunk(c, _chunk(4 * c, 4))
    sampling = {"cycles": np.array([0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1], bool),  # warmup, then 2 cycles
                "sampling_first": np.array([1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0], bool)}[pattern]
    iterations = 10 * (np.arange(12) + 1)
    path = tmp_path / "posterior.nc"
    store.write_posterior(path, [0, 1, 2], draw_iterations=iterations, select=lambda k: not k.startswith("fs/"),
                          sampling=sampling, event_shape=(2,), observed=np.zeros((4, 2)),
                          weight_indices={"generator__layers.0.kernel": np.arange(2),
                                          "discriminator__layers.0.kernel": np.arange(2)})
    dt = az.from_netcdf(path)
    for prefix, mask in (("", sampling), ("warmup_", ~sampling)):
        x = dt[f"{prefix}posterior_predictive"]["x_generated"]
        assert list(x["iteration"].values) == list(iterations[mask])
        np.testing.assert_array_equal(x.values[1, :, 0, 0], 100 + np.flatnonzero(mask))
        np.testing.assert_array_equal(dt[f"{prefix}sample_stats"]["logdensity"].values[0], np.flatnonzero(mask))
        assert dt[f"{prefix}discriminator_posterior"].sizes["draw"] == mask.sum()
    order = filing_order(sampling)
    first = int((~sampling).sum())
    np.testing.assert_array_equal(order[first:], np.flatnonzero(sampling))
    x = store.read_draws([0, 1, 2], 4, first, 12, order=order)  # the sampling draws, in order
    np.testing.assert_array_equal(x[0, :, 0, 0], np.flatnonzero(sampling))
    x = store.read_draws([0, 1, 2], 4, first - 2, first + 1, order=order, per_draw=1)  # across the seam
    np.testing.assert_array_equal(x[1, :, 0, 0], 100 + order[first - 2:first + 1])
    small = store.small_arrays([0, 1, 2], 12, order)
    np.testing.assert_array_equal(small["fs/x_mean"][0], order)


def test_checkpoint_round_trip_with_a_typed_key(tmp_path):
    state = {"w": jnp.arange(6.0).reshape(2, 3), "n": jnp.int32(7), "key": jax.random.key(5)}
    ckpt = Checkpointer(tmp_path / "ckpt", max_to_keep=2)
    assert ckpt.latest_step() is None
    for step in (1, 2, 3):
        ckpt.save(step, jax.tree.map(lambda x: x, state), {"seconds": float(step)})
    assert ckpt.latest_step() == 3
    restored, meta = ckpt.restore(3, jax.eval_shape(lambda: state))
    assert meta == {"seconds": 3.0}
    np.testing.assert_array_equal(restored["w"], state["w"])
    assert int(restored["n"]) == 7
    np.testing.assert_array_equal(jax.random.key_data(restored["key"]), jax.random.key_data(state["key"]))
    with pytest.raises(FileNotFoundError):
        ckpt.restore(1, jax.eval_shape(lambda: state))  # only the 2 newest are kept
    ckpt.close()
