"""Drummy: grow new drum sounds out of the samples you already own."""
import os

__version__ = "0.1.0"

# torch's OpenMP threads spin while they wait for each other. On a machine busy with other
# work (a DAW, a second training) a waiting thread burns the core the one it waits for needs:
# a short generator training beside two others took 2-5x as long. Sleeping instead costs
# nothing measurable on an idle machine (benchmarks/busy_machine.py). Read once, when torch
# loads its OpenMP library: so here, before any of Drummy's modules imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


from .numba_cache import set_cache_dir as _set_cache_dir  # noqa: E402  (before anything imports librosa)

_set_cache_dir()
