"""Checkpoints of a sampler state with orbax-checkpoint: ``(state, key)`` is the whole checkpoint.

A checkpoint step is the number of compiled chunks done. Each save is a pytree of the sampler state
(``ocp.args.StandardSave``; typed PRNG keys are stored as their raw key data) plus a small JSON record
(iteration, draws, the run's key data), written by an orbax ``CheckpointManager``, which finalises a
step atomically (a step killed half-way is never listed). Restoring needs the state's abstract tree
(:meth:`inference.driver.Sampling.abstract_state`), shardings included.
"""

from __future__ import annotations

import logging
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp

# orbax logs every save (INFO) and the clean-up of a step a killed run left half-written (WARNING); a
# run reports its own progress.
logging.getLogger("absl").setLevel(logging.ERROR)


def _is_key(x) -> bool:
    return hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_raw(tree) -> dict:
    """The leaves of ``tree`` as a flat dict ``{"leaf_00000": array}``, typed PRNG keys replaced by their
    ``uint32`` key data (orbax stores plain arrays; flat names spare it the state's NamedTuple paths)."""
    leaves = jax.tree.leaves(tree)
    return {f"leaf_{i:05d}": jax.random.key_data(x) if _is_key(x) else x for i, x in enumerate(leaves)}


def _raw_abstract(abstract) -> dict:
    """What :func:`_to_raw` makes of an abstract tree (key leaves become their key data's shape and dtype)."""
    def raw(a):
        if not _is_key(a):
            return a
        data = jax.eval_shape(jax.random.key_data, a)
        return jax.ShapeDtypeStruct(data.shape, data.dtype, sharding=getattr(a, "sharding", None))
    return {f"leaf_{i:05d}": raw(a) for i, a in enumerate(jax.tree.leaves(abstract))}


def _key_impls(tree) -> dict[str, str]:
    """``{leaf name: PRNG implementation}`` of the typed key leaves of a concrete tree."""
    return {f"leaf_{i:05d}": str(jax.random.key_impl(x)) for i, x in enumerate(jax.tree.leaves(tree)) if _is_key(x)}


def _from_raw(flat: dict, abstract, key_impls: dict[str, str]):
    """Inverse of :func:`_to_raw`: the abstract tree's structure, key leaves re-wrapped with their impl."""
    leaves, treedef = jax.tree.flatten(abstract)
    names = [f"leaf_{i:05d}" for i in range(len(leaves))]
    values = [jax.random.wrap_key_data(flat[n], impl=key_impls[n]) if n in key_impls else flat[n] for n in names]
    return jax.tree.unflatten(treedef, values)


class Checkpointer:
    """Save and restore ``(state, metadata)`` at steps in ``directory`` (orbax ``CheckpointManager``).

    Parameters
    ----------
    directory : path
        Created if absent. The ``max_to_keep`` newest steps are kept.
    max_to_keep : int
    """

    def __init__(self, directory: Path, max_to_keep: int = 2):
        self.directory = Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                               enable_async_checkpointing=False)
        self.manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        """The newest complete step, or ``None``."""
        return self.manager.latest_step()

    def save(self, step: int, state, metadata: dict) -> None:
        """Save ``state`` (any pytree of arrays, typed keys allowed) and JSON-able ``metadata`` at ``step``,
        and wait until it is on disk."""
        metadata = dict(metadata, key_impls=_key_impls(state))
        self.manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(_to_raw(state)),
                                                        metadata=ocp.args.JsonSave(metadata)))
        self.manager.wait_until_finished()

    def restore(self, step: int, abstract_state):
        """Return ``(state, metadata)`` saved at ``step``, laid out like ``abstract_state`` (shapes, dtypes,
        shardings).

        Raises
        ------
        FileNotFoundError
            If ``step`` was never completed.
        """
        if step not in self.manager.all_steps():
            raise FileNotFoundError(f"{self.directory}: no checkpoint at step {step}")
        restored = self.manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(_raw_abstract(abstract_state)), metadata=ocp.args.JsonRestore()))
        metadata = dict(restored["metadata"])
        return _from_raw(restored["state"], abstract_state, metadata.pop("key_impls")), metadata

    def close(self) -> None:
        self.manager.close()


def key_data(key: jax.Array) -> list[int]:
    """A typed key's raw data as a JSON-able list (for checkpoint metadata)."""
    return np.asarray(jax.random.key_data(key)).ravel().tolist()
