"""Where a run keeps its work until it is complete: the staging directory, streamed draws, the final
atomic move into ``out_dir``.

A run writing ``runs/x`` works in the sibling ``runs/.x.partial/``:

- ``config.yaml``: the resolved config the run was started with (a resume must match it);
- ``checkpoint/``: orbax checkpoints of the sampler state, one step per compiled chunk
  (:class:`experiments.rundir.checkpoint.Checkpointer`);
- ``draws/chunk-NNNNN.npz``: each chunk's draws, written to a temporary name and renamed, so a file is
  either complete or absent; the draws never accumulate in memory;
- ``build/``: the run directory being assembled at the end; ``posterior.nc`` is written one chunk at a
  time (xarray lays out the first chunk with an unlimited ``draw`` dimension, h5netcdf appends the rest).

When ``build/`` is complete it replaces ``out_dir`` with one rename and the staging directory is removed,
so ``out_dir`` never holds a half-written ``posterior.nc``. A run killed at any point leaves the staging
directory; the same command resumes from its newest checkpoint.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import h5netcdf
import numpy as np
import xarray as xr
import yaml

from experiments.schema import ConfigError, upgrade_stored
from experiments.rundir.arviz_export import DRAW_GROUPS, WARMUP, as_stored, group_of, to_datatree


def staging_dir(out_dir: Path) -> Path:
    """``<parent>/.<name>.partial`` next to ``out_dir``."""
    out_dir = Path(out_dir)
    return out_dir.parent / f".{out_dir.name}.partial"


def filing_order(sampling: np.ndarray) -> np.ndarray:
    """The recorded draw numbers with every non-sampling draw (warmup, exploration) first and the sampling
    draws after them, each in recorded order: how :mod:`experiments.run` reads a run whose sampling draws are
    not one block at its end (cyclical SG-MCMC), so "the post-warmup draws" stay a range ``[k, n)``."""
    return np.argsort(np.asarray(sampling, bool), kind="stable")


def _flatten(tree, prefix: str = "") -> dict:
    if not isinstance(tree, dict):
        return {prefix.rstrip("."): tree}
    out = {}
    for k, v in tree.items():
        out |= _flatten(v, f"{prefix}{k}.")
    return out


def _differences(a: dict, b: dict) -> list[str]:
    """``key: old -> new`` for every dotted leaf key that differs between two configs."""
    fa, fb = _flatten(a), _flatten(b)
    return [f"{k}: {fa.get(k)!r} -> {fb.get(k)!r}" for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]


class RunStore:
    """The staging directory of one run (see the module docstring).

    Parameters
    ----------
    out_dir : path
        The run directory the run will produce.
    """

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.root = staging_dir(self.out_dir)
        self.checkpoint_dir = self.root / "checkpoint"
        self.draws_dir = self.root / "draws"
        self.build_dir = self.root / "build"

    def check(self, cfg_yaml: str, *, resume: bool = True) -> bool:
        """Whether an unfinished run of this config waits here to be resumed (reads only).

        Parameters
        ----------
        cfg_yaml : str
            The run's resolved config (without keys that do not change the draws, e.g. ``progress``).
        resume : bool
            ``False``: an unfinished run here will be discarded (:meth:`begin`), never resumed.

        Raises
        ------
        ConfigError
            If an unfinished run in the way was started with another config (the message names the keys
            that differ and how to start over). A run stored before ``network`` became a config group is the
            same config when it is equal once brought to today's layout (:func:`experiments.schema.upgrade_stored`:
            keys moved, keys added since at their defaults): it resumes (:meth:`begin` rewrites its saved
            config in today's layout).
        """
        saved = self.root / "config.yaml"
        if not resume or not saved.is_file():
            return False
        if saved.read_text() != cfg_yaml:
            was, now = yaml.safe_load(saved.read_text()) or {}, yaml.safe_load(cfg_yaml) or {}
            upgrade_stored(was, now)  # an older run: keys moved (the network group) or added since
            if was == now:
                return True
            diff = _differences(was, now)
            more = f"; {len(diff) - 3} more" if len(diff) > 3 else ""
            raise ConfigError(
                f"out_dir={str(self.out_dir)!r} has an unfinished run with another config "
                f"({'; '.join(diff[:3]) or 'formatting'}{more}): rerun its command to resume it, or add "
                f"resume=false to discard it ({self.root})")
        return True

    def begin(self, cfg_yaml: str, *, resume: bool = True) -> bool:
        """Create the staging directory, or find the one of an unfinished run of the same config.

        Parameters and errors as :meth:`check`.

        Returns
        -------
        bool
            True when an unfinished run was found (the caller resumes from its checkpoint).
        """
        saved = self.root / "config.yaml"
        if self.check(cfg_yaml, resume=resume):
            shutil.rmtree(self.build_dir, ignore_errors=True)
            if saved.read_text() != cfg_yaml:  # the same run in an older layout: saved in today's
                tmp = saved.with_suffix(".tmp")
                tmp.write_text(cfg_yaml)
                os.replace(tmp, saved)
            return True
        shutil.rmtree(self.root, ignore_errors=True)  # discarded, or killed before its config was saved
        self.draws_dir.mkdir(parents=True)
        tmp = saved.with_suffix(".tmp")
        tmp.write_text(cfg_yaml)
        os.replace(tmp, saved)
        return False

    # -- streamed draws ----------------------------------------------------------------------------
    def chunk_path(self, index: int) -> Path:
        return self.draws_dir / f"chunk-{index:05d}.npz"

    def save_chunk(self, index: int, draws: dict[str, np.ndarray]) -> None:
        """Write one chunk's draws atomically (temporary file, then rename)."""
        tmp = self.draws_dir / f".chunk-{index:05d}.tmp.npz"
        np.savez(tmp, **draws)
        os.replace(tmp, self.chunk_path(index))

    def load_chunk(self, index: int, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """One chunk's draws (only ``keys`` if given), each ``(chain, draw, ...)``.

        Raises
        ------
        FileNotFoundError
            If the chunk was never completed.
        """
        with np.load(self.chunk_path(index)) as f:
            return {k: f[k] for k in (f.files if keys is None else keys)}

    def small_arrays(self, chunks: list[int], num_kept: int, order: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every per-draw scalar array (sample stats, function-space statistics) of the first ``num_kept``
        draws, concatenated over ``chunks``: ``(chain, draw)`` each, draws in ``order`` if given (see
        :func:`filing_order`). Samples and weights stay on disk."""
        pieces = []
        for c in chunks:
            with np.load(self.chunk_path(c)) as f:
                pieces.append({k: f[k] for k in f.files if k.startswith(("stats/", "disc_stats/", "fs/"))})
        if not pieces:
            return {}
        out = {k: np.concatenate([p[k] for p in pieces], axis=1)[:, :num_kept] for k in pieces[0]}
        return out if order is None else {k: v[:, order] for k, v in out.items()}

    def read_draws(self, chunks: list[int], chunk_draws: int, first: int, stop: int, key: str = "x_generated",
                   per_draw: int | None = None, order: np.ndarray | None = None) -> np.ndarray:
        """The array ``key`` of draws ``first .. stop - 1``, ``(chain, draw, ...)``, read chunk by chunk (each
        ``chunk_draws`` draws); with ``per_draw`` only the first ``per_draw`` samples (axis 2) of each draw
        are kept, so a pool over many draws does not hold every sample in memory. With ``order`` (recorded
        draw numbers, see :func:`filing_order`) draw ``i`` is recorded draw ``order[i]``."""
        wanted = np.arange(first, stop) if order is None else np.asarray(order)[first:stop]
        pieces, found = [], []
        for c in chunks:
            lo, hi = c * chunk_draws, (c + 1) * chunk_draws
            here = wanted[(wanted >= lo) & (wanted < hi)]
            if not here.size:
                continue
            x = self.load_chunk(c, [key])[key][:, np.sort(here) - lo]
            pieces.append(np.array(x if per_draw is None else x[:, :, :per_draw]))  # a copy: frees the chunk
            found.append(np.sort(here))
        if not pieces:  # an empty range: no draw, the shape of one chunk's
            x = self.load_chunk(chunks[0], [key])[key][:, :0]
            return x if per_draw is None else x[:, :, :per_draw]
        x, found = np.concatenate(pieces, axis=1), np.concatenate(found)
        if order is None:
            return x
        return x[:, np.searchsorted(found, wanted)]  # found is sorted: back into the asked order

    # -- assembly --------------------------------------------------------------------------------
    def write_posterior(self, path: Path, chunks: list[int], *, draw_iterations: np.ndarray,
                        select: Callable[[str], bool], num_warmup_draws: int = 0, keep_draws: int | None = None,
                        sampling: np.ndarray | None = None, **datatree_kwargs) -> int:
        """Assemble ``posterior.nc`` from the chunk files, one chunk in memory at a time.

        Sampling draws go to the sampling groups, every other draw (warmup, a cyclical sampler's
        exploration stages) to the ``warmup_*`` groups (:func:`experiments.rundir.arviz_export.to_datatree`),
        each group in recorded order with its draws' ``iteration`` coordinate.

        Parameters
        ----------
        path : path
            The file to write.
        chunks : list of int
            Chunk indices in order.
        draw_iterations : numpy.ndarray, shape ``(draw,)``
            Iteration of every draw of the run (indexed by the global draw number).
        select : callable
            ``select(key) -> bool``: which arrays of a chunk go into the file.
        num_warmup_draws : int
            How many of the first draws were recorded during warmup (used when ``sampling`` is not given).
        keep_draws : int, optional
            Write only the first ``keep_draws`` draws (a diverged run's finite ones).
        sampling : numpy.ndarray of bool, shape ``(draw,)``, optional
            Which recorded draws are sampling draws; default: all but the first ``num_warmup_draws``.
        **datatree_kwargs
            Passed to :func:`experiments.rundir.arviz_export.to_datatree` (``event_shape``, ``observed``,
            ``weight_indices``, ``attrs``).

        Returns
        -------
        int
            Draws written (warmup and sampling).
        """
        total = len(draw_iterations) if keep_draws is None else min(keep_draws, len(draw_iterations))
        if sampling is None:
            sampling = np.arange(len(draw_iterations)) >= num_warmup_draws
        sampling = np.asarray(sampling, bool)[:total]
        any_warm, any_main = bool((~sampling).any()), bool(sampling.any())
        written, counts, created = 0, {WARMUP: 0, "": 0}, False
        for index in chunks:
            if written >= total:
                break
            draws = {k: v for k, v in self.load_chunk(index).items() if select(k)}
            n = min(next(iter(draws.values())).shape[1], total - written)
            is_main = sampling[written:written + n]
            iters = draw_iterations[written:written + n]
            parts = {prefix: ({k: v[:, :n][:, mask] for k, v in draws.items()}, iters[mask])
                     for prefix, mask in ((WARMUP, ~is_main), ("", is_main))}
            if not created:
                (warm, warm_iters), (main, main_iters) = parts[WARMUP], parts[""]
                dt = to_datatree(main, draw_iterations=main_iters, warmup_draws=warm if any_warm else None,
                                 warmup_iterations=warm_iters, **datatree_kwargs)
                if not any_main:  # every kept draw is warmup: no sampling groups
                    dt = xr.DataTree.from_dict({k: v.to_dataset() for k, v in dt.children.items()
                                                if k.startswith(WARMUP) or "draw" not in v.dims})
                dt.to_netcdf(path, engine="h5netcdf", unlimited_dims={
                    f"/{g}": ["draw"] for g in dt.children if "draw" in dt[g].dims})
                created = True
            else:
                for prefix, (part, part_iters) in parts.items():
                    if len(part_iters):
                        self._append(path, prefix, part, counts[prefix], part_iters, datatree_kwargs["event_shape"])
            for prefix, (_, part_iters) in parts.items():
                counts[prefix] += len(part_iters)
            written += n
        if not created and chunks:  # no draw kept (diverged before the first): the groups, with no draws
            empty = {k: v[:, :0] for k, v in self.load_chunk(chunks[0]).items() if select(k)}
            to_datatree(empty, draw_iterations=draw_iterations[:0], **datatree_kwargs).to_netcdf(path, engine="h5netcdf")
        return written

    @staticmethod
    def _append(path: Path, prefix: str, draws: dict[str, np.ndarray], start: int, iterations: np.ndarray,
                event_shape: tuple[int, ...]) -> None:
        """Append draws ``start ..`` to the groups named ``prefix + group``."""
        stop = start + len(iterations)
        with h5netcdf.File(path, "a") as f:
            for group in DRAW_GROUPS:
                grp = f.groups.get(prefix + group)
                if grp is None or "draw" not in grp.dimensions:
                    continue
                grp.resize_dimension("draw", stop)
                grp.variables["draw"][start:stop] = np.arange(start, stop)
                grp.variables["iteration"][start:stop] = iterations
            for key, value in draws.items():
                group, name = group_of(key)
                f.groups[prefix + group].variables[name][:, start:stop] = as_stored(key, value, event_shape)

    def finish(self) -> Path:
        """Move the assembled ``build/`` into ``out_dir`` (replacing an earlier complete run there) and
        remove the staging directory.

        Returns
        -------
        pathlib.Path
            ``out_dir``.
        """
        if self.out_dir.exists():
            old = self.out_dir.with_name(f".{self.out_dir.name}.old-{os.getpid()}")
            os.replace(self.out_dir, old)
            os.replace(self.build_dir, self.out_dir)
            shutil.rmtree(old)
        else:
            os.replace(self.build_dir, self.out_dir)
        shutil.rmtree(self.root)
        return self.out_dir
