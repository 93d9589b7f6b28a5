"""The ``INFERENCE`` registry: algorithm name -> builder.

Every builder has the signature
``builder(model, data, *, batch_size, iterations, init_model, init_position, **hyper) -> BayesGANSampler``
(:class:`inference.bayesgan.BayesGANSampler`), so the driver, the ArviZ export and the metrics work on
every algorithm alike.
"""

from __future__ import annotations

from collections.abc import Callable

from functools import partial

from inference.bayesgan import BayesGANSampler, bayesgan
from inference.mle import mle_gan
from inference.svi import bayesgan_svi
from models.registry import lookup

INFERENCE: dict[str, Callable[..., BayesGANSampler]] = {
    "sghmc": partial(bayesgan, kernel="sghmc"),
    "sgld": partial(bayesgan, kernel="sgld"),
    "svi": bayesgan_svi,
    "mc_dropout": mle_gan,  # with its config's dropout_rate > 0
    "mle": mle_gan,
}


def build_inference(name: str, model, data, *, batch_size: int, iterations: int, init_model=None,
                    init_position=None, **hyper) -> BayesGANSampler:
    """Look ``name`` up in :data:`INFERENCE` and build it.

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the valid names.
    """
    builder = lookup(INFERENCE, "inference", name)
    return builder(model, data, batch_size=batch_size, iterations=iterations, init_model=init_model,
                   init_position=init_position, **hyper)
