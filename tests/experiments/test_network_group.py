"""The architecture as the config group ``network`` (one dataclass per architecture, only its own keys), the
experiments' per-architecture blocks, and runs stored before the group existed (tests/data/old_layout)."""

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml

from experiments.cli import complete_run, main
from experiments.compose import group_options, load_config
from experiments.run import resume_key
from experiments.rundir.store import RunStore, staging_dir
from models.networks import NETWORKS

OLD = Path(__file__).resolve().parents[1] / "data" / "old_layout"
#: Today's spelling of the command that stored tests/data/old_layout.
TODAY = ["experiment=ring8", "iterations=6", "experiment.num_draws=2", "network.generator_hidden=[16]",
         "network.discriminator_hidden=[16]", "progress=false"]


def test_every_registered_architecture_is_an_option_with_exactly_its_config_keys(tmp_path):
    assert set(group_options("network")) == set(NETWORKS) >= {"mlp", "dcgan", "improved_gan"}
    for name, network in NETWORKS.items():
        cfg = load_config(["experiment=mnist", f"network={name}", f"out_dir={tmp_path / name}"])
        fields = {f.name for f in dataclasses.fields(network.config)}
        assert set(cfg.network) == fields and cfg.network.name == name
        assert "generator_hidden" not in cfg.experiment and "channels" not in cfg.experiment


def test_an_experiment_block_sets_its_architecture_and_the_command_line_wins(tmp_path):
    out = f"out_dir={tmp_path / 'r'}"
    mnist = load_config(["experiment=mnist", out])
    assert list(mnist.network.generator_hidden) == [256, 256] and mnist.network.output_activation == "sigmoid"
    assert list(load_config(["experiment=grid25", out]).network.generator_hidden) == [128, 128]  # the default
    assert list(load_config(["experiment=mnist", "network.generator_hidden=[8]", out]).network.generator_hidden) == [8]
    dcgan = load_config(["experiment=mnist", "network=dcgan", out]).network
    assert dict(dcgan) == {"pack": 1, "name": "dcgan", "channels": 64, "layer_norm": False}  # the mlp block is not read
    recipe = load_config(["experiment=mnist_ssl_improved_gan", "inference=mle", out])
    assert recipe.network.name == "improved_gan" and recipe.loss.name == "feature_matching"
    assert list(recipe.network.discriminator_hidden) == [1000, 500, 250, 250, 250]
    assert load_config(["experiment=mnist_ssl_improved_gan", "loss=minimax", out]).loss.name == "minimax"
    # the ensemble control is J_g of the recipe's twins: their Adam and their moving average
    ensemble = load_config(["experiment=mnist_ssl_improved_gan", "inference=ensemble", out]).inference
    twin = recipe.inference
    assert (ensemble.ema_decay, ensemble.eps, ensemble.eps_root, ensemble.generator_eps_root, ensemble.learning_rate) \
        == (twin.ema_decay, twin.eps, twin.eps_root, twin.generator_eps_root, twin.learning_rate) == (
        0.9999, 0.0, 4e-8, 6.25e-4, 3e-3)
    # the Bayesian GAN chosen on validation: J_g = J_d = 2; the ensemble has the same J_g
    bayes = load_config(["experiment=mnist_ssl_improved_gan", out]).inference
    assert (bayes.name, bayes.num_generators, bayes.num_discriminators, bayes.temperature) == ("sghmc", 2, 2, 0.1)
    assert ensemble.num_generators == 2
    assert load_config(["experiment=fashion_mnist", out]).network.name == "dcgan"


def test_the_network_keys_reach_the_builder(tmp_path):
    from experiments.build import build_model, load_configured_dataset

    cfg = load_config(["experiment=ring8", "network.generator_hidden=[7]", "network.discriminator_hidden=[5, 3]",
                       f"out_dir={tmp_path / 'r'}"])
    model, _ = build_model(cfg, load_configured_dataset(cfg))
    assert [layer.kernel.shape[1] for layer in model.generator.layers[:-1]] == [7]
    assert [layer.kernel.shape[1] for layer in model.discriminator.layers[:-1]] == [5, 3]


