"""The ``INFERENCE`` registry: algorithm name -> builder.

Every builder has the signature
``builder(model, data, *, batch_size, iterations, init_model, init_position, **hyper) -> Sampler``
(:class:`inference.base.Sampler`), so the driver, the ArviZ export and the metrics work on every algorithm
alike; ``hyper`` are the keys of the algorithm's dataclass in :mod:`inference.config`, whose defaults each
entry passes explicitly (:func:`inference.config.hyper_defaults`; the builders' signatures take the same
defaults from there).
"""

from __future__ import annotations

from collections.abc import Callable

from functools import partial

from inference.averaging import moving_average
from inference.base import Sampler
from inference.bayesgan import bayesgan, coupled_ensemble, independent_map
from inference.config import INFERENCE_SCHEMAS, hyper_defaults
from inference.ebgan import ebgan
from inference.mle import ensemble_gan, mc_dropout_gan, mle_gan
from inference.svi import bayesgan_svi
from models.registry import lookup

INFERENCE: dict[str, Callable[..., Sampler]] = {
    "sghmc": partial(bayesgan, kernel="sghmc", **hyper_defaults("sghmc")),
    "sgld": partial(bayesgan, kernel="sgld", **hyper_defaults("sgld")),
    "svi": partial(bayesgan_svi, **hyper_defaults("svi")),
    "mc_dropout": partial(mc_dropout_gan, **hyper_defaults("mc_dropout")),
    "mle": partial(mle_gan, **hyper_defaults("mle")),
    "ebgan": partial(ebgan, **hyper_defaults("ebgan")),
    # controls: is it the posterior or the ensemble? (docs/results.md, "Posterior or ensemble?")
    "ensemble": partial(ensemble_gan, **hyper_defaults("ensemble")),
    "independent_map": partial(independent_map, **hyper_defaults("independent_map")),
    "coupled_ensemble": partial(coupled_ensemble, **hyper_defaults("coupled_ensemble")),
}


def build_inference(name: str, model, data, *, batch_size: int, iterations: int, init_model=None,
                    init_position=None, **hyper) -> Sampler:
    """Look ``name`` up in :data:`INFERENCE` and build it.

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the valid names.
    ValueError
        For a hyper-parameter out of range (:mod:`inference.config`'s checks, naming ``inference.<key>``).

    Notes
    -----
    ``ema_decay`` (every algorithm's key, default ``None``) wraps the sampler in a moving average of its
    weights (:func:`inference.averaging.moving_average`); the draws are unchanged.
    """
    builder = lookup(INFERENCE, "inference", name)
    schema = INFERENCE_SCHEMAS[name]  # the algorithm's one range check per value (inference.config)
    schema(**{k: v for k, v in hyper.items() if k in schema.__dataclass_fields__}).check()
    ema_decay = hyper.pop("ema_decay", None)
    sampler = builder(model, data, batch_size=batch_size, iterations=iterations, init_model=init_model,
                      init_position=init_position, **hyper)
    return sampler if ema_decay is None else moving_average(sampler, ema_decay)
