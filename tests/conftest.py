import os
import shutil
import tempfile
from pathlib import Path

# Tests run on the CPU, quietly.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# Many tests, and the bgan-run processes they start (which inherit the variable), compile the same programs:
# they share them through JAX's persistent compilation cache for this session, one directory for the pytest
# process and its xdist workers (the workers' parent), removed at the end.
_SESSION = os.getppid() if "PYTEST_XDIST_WORKER" in os.environ else os.getpid()
_CACHE = Path(tempfile.gettempdir()) / f"bgan-tests-jax-cache-{_SESSION}"
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(_CACHE))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.3")


def pytest_sessionfinish(session):
    if "PYTEST_XDIST_WORKER" not in os.environ:
        shutil.rmtree(_CACHE, ignore_errors=True)
