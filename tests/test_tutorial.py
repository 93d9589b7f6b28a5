"""docs/tutorial.ipynb: the committed notebook carries its outputs, and it executes without error on CPU
(slow tier, nbclient with this environment's python3 kernel; its runs go to a temporary directory)."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).parents[1] / "docs" / "tutorial.ipynb"


def test_the_committed_tutorial_is_executed():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), "every code cell executed (execute before committing)"
    assert sum(bool(c.outputs) for c in code) >= len(code) - 1  # all but the first (definitions) print
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    shown = {o.output_type for c in code for o in c.outputs}
    assert "display_data" in shown  # the trace and rank plots, the sample grid


@pytest.mark.slow
def test_the_tutorial_executes_without_error(tmp_path, monkeypatch):
    import nbclient

    monkeypatch.setenv("TUTORIAL_RUNS", str(tmp_path / "runs"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on any error
    assert (tmp_path / "runs" / "grid25-sghmc-s0" / "posterior.nc").is_file()
    assert (tmp_path / "runs" / "grid25-sgld-laplace-s0" / "metrics.json").is_file()
