"""What a validated config builds before a run: the dataset and the model (networks, priors, likelihood,
head).

Kept apart from :mod:`experiments.run` (the run loop) so that tasks (:mod:`experiments.tasks`) can build
networks of the experiment's architecture (e.g. BAGAN's autoencoder) without importing the loop.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from omegaconf import DictConfig, ListConfig, OmegaConf

from experiments.datasets import Dataset, load_dataset
from experiments.errors import ConfigError
from experiments.prior_config import resolve_priors
from models.bgan import BayesGAN
from models.heads import Head, PlainHead
from models.losses import build_loss
from models.layers import pack_samples
from models.networks import build_networks
from models.priors import build_prior, with_path_overrides

#: Training images a data-dependent initialisation reads (Salimans & Kingma 2016; the recipe's 500).
INIT_IMAGES = 500


def load_configured_dataset(cfg: DictConfig) -> Dataset:
    """The dataset of ``cfg.experiment.dataset`` (its non-null keys are the builder's keyword arguments).

    Raises
    ------
    ConfigError
        For a key the dataset does not take, sizes it cannot give, or image data that is not prepared.
    """
    spec = {k: v for k, v in cfg.experiment.dataset.items() if k != "name" and v is not None}
    try:
        return load_dataset(cfg.experiment.dataset.name, seed=cfg.seed, **spec)
    except TypeError as err:
        bad = next((k for k in spec if f"'{k}'" in str(err)), "?")
        raise ConfigError(f"experiment.dataset.{bad} is invalid: dataset {cfg.experiment.dataset.name!r} does not "
                          "take it") from None
    except (KeyError, ValueError) as err:
        raise ConfigError(f"experiment.dataset: {str(err).strip(chr(34))}") from None


def network_pack(cfg: DictConfig) -> int:
    """``network.pack`` (PacGAN's packing), 1 for an architecture whose config has no such key."""
    return int(cfg.network.get("pack", 1))


def experiment_networks(cfg: DictConfig, data: Dataset, out_features: int, init_images=None, **kwargs):
    """``(generator, discriminator)`` of the config's architecture (``cfg.network``, built with its keys) for
    ``data``, the discriminator with ``out_features`` outputs (:func:`models.networks.build_networks`;
    ``init_images``: what a data-dependent initialisation reads, default ``INIT_IMAGES`` training images in
    an order drawn by the seed; ``kwargs``: e.g. ``seed``).

    Raises
    ------
    ConfigError
        If the architecture cannot be built for this data.
    """
    keys = {k: (list(v) if isinstance(v, (list, tuple, ListConfig)) else v)
            for k, v in cfg.network.items() if k not in ("name", "pack")}
    # a data-dependent initialisation (weight norm) reads training images in an order drawn by the seed
    init_data = (data.train[np.random.default_rng(cfg.seed).permutation(len(data.train))[:INIT_IMAGES], :data.data_dim]
                 if init_images is None else np.asarray(init_images)[:INIT_IMAGES])
    pack = network_pack(cfg)
    try:
        generator, discriminator = build_networks(
            cfg.network.name, latent_dim=cfg.experiment.latent_dim, data_dim=data.data_dim,
            image_shape=data.image_shape, out_features=out_features, init_data=init_data, **keys, **kwargs)
        if pack > 1:  # PacGAN: the discriminator reads pack samples concatenated (channels, for images)
            shape = data.image_shape
            _, discriminator = build_networks(
                cfg.network.name, latent_dim=cfg.experiment.latent_dim, data_dim=data.data_dim * pack,
                image_shape=None if shape is None else (*shape[:2], shape[2] * pack), out_features=out_features,
                init_data=pack_samples(init_data[: len(init_data) // pack * pack], pack, shape), **keys, **kwargs)
        return generator, discriminator
    except ValueError as err:
        raise ConfigError(f"network={cfg.network.name!r} is invalid: {err}") from None


def build_priors(cfg: DictConfig, init: bool = False) -> dict:
    """Each network's prior (with per-path overrides: :func:`experiments.prior_config.resolve_priors`). With
    ``init=True`` the prior's ``init_scale`` (if set) replaces the ``scale`` of every spec: the prior whose
    draws initialise the sampler."""
    init_scale = cfg.prior.get("init_scale") if init else None

    def build(spec: dict):
        hyper = {k: v for k, v in spec.items() if k != "name"}
        if init_scale is not None:
            hyper["scale"] = init_scale
        return build_prior(spec["name"], **hyper)

    return {net: with_path_overrides(net, build(spec), [(glob, build(s)) for glob, s in paths])
            for net, (spec, paths) in resolve_priors(cfg.prior).items()}


def build_model(cfg: DictConfig, data: Dataset, head: Head | None = None) -> tuple[BayesGAN, BayesGAN]:
    """The model of ``cfg`` and the model whose prior draws initialise the sampler.

    Networks of ``cfg.experiment``, priors of ``cfg.prior`` (the initialising model's with ``init_scale``),
    the likelihood of ``cfg.loss`` and ``head`` (the task's, :mod:`experiments.tasks`; default the plain
    single logit).

    Returns
    -------
    (models.bgan.BayesGAN, models.bgan.BayesGAN)
        ``(model, init_model)``; they share networks, loss and head.
    """
    head = head or PlainHead()
    generator, discriminator = experiment_networks(cfg, data, head.out_features, head.initialisation_images,
                                                   seed=cfg.seed)
    loss_hyper = {k: v for k, v in OmegaConf.to_container(cfg.loss).items() if k != "name"}
    priors = build_priors(cfg)
    model = BayesGAN(generator=generator, discriminator=discriminator, generator_prior=priors["generator"],
                     discriminator_prior=priors["discriminator"], loss=build_loss(cfg.loss.name, **loss_hyper),
                     latent_dim=cfg.experiment.latent_dim, head=head, pack=network_pack(cfg),
                     image_shape=data.image_shape)
    init = build_priors(cfg, init=True)
    return model, dataclasses.replace(model, generator_prior=init["generator"],
                                      discriminator_prior=init["discriminator"])