def _old_run(tmp_path) -> Path:
    out = tmp_path / "run"
    out.mkdir()
    for name in ("config.yaml", "metrics.json"):
        shutil.copy(OLD / name, out / name)
    return out


def test_skip_complete_keeps_a_run_stored_before_the_network_group(tmp_path, capsys):
    out = _old_run(tmp_path)
    assert complete_run(load_config([*TODAY, f"out_dir={out}"]))[0] == "kept"
    state, message = complete_run(load_config([*TODAY, "network.generator_hidden=[17]", f"out_dir={out}"]))
    assert state == "other" and "network.generator_hidden: [16] -> [17]" in message  # compared key by key
    before = (out / "config.yaml").read_text()
    assert main([*TODAY, f"out_dir={out}", "skip_complete=true"]) == 0
    assert "kept" in capsys.readouterr().out and (out / "config.yaml").read_text() == before


def test_an_unfinished_run_stored_before_the_network_group_resumes_in_todays_layout(tmp_path):
    out = tmp_path / "run"
    text = (OLD / "resume_key.yaml").read_text().replace("/tmp/oldlayout/run", str(out))
    store = RunStore(out)
    store.begin(text)  # an unfinished run saved by the old layout
    now = resume_key(load_config([*TODAY, f"out_dir={out}"]))
    assert now != text and "network:" in now
    assert store.check(now) and store.begin(now)  # the same run: it resumes
    assert (staging_dir(out) / "config.yaml").read_text() == now  # saved again in today's layout
    other = resume_key(load_config([*TODAY, "network.discriminator_hidden=[9]", f"out_dir={out}"]))
    store2 = RunStore(tmp_path / "run2")
    store2.begin(text.replace(str(out), str(tmp_path / "run2")))
    with pytest.raises(Exception, match=r"network.discriminator_hidden: \[16\] -> \[9\]"):
        store2.check(other.replace(str(out), str(tmp_path / "run2")))


def test_the_old_spelling_is_refused_with_todays(tmp_path, capsys):
    for ov, expected in (("experiment.network=dcgan", "write network=dcgan"),
                         ("experiment.channels=4", "write network.channels=4")):
        assert main([ov, f"out_dir={tmp_path / 'x'}"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and expected in err
    assert not (tmp_path / "x").exists()



def test_an_old_improved_gan_run_is_the_recipe_whatever_widths_it_stored():
    """The old improved_gan builder ignored the flat widths (it always built the recipe's networks)."""
    from experiments.schema import upgrade_network_layout
    from models.improved_gan import ImprovedGANConfig

    saved = {"experiment": {"network": "improved_gan", "generator_hidden": [256, 256],
                            "discriminator_hidden": [256, 256], "output_activation": "sigmoid", "channels": 64,
                            "layer_norm": False}}
    assert upgrade_network_layout(saved, {"experiment": {"network": {}}})
    assert saved["network"] == dataclasses.asdict(ImprovedGANConfig()) and saved["experiment"] == {"network": {}}


def test_an_unfinished_run_missing_keys_added_since_resumes_at_their_defaults(tmp_path):
    """A resume fills keys the schema gained since the run was stored (here the twin's Adam epsilons) where
    today's config leaves them at their defaults, as skip_complete does; a non-default value is another run."""
    out = tmp_path / "run"
    args = [*TODAY, "inference=mle", f"out_dir={out}"]
    now = resume_key(load_config(args))
    old = yaml.safe_load(now)
    for key in ("eps", "eps_root", "generator_eps_root"):
        del old["inference"][key]
    RunStore(out).begin(yaml.safe_dump(old))
    assert RunStore(out).check(now)
    with pytest.raises(Exception, match=r"inference.eps: None -> 0.001"):
        RunStore(out).check(resume_key(load_config([*args, "inference.eps=1e-3"])))
