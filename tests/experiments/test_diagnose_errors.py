"""bgan-diagnose on a posterior.nc that is not one: one line on stderr naming the file, exit 2, no report."""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from experiments.diagnose import main as diagnose_main


def _posterior(draws: int = 8, zlib: bool = False) -> xr.DataTree:
    x = np.random.default_rng(0).normal(size=(2, draws, 50, 2))
    return xr.DataTree.from_dict({
        "posterior_predictive": xr.Dataset({"x_generated": (("chain", "draw", "sample", "coord"), x)}),
        "sample_stats": xr.Dataset({"lp": (("chain", "draw"), x[..., 0, 0])})})


def _write(run: Path, kind: str) -> Path:
    """``run/posterior.nc`` of the given broken ``kind``."""
    run.mkdir()
    path = run / "posterior.nc"
    if kind == "random bytes":
        path.write_bytes(np.random.default_rng(1).bytes(5000))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        _posterior().to_netcdf(path, engine="h5netcdf")
        path.write_bytes(path.read_bytes()[:3000])
    elif kind == "HDF5 signature then garbage":
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + np.random.default_rng(2).bytes(5000))
    elif kind == "foreign HDF5":
        with h5py.File(path, "w") as f:
            f["a"] = np.arange(3)
    elif kind == "netCDF without the group":
        xr.Dataset({"a": ("x", np.arange(3))}).to_netcdf(path, engine="h5netcdf")
    elif kind == "x_generated without draws":
        xr.DataTree.from_dict({"posterior_predictive": xr.Dataset({"x_generated": ("x", np.arange(3.0))})}).to_netcdf(
            path, engine="h5netcdf")
    elif kind == "sample_stats without draws":
        dt = _posterior()
        dt["sample_stats"] = xr.DataTree(xr.Dataset({"lp": ("x", np.arange(3.0))}))
        dt.to_netcdf(path, engine="h5netcdf")
    elif kind == "corrupt compressed chunk":
        _posterior(draws=64).to_netcdf(path, engine="h5netcdf", encoding={"/posterior_predictive": {
            "x_generated": {"zlib": True, "chunksizes": (1, 8, 50, 2)}}})
        data = bytearray(path.read_bytes())
        middle = len(data) // 2
        data[middle:middle + 2000] = np.random.default_rng(3).bytes(2000)
        path.write_bytes(bytes(data))
    return path


BROKEN = {
    "random bytes": "not a netCDF-4/HDF5 file (it starts with",
    "empty": "not a netCDF-4/HDF5 file (it starts with b''",
    "truncated": "cannot read it as netCDF-4/HDF5 (Unable to synchronously open file (truncated file",
    "HDF5 signature then garbage": "cannot read it as netCDF-4/HDF5 (",
    "foreign HDF5": "holds a(phony_dim_0); expected",
    "netCDF without the group": "holds a(x); expected",
    "x_generated without draws": "holds posterior_predictive/x_generated(x); expected",
    "sample_stats without draws": "cannot read group sample_stats (dimensions ('x',), expected (chain, draw, ...))",
    "corrupt compressed chunk": "cannot read posterior_predictive/x_generated (",
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_diagnose_unreadable_posterior_exits_2_with_one_line(tmp_path, capsys, kind):
    path = _write(tmp_path / "run", kind)
    assert diagnose_main([str(tmp_path / "run"), "--plot"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(f"bgan-diagnose: error: {path}: ") and BROKEN[kind] in err, err
    assert "expected the posterior.nc bgan-run writes" in err or kind == "corrupt compressed chunk"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["posterior.nc"]  # no plots written


def test_diagnose_still_reads_a_good_posterior(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    _posterior().to_netcdf(tmp_path / "run" / "posterior.nc", engine="h5netcdf")
    assert diagnose_main([str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    # a file without warmup groups (written before runs kept warmup apart): its second half
    assert "4 of 8 posterior draws kept (a file without warmup groups" in out and "== sample_stats: " in out
    assert "lp" in out


def test_diagnose_reads_every_post_warmup_draw(tmp_path, capsys):
    """A run that keeps its warmup in warmup_* groups: every draw of posterior_predictive is diagnosed."""
    (tmp_path / "run").mkdir()
    dt = _posterior()
    warm = _posterior(draws=3)
    dt = xr.DataTree.from_dict({**{k: v.to_dataset() for k, v in dt.children.items()},
                                **{f"warmup_{k}": v.to_dataset() for k, v in warm.children.items()}})
    dt.to_netcdf(tmp_path / "run" / "posterior.nc", engine="h5netcdf")
    assert diagnose_main([str(tmp_path / "run")]) == 0
    assert "8 of 8 posterior draws kept\n" in capsys.readouterr().out


def test_bgan_diagnose_console_script_on_random_bytes(tmp_path):
    path = _write(tmp_path / "run", "random bytes")
    script = Path(sys.executable).parent / "bgan-diagnose"
    proc = subprocess.run([str(script), str(tmp_path / "run")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "default"})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"bgan-diagnose: error: {path}: not a netCDF-4/HDF5 file (it starts with b'")
    assert proc.stderr.rstrip().endswith("expected the posterior.nc bgan-run writes: netCDF-4/HDF5 with "
                                          "posterior_predictive/x_generated (chain, draw, sample, ...)")
