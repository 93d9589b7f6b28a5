"""Where a run keeps its work until it is complete: the staging directory, streamed draws, the final
atomic move into ``out_dir``.

A run writing ``runs/x`` works in the sibling ``runs/.x.partial/``:

- ``config.yaml``: the resolved config the run was started with (a resume must match it);
- ``checkpoint/``: orbax checkpoints of the sampler state, one step per compiled chunk
  (:class:`inference.checkpoint.Checkpointer`);
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
import yaml

from experiments.schema import ConfigError
from inference.arviz_export import to_datatree

#: ArviZ groups whose variables have a ``draw`` dimension (appended chunk by chunk).
DRAW_GROUPS = ("posterior", "discriminator_posterior", "posterior_predictive", "sample_stats",
               "discriminator_sample_stats", "discriminator_predictive")


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

    # -- assembly --------------------------------------------------------------------------------
    def write_posterior(self, path: Path, chunks: list[int], *, draw_iterations: np.ndarray,
                        select: Callable[[str], bool], keep_draws: int | None = None, **datatree_kwargs) -> int:
        """Assemble ``posterior.nc`` from the chunk files, one chunk in memory at a time.

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
        keep_draws : int, optional
            Write only the first ``keep_draws`` draws (a diverged run's finite ones).
        **datatree_kwargs
            Passed to :func:`inference.arviz_export.to_datatree` (``event_shape``, ``observed``,
            ``weight_indices``, ``attrs``).

        Returns
        -------
        int
            Draws written.
        """
        written = 0
        for index in chunks:
            draws = {k: v for k, v in self.load_chunk(index).items() if select(k)}
            n = next(iter(draws.values())).shape[1]
            if keep_draws is not None:
                n = max(0, min(n, keep_draws - written))
                draws = {k: v[:, :n] for k, v in draws.items()}
            if written == 0:
                dt = to_datatree(draws, draw_iterations=draw_iterations[:n], **datatree_kwargs)
                dt.to_netcdf(path, engine="h5netcdf",
                             unlimited_dims={f"/{g}": ["draw"] for g in DRAW_GROUPS if g in dt.children
                                             and "draw" in dt[g].dims})
            elif n:
                self._append(path, draws, written, draw_iterations[written:written + n],
                             datatree_kwargs["event_shape"])
            written += n
            if keep_draws is not None and written >= keep_draws:
                break
        return written

    @staticmethod
    def _append(path: Path, draws: dict[str, np.ndarray], start: int, iterations: np.ndarray,
                event_shape: tuple[int, ...]) -> None:
        stop = start + len(iterations)
        with h5netcdf.File(path, "a") as f:
            for group in DRAW_GROUPS:
                grp = f.groups.get(group)
                if grp is None or "draw" not in grp.dimensions:
                    continue
                grp.resize_dimension("draw", stop)
                grp.variables["draw"][start:stop] = np.arange(start, stop)
                grp.variables["iteration"][start:stop] = iterations
            for key, value in draws.items():
                if key == "x_generated":
                    var, value = f.groups["posterior_predictive"].variables[key], value.reshape(
                        *value.shape[:3], *event_shape)
                elif key == "class_generated":
                    var = f.groups["posterior_predictive"].variables[key]
                elif key.startswith("stats/"):
                    var = f.groups["sample_stats"].variables[key.split("/", 1)[1]]
                elif key.startswith("disc_stats/"):
                    var = f.groups["discriminator_sample_stats"].variables[key.split("/", 1)[1]]
                elif key.startswith("disc_points/"):
                    var = f.groups["discriminator_predictive"].variables[key.split("/", 1)[1]]
                else:
                    group = "posterior" if key.startswith("generator") else "discriminator_posterior"
                    var = f.groups[group].variables[key]
                var[:, start:stop] = value

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
