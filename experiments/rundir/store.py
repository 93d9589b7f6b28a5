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

from experiments.schema import ConfigError
from experiments.rundir.arviz_export import DRAW_GROUPS, WARMUP, as_stored, group_of, to_datatree


def staging_dir(out_dir: Path) -> Path:
    """``<parent>/.<name>.partial`` next to ``out_dir``."""
    out_dir = Path(out_dir)
    return out_dir.parent / f".{out_dir.name}.partial"


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
            that differ and how to start over).
        """
        saved = self.root / "config.yaml"
        if not resume or not saved.is_file():
            return False
        if saved.read_text() != cfg_yaml:
            diff = _differences(yaml.safe_load(saved.read_text()) or {}, yaml.safe_load(cfg_yaml) or {})
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
        if self.check(cfg_yaml, resume=resume):
            shutil.rmtree(self.build_dir, ignore_errors=True)
            return True
        saved = self.root / "config.yaml"
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

    def small_arrays(self, chunks: list[int], num_kept: int) -> dict[str, np.ndarray]:
        """Every per-draw scalar array (sample stats, function-space statistics) of the first ``num_kept``
        draws, concatenated over ``chunks``: ``(chain, draw)`` each. Samples and weights stay on disk."""
        pieces = []
        for c in chunks:
            with np.load(self.chunk_path(c)) as f:
                pieces.append({k: f[k] for k in f.files if k.startswith(("stats/", "disc_stats/", "fs/"))})
        if not pieces:
            return {}
        return {k: np.concatenate([p[k] for p in pieces], axis=1)[:, :num_kept] for k in pieces[0]}

    def read_draws(self, chunks: list[int], chunk_draws: int, first: int, stop: int, key: str = "x_generated",
                   per_draw: int | None = None) -> np.ndarray:
        """The array ``key`` of draws ``first .. stop - 1``, ``(chain, draw, ...)``, read chunk by chunk (each
        ``chunk_draws`` draws); with ``per_draw`` only the first ``per_draw`` samples (axis 2) of each draw
        are kept, so a pool over many draws does not hold every sample in memory."""
        pieces = []
        for c in chunks:
            lo, hi = c * chunk_draws, (c + 1) * chunk_draws
            if hi <= first or lo >= stop:
                continue
            x = self.load_chunk(c, [key])[key][:, max(first, lo) - lo: min(stop, hi) - lo]
            pieces.append(np.array(x if per_draw is None else x[:, :, :per_draw]))  # a copy: frees the chunk
        if not pieces:  # an empty range: no draw, the shape of one chunk's
            x = self.load_chunk(chunks[0], [key])[key][:, :0]
            return x if per_draw is None else x[:, :, :per_draw]
        return np.concatenate(pieces, axis=1)

    # -- assembly --------------------------------------------------------------------------------
    def write_posterior(self, path: Path, chunks: list[int], *, draw_iterations: np.ndarray,
                        select: Callable[[str], bool], num_warmup_draws: int = 0, keep_draws: int | None = None,
                        **datatree_kwargs) -> int:
        """Assemble ``posterior.nc`` from the chunk files, one chunk in memory at a time.

        Draws ``0 .. num_warmup_draws - 1`` go to the ``warmup_*`` groups, the rest to the sampling groups
        (:func:`experiments.rundir.arviz_export.to_datatree`).

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
            How many of the first draws were recorded during warmup.
        keep_draws : int, optional
            Write only the first ``keep_draws`` draws (a diverged run's finite ones).
        **datatree_kwargs
            Passed to :func:`experiments.rundir.arviz_export.to_datatree` (``event_shape``, ``observed``,
            ``weight_indices``, ``attrs``).

        Returns
        -------
        int
            Draws written (warmup and sampling).
        """
        total = len(draw_iterations) if keep_draws is None else min(keep_draws, len(draw_iterations))
        num_warmup_draws = min(num_warmup_draws, total)
        written, created = 0, False
        for index in chunks:
            if written >= total:
                break
            draws = {k: v for k, v in self.load_chunk(index).items() if select(k)}
            n = min(next(iter(draws.values())).shape[1], total - written)
            split = min(max(num_warmup_draws - written, 0), n)
            warm = {k: v[:, :split] for k, v in draws.items()}
            main = {k: v[:, split:n] for k, v in draws.items()}
            w_start, s_start = min(written, num_warmup_draws), max(written - num_warmup_draws, 0)
            if not created:
                dt = to_datatree(
                    main, draw_iterations=draw_iterations[num_warmup_draws + s_start:][:n - split],
                    warmup_draws=warm if num_warmup_draws else None,
                    warmup_iterations=draw_iterations[:split], **datatree_kwargs)
                if total == num_warmup_draws:  # every kept draw is warmup: no sampling groups
                    dt = xr.DataTree.from_dict({k: v.to_dataset() for k, v in dt.children.items()
                                                if k.startswith(WARMUP) or "draw" not in v.dims})
                dt.to_netcdf(path, engine="h5netcdf", unlimited_dims={
                    f"/{g}": ["draw"] for g in dt.children if "draw" in dt[g].dims})
                created = True
            else:
                event_shape = datatree_kwargs["event_shape"]
                if split:
                    self._append(path, WARMUP, warm, w_start, draw_iterations[w_start:w_start + split], event_shape)
                if n > split:
                    first = num_warmup_draws + s_start
                    self._append(path, "", main, s_start, draw_iterations[first:first + n - split], event_shape)
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
