"""The memory a compiled program frees is kept for its next call
(compile/numba_cpu/memory.py): a program with large temporaries, called in a
loop, takes no page faults once it is warm.  Counted by the kernel (minor page
faults), in child processes since the allocator settings are process-wide."""
import os
import platform
import subprocess
import sys

import pytest

SCRIPT = """
import resource, numpy as np, symgraph as sg, symgraph.tensor as T
a, b = T.dmatrices("a", "b")
h1 = T.tanh(T.dot(a, b))                 # three 800 KB temporaries a call
h2 = T.tanh(T.dot(a, h1))
h3 = T.tanh(T.dot(a, h2))
f = sg.function([a, b], T.sum(h1) + T.sum(h2) + T.sum(h3), mode="numba")
A, B = np.full((100, 100), 0.01), np.ones((100, 1000))
for _ in range(5):
    f(A, B)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    f(A, B)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50)
"""


def _faults_per_call(keep_mb):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["SYMGRAPH_FLAGS"] = ",".join(filter(None, [env.get("SYMGRAPH_FLAGS"),
                                                   f"malloc_keep_mb={keep_mb}"]))
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.split()[-1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="the allocator settings are glibc's")
def test_a_warm_program_takes_no_page_faults():
    assert _faults_per_call(64) < 10
    # and without the settings glibc hands the temporaries back every call (so
    # the count above says something): each call faults them in again
    assert _faults_per_call(0) > 100
