"""Workload definitions: sizes, units and seeded synthetic data. Every peer builds
its case from the same data dict, so all peers start from identical parameters."""
import numpy as np

# name -> (unit of the reported time, one-line description)
WORKLOADS = {
    "W0": ("µs", "smallest step: cost=sum(w*x), 20 floats, SGD; per call"),
    "W1": ("ms", "a**2+2*a*b+b**2 on 10M float64, fresh output; per call"),
    "W2": ("µs", "logistic regression 400x784, grad + SGD; per step"),
    "W3": ("µs", "LXMLS MLP [13989,20,2], batch 5, SGD; per step"),
    "W4": ("s", "MLP 784-100-100-10 tanh/softmax, batch 100, 500 steps; per epoch"),
    "W5": ("s", "the W2 or W4 step built, compiled, run once in a fresh process; "
           "seconds from the process start to the first result"),
}

FULL = {"W0": 20, "W1": 10_000_000, "W2": (400, 784), "W3": (13989, 20, 2, 5),
        "W4": (50_000, 784, 100, 100, 10, 100)}
QUICK = {"W0": 20, "W1": 100_000, "W2": (40, 78), "W3": (1000, 20, 2, 5),
         "W4": (1000, 784, 100, 100, 10, 100)}
# W5 only measures build + compile + one step, so one batch of data is enough.
COLD_START = dict(FULL, W4=(100, 784, 100, 100, 10, 100))


def _glorot(rng, rows, cols):
    bound = np.sqrt(6.0 / (rows + cols))
    return rng.uniform(-bound, bound, size=(rows, cols))


def make_data(name, sizes, seed=0):
    rng = np.random.default_rng(seed)
    size = sizes[name]
    if name == "W0":
        return {"w": rng.standard_normal(size), "x": rng.standard_normal(size), "lr": 0.01}
    if name == "W1":
        return {"a": rng.standard_normal(size), "b": rng.standard_normal(size)}
    if name == "W2":
        n, m = size
        return {"X": rng.standard_normal((n, m)),
                "y": rng.integers(0, 2, size=n).astype(np.int32),
                "w": 0.01 * rng.standard_normal(m), "b": np.array(0.0), "lr": 0.1}
    if name == "W3":
        d, h, c, n = size
        # Bag-of-words counts like the LXMLS Amazon reviews: sparse, small integers.
        x = (rng.random((d, n)) < 0.01) * rng.integers(1, 4, size=(d, n))
        return {"x": x.astype(np.float64),
                "y": rng.integers(0, c, size=n).astype(np.int32),
                "W1": _glorot(rng, h, d), "b1": np.zeros((h, 1)),
                "W2": _glorot(rng, c, h), "b2": np.zeros((c, 1)), "lr": 0.05}
    if name == "W4":
        samples, d, h1, h2, c, batch = size
        X = rng.standard_normal((samples, d))
        y = rng.integers(0, c, size=samples).astype(np.int32)
        # Views, not copies: every peer walks the same batches in the same order.
        batches = [(X[i:i + batch], y[i:i + batch]) for i in range(0, samples, batch)]
        return {"batches": batches,
                "W1": _glorot(rng, d, h1), "b1": np.zeros(h1),
                "W2": _glorot(rng, h1, h2), "b2": np.zeros(h2),
                "W3": _glorot(rng, h2, c), "b3": np.zeros(c), "lr": 0.1}
    raise KeyError(name)


W4_PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")
W3_PARAMS = ("W1", "b1", "W2", "b2")
