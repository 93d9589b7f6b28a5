"""Config fuzzing: malformed configs and overrides are each rejected with one line naming the bad key,
exit code 2, and nothing written; random overrides never raise anything but that one-line error."""

import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import experiments
from experiments.cli import load_config, main
from experiments.schema import ConfigError
from inference.registry import INFERENCE
from models.losses import LOSSES
from models.priors import PRIORS

BAD = [  # unknown options of the config groups: test_unknown_group_option_names_every_registered_option
    (["prior.discriminator={name:cauchy}"], "prior.discriminator.name='cauchy' is invalid"),
    (["prior.path_overrides=[{path:'layers.2.*',scale:0.1}]"], "prior.path_overrides[0].path='layers.2.*' is invalid"),
    (["prior.generator=laplace"], "prior.generator: Cannot assign str"),
    (["prior=hierarchical", "prior.concentration=0"], "prior.concentration=0.0 is invalid"),
    (["loss=wasserstein", "loss.clip=0"], "loss.clip=0.0 is invalid"),
    (["loss=wasserstein_gp", "loss.penalty_weight=-1"], "loss.penalty_weight=-1.0 is invalid"),
    (["loss=wasserstein", "inference=svi"], "loss='wasserstein' is invalid: must be not 'wasserstein' (weight clipping) with inference=svi"),
    (["loss.clip=0.1"], "unknown config key 'loss.clip'"),
    (["prior=student_t", "prior.df=0"], "prior.df=0.0 is invalid"),
    (["iterations=-5"], "iterations=-5 is invalid"),
    (["iterations=0"], "iterations=0 is invalid"),
    (["iterations=ten"], "iterations: Value 'ten'"),
    (["seed=-1"], "seed=-1 is invalid"),
    (["experiment.batch_size=0"], "experiment.batch_size=0 is invalid"),
    (["network.generator_hidden=[128,-1]"], "network.generator_hidden"),
    (["inference.step_size=-1e-3"], "inference.step_size=-0.001 is invalid"),
    (["inference.friction=2"], "inference.friction=2.0 is invalid"),
    (["inference.num_generators=0"], "inference.num_generators=0 is invalid"),
    (["inference.n_critic=0"], "inference.n_critic=0 is invalid"),
    (["inference.nonsense=1"], "unknown config key 'inference.nonsense'"),
    (["bogus=1"], "unknown config key 'bogus'"),
    (["iterations"], "malformed override 'iterations'"),
    (["seed=[1"], "bad override"),
    (["experiment=digits", "experiment.batch_size=5000"], "experiment.batch_size=5000 is invalid"),
    (["experiment.dataset.name=minst"], "experiment.dataset.name='minst' is invalid: must be one of cifar10, digits, "
                                        "fashion_mnist, grid25, mnist, ring8, stacked_mnist, svhn_cropped, synthetic, tfds"),
    (["experiment.dataset.name=mnist", "experiment.dataset.data_dir=/nonexistent/tfds"],
     "experiment.dataset: mnist is not prepared there (data_dir /nonexistent/tfds)"),
    (["experiment.dataset.num_eval=1797"], "experiment.dataset.num_eval=1797 is invalid"),
    (["experiment.dataset.num_train=1700"], "experiment.dataset.num_train=1700 is invalid"),
    (["experiment.dataset.num_train=5"], "experiment.dataset.num_train=5 is invalid"),
    (["seed=4294967296"], "seed=4294967296 is invalid"),
    (["inference.temperature=inf"], "inference.temperature=inf is invalid: must be finite"),
    (["prior.scale=nan"], "prior.scale=nan is invalid"),
    (["inference=mle", "experiment.samples_per_draw=1"], "experiment.samples_per_draw=1 is invalid"),
    # added with resumable runs and the fuzzing of issue 5
    (["checkpoint_every=0"], "checkpoint_every=0 is invalid"),
    (["checkpoint_every=-3"], "checkpoint_every=-3 is invalid"),
    (["checkpoint_every=often"], "checkpoint_every: Value 'often'"),
    (["resume=maybe"], "resume: Value 'maybe'"),
    (["progress=fast"], "progress: Value 'fast'"),
    (["out_dir="], "out_dir='' is invalid: must name a directory"),
    (["out_dir=/etc/hostname/run"], "is not a writable directory"),
    (["out_dir=/proc/bgan-run"], "out_dir='/proc/bgan-run' is invalid: /proc is not a writable directory"),
    (["experiment.num_draws=0"], "experiment.num_draws=0 is invalid"),
    (["experiment.metric_draws=0"], "experiment.metric_draws=0 is invalid"),
    (["experiment.metric_draws=1000"], "experiment.metric_draws=1000 is invalid: must be <= experiment.num_draws"),
    (["experiment.latent_dim=0"], "experiment.latent_dim=0 is invalid"),
    (["network.output_activation=tanh"], "network.output_activation='tanh' is invalid"),
    # added with the network group (issue 24)
    (["network=resnet"], "unknown network 'resnet'; valid: dcgan, dcgan_metz, improved_gan, mlp"),
    (["experiment.network=dcgan"], "write network=dcgan"),
    (["experiment.generator_hidden=[8]"], "moved to the network group: write network.generator_hidden=[8]"),
    (["experiment=grid25", "network.channels=4"], "unknown config key 'network.channels': not a key of the chosen network"),
    (["inference=mle", "inference.eps=0"], "inference.eps_root=0.0 is invalid: must be > 0 when eps is 0"),
    (["inference=mle", "inference.eps=-1e-8"], "inference.eps=-1e-08 is invalid: must be >= 0"),
    (["network=dcgan", "network.channels=0"], "network.channels=0 is invalid"),
    (["network=improved_gan", "network.hidden_noise=nan"], "network.hidden_noise=nan is invalid"),
    # added with the supervised-only control (issue 25)
    (["experiment=digits_ssl", "experiment.unlabelled_weight=-1"], "experiment.unlabelled_weight=-1.0 is invalid"),
    (["experiment=digits_ssl", "experiment.unlabelled_weight=nan"], "experiment.unlabelled_weight=nan is invalid"),
    (["experiment.network.mlp.channels=4"], "experiment.network.mlp.channels"),
    (["experiment.metrics_classifier=resnet"], "experiment.metrics_classifier='resnet' is invalid: must be one of mlp, cnn"),
    (["experiment=ring8", "experiment.dataset.num_eval=0"], "experiment.dataset.num_eval=0 is invalid"),
    (["experiment=ring8", "experiment.dataset.num_train=-100"], "experiment.dataset.num_train=-100 is invalid"),
    (["experiment.weights_per_site=0"], "experiment.weights_per_site=0 is invalid"),
    (["network.generator_hidden=[]"], "network.generator_hidden=[] is invalid"),
    (["network.discriminator_hidden=abc"], "network.discriminator_hidden"),
    (["experiment.latent_dim=2.5"], "experiment.latent_dim: Value '2.5'"),
    (["seed=1.5"], "seed: Value '1.5'"),
    (["inference.temperature=-1"], "inference.temperature=-1.0 is invalid"),
    (["inference.rms_decay=1.5"], "inference.rms_decay=1.5 is invalid"),
    (["inference.rms_eps=0"], "inference.rms_eps=0.0 is invalid"),
    (["inference.schedule=linear"], "inference.schedule='linear' is invalid"),
    (["inference.preconditioner=adam"], "inference.preconditioner='adam' is invalid"),
    (["inference.coupling=pairs"], "inference.coupling='pairs' is invalid"),
    (["inference.coupling=paired"], "inference.num_discriminators=2 is invalid: must be equal to num_generators (4)"),
    (["inference.rms_bias_correction=maybe"], "inference.rms_bias_correction"),
    (["inference.final_step_size_ratio=2"], "inference.final_step_size_ratio=2.0 is invalid"),
    (["inference.step_size=1e10"], "inference.step_size=10000000000.0 is invalid"),
    (["inference.step_size=fast"], "inference.step_size: Value 'fast'"),
    (["inference.num_discriminators=-2"], "inference.num_discriminators=-2 is invalid"),
    (["inference=sgld", "inference.friction=0.5"], "unknown config key 'inference.friction'"),
    (["inference=svi", "inference.learning_rate=5"], "inference.learning_rate=5.0 is invalid"),
    (["inference=svi", "inference.init_guide_scale=0"], "inference.init_guide_scale=0.0 is invalid"),
    (["inference=mle", "inference.b1=1"], "inference.b1/b2=(1.0, 0.999) is invalid"),
    (["inference=mc_dropout", "inference.dropout_rate=1"], "inference.dropout_rate=1.0 is invalid"),
    (["inference=mle", "inference.learning_rate=-1e-3"], "inference.learning_rate=-0.001 is invalid"),
    (["prior.scale=0"], "prior.scale=0.0 is invalid"),
    (["prior.init_scale=-1"], "prior.init_scale=-1.0 is invalid"),
    (["prior.fan_in_scaling=sometimes"], "prior.fan_in_scaling: Value 'sometimes'"),
    (["prior.path_overrides=[{path:'generator__*',scale:-1}]"], "prior.path_overrides[0].scale=-1.0 is invalid"),
    (["prior.path_overrides=[5]"], "prior.path_overrides[0]=5 is invalid"),
    (["loss=wasserstein_gp", "loss.penalty_weight=nan"], "loss.penalty_weight=nan is invalid"),
    (["loss.name=hinge"], "loss='hinge' is invalid"),
    (["inference.name=hmc"], "inference='hmc' is invalid"),
    (["experiment=ring8", "experiment.dataset.name=ring9"], "experiment.dataset.name='ring9' is invalid"),
    (["experiment.batch_size=-64"], "experiment.batch_size=-64 is invalid"),
    (["experiment=grid25", "experiment.dataset.num_train=10", "experiment.batch_size=64"],
     "experiment.batch_size=64 is invalid: must be <= the 10 training points"),
    (["iterations=${nonexistent}"], "cannot resolve config"),
]


