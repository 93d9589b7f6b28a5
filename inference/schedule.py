"""What a run's length means, without JAX: the cut of ``iterations`` into draws and compiled chunks, and the
names of the step-size schedules and preconditioners (config validation reads them before JAX starts,
which ``jax.distributed`` requires)."""

from __future__ import annotations

from typing import NamedTuple

#: Step-size schedules of the SG-MCMC samplers (:func:`inference.base.step_size_schedule`): constant,
#: cosine decay over the run (optax), and cyclical SG-MCMC's restarted cosine cycles after warmup (Zhang et al.
#: 2020), each cycle an exploration stage (no injected noise) and a sampling stage.
SCHEDULES = ("constant", "cosine", "cyclical")
#: Diagonal preconditioners (:func:`inference.sghmc.rmsprop_preconditioner`): ``none``; ``rmsprop``
#: (adapted during warmup, then frozen); ``rmsprop_running`` (adapted at every step, Li et al. 2016's
#: practice; biased).
PRECONDITIONERS = ("none", "rmsprop", "rmsprop_running")
#: How generator and discriminator particles see each other: ``full`` is Saatchi & Wilson's sweep (every
#: generator against all J_d discriminators, every discriminator against the fakes of all J_g generators);
#: ``paired`` makes J_g independent generator-discriminator pairs (generator j against discriminator j only).
COUPLINGS = ("full", "paired")


class Schedule(NamedTuple):
    """How ``iterations`` are cut into draws and compiled chunks.

    Attributes
    ----------
    num_draws : int
        Recorded draws per chain.
    thin : int
        Iterations between two draws.
    chunk_draws : int
        Draws per compiled chunk (a divisor of ``num_draws``); the state can be checkpointed between chunks.
    """

    num_draws: int
    thin: int
    chunk_draws: int

    @property
    def iterations(self) -> int:
        """Iterations actually run: ``num_draws * thin``."""
        return self.num_draws * self.thin

    @property
    def num_chunks(self) -> int:
        return self.num_draws // self.chunk_draws


def make_schedule(iterations: int, num_draws: int, num_chunks: int = 10, *, checkpoint_every: int | None = None,
                  max_chunk_draws: int | None = None) -> Schedule:
    """Cut ``iterations`` into ``num_draws`` evenly spaced draws (the last at the final iteration).

    ``iterations`` is rounded down to a multiple of the thinning interval; ``num_draws`` is capped at
    ``iterations``. A chunk holds the largest divisor of ``num_draws`` that is at most
    ``num_draws / num_chunks`` draws, at most ``checkpoint_every`` iterations (if given) and at most
    ``max_chunk_draws`` draws (if given).

    Raises
    ------
    ValueError
        If ``iterations``, ``num_draws``, ``num_chunks`` or ``checkpoint_every`` is not positive.
    """
    if iterations < 1 or num_draws < 1 or num_chunks < 1:
        raise ValueError(f"iterations, num_draws and num_chunks must be >= 1, got {iterations}, {num_draws}, "
                         f"{num_chunks}")
    if checkpoint_every is not None and checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    num_draws = min(num_draws, iterations)
    thin = iterations // num_draws
    target = max(1, num_draws // num_chunks)
    if checkpoint_every is not None:
        target = min(target, max(1, checkpoint_every // thin))
    if max_chunk_draws is not None:
        target = min(target, max(1, max_chunk_draws))
    chunk = max(d for d in range(1, target + 1) if num_draws % d == 0)
    return Schedule(num_draws, thin, chunk)


