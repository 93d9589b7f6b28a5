import os

# Tests run on the CPU, quietly.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