#: Each config group's options: the registries' names; for experiments, the shipped configs.
EXPERIMENT_CONFIGS = Path(experiments.__file__).parent / "conf" / "experiment"
REGISTERED = {"experiment": sorted(p.stem for p in EXPERIMENT_CONFIGS.glob("*.yaml")),
              "inference": sorted(INFERENCE), "loss": sorted(LOSSES), "prior": sorted(PRIORS)}


@pytest.mark.parametrize("group", sorted(REGISTERED))
def test_unknown_group_option_names_every_registered_option(tmp_path, capsys, monkeypatch, group):
    """The one line lists every registered option of the group, and nothing else."""
    monkeypatch.chdir(tmp_path)
    assert main([f"{group}=nonesuch", f"out_dir={tmp_path / 'run'}"]) == 2
    assert capsys.readouterr().err == (f"bgan-run: error: unknown {group} 'nonesuch'; "
                                       f"valid: {', '.join(REGISTERED[group])}\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("overrides,message", BAD)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, overrides, message):
    monkeypatch.chdir(tmp_path)  # relative paths (the default out_dir) resolve in an empty directory
    out = tmp_path / "run"
    if not any(ov.startswith("out_dir=") for ov in overrides):
        overrides = [*overrides, f"out_dir={out}"]
    assert main(overrides) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bgan-run: error: ")
    assert message in err
    assert list(tmp_path.iterdir()) == []


KEYS = ["seed", "iterations", "out_dir", "progress", "checkpoint_every", "resume", "experiment", "inference", "prior",
        "loss", "experiment.batch_size", "experiment.num_draws", "experiment.latent_dim", "experiment.metric_draws",
        "experiment.samples_per_draw", "network.generator_hidden", "experiment.dataset.name",
        "experiment.dataset.num_train", "experiment.dataset.num_eval", "network.output_activation", "network",
        "network.channels", "experiment.network.mlp.generator_hidden",
        "inference.step_size", "inference.friction", "inference.temperature", "inference.num_generators",
        "inference.num_discriminators", "inference.schedule", "inference.n_critic", "inference.learning_rate",
        "prior.scale", "prior.df", "prior.init_scale", "prior.generator", "prior.path_overrides", "loss.clip",
        "loss.penalty_weight", "nonsense", "experiment.nonsense"]
VALUES = st.one_of(
    st.integers(-2**40, 2**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["true", "false", "null", "[]", "{}", "[1,-1]", "{name:laplace}", "{name:cauchy}", "''",
                     "digits", "ring8", "mle", "svi", "sghmc", "wasserstein", "student_t", "/", "/proc/x", "..",
                     "${seed}", "${nope}", "[{path:'generator__*',scale:0}]", "1e-300", "-0", "0x10"]),
    st.text(string.printable, max_size=12),
)
OVERRIDE = st.tuples(st.sampled_from(KEYS), VALUES).map(lambda kv: f"{kv[0]}={kv[1]}")


@settings(max_examples=int(os.environ.get("BGAN_FUZZ_EXAMPLES", 80)), deadline=None, derandomize=os.environ.get("BGAN_FUZZ_RANDOM") is None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(overrides=st.lists(OVERRIDE, min_size=1, max_size=4))
def test_random_overrides_give_a_valid_config_or_one_clear_line(tmp_path_factory, overrides):
    """Whatever the overrides, composing and validating either succeeds or raises ConfigError with one line
    (no traceback, no other exception)."""
    try:
        load_config(overrides)
    except ConfigError as err:
        message = str(err)
        assert message and "\n" not in message and "Traceback" not in message
