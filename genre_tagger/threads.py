"""One thread per process for numpy's BLAS and OpenMP.

The scan runs one process per core; a multi-threaded BLAS in each of them only adds
threads that spin while they wait (measured: decode + front-end took 2.5x the CPU time
with OpenBLAS's default threads on 2 cores). Must run before numpy is first imported in
the process (and before worker processes start, which inherit the environment); a value
the user set is kept.
"""

from __future__ import annotations

import os

MATH_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_math_thread() -> None:
    for var in MATH_THREAD_VARS:
        os.environ.setdefault(var, "1")
