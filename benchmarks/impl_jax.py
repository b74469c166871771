"""JAX: jax.jit of a functional step with jax.grad, float64 enabled. Parameters are
donated to the step so XLA may update them in place. Calls are asynchronous: the
harness waits for the last result of each timed batch."""
import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

from common import Case  # noqa: E402
from workloads import W3_PARAMS, W4_PARAMS  # noqa: E402


def _sync(out):
    return jax.block_until_ready(out)


def _trainer(loss, params, *data, lr):
    """Case for an SGD step on `loss(params, *data)`; params is a tuple of arrays."""
    def _step(params, *data):
        cost, grads = jax.value_and_grad(loss)(params, *data)
        return cost, tuple(p - lr * g for p, g in zip(params, grads))
    step_fn = jax.jit(_step, donate_argnums=0)
    state = [tuple(jnp.array(p) for p in params)]
    data = tuple(jnp.asarray(v) for v in data)

    def step():
        cost, state[0] = step_fn(state[0], *data)
        return cost
    return Case(step, lambda: list(state[0]), _sync)


def w0(d):
    return _trainer(lambda p, x: jnp.sum(p[0] * x), (d["w"],), d["x"], lr=d["lr"])


def w1(d):
    f = jax.jit(lambda a, b: a ** 2 + 2 * a * b + b ** 2)
    a, b = jnp.asarray(d["a"]), jnp.asarray(d["b"])
    return Case(lambda: f(a, b), sync=_sync)


def w2(d):
    def loss(p, X, y):
        w, b = p
        prob = jax.nn.sigmoid(X @ w + b)
        return -jnp.mean(y * jnp.log(prob) + (1 - y) * jnp.log(1 - prob))
    return _trainer(loss, (d["w"], d["b"]), d["X"], d["y"], lr=d["lr"])


def w3(d):
    def loss(p, x, y):
        W1, b1, W2, b2 = p
        h = jax.nn.sigmoid(W1 @ x + b1)
        logp = jax.nn.log_softmax(W2 @ h + b2, axis=0)
        return -jnp.mean(logp[y, jnp.arange(y.shape[0])])
    return _trainer(loss, tuple(d[k] for k in W3_PARAMS), d["x"], d["y"], lr=d["lr"])


def _w4_loss(p, x, y):
    W1, b1, W2, b2, W3, b3 = p
    h1 = jnp.tanh(x @ W1 + b1)
    h2 = jnp.tanh(h1 @ W2 + b2)
    logp = jax.nn.log_softmax(h2 @ W3 + b3, axis=1)
    return -jnp.mean(logp[jnp.arange(y.shape[0]), y])


def w4(d):
    lr = d["lr"]

    def _step(params, x, y):
        cost, grads = jax.value_and_grad(_w4_loss)(params, x, y)
        return cost, tuple(p - lr * g for p, g in zip(params, grads))
    step_fn = jax.jit(_step, donate_argnums=0)
    state = [tuple(jnp.array(d[k]) for k in W4_PARAMS)]
    # Batches moved to JAX once, up front, so the epoch times steps, not copies.
    batches = [(jnp.asarray(x), jnp.asarray(y)) for x, y in d["batches"]]

    def epoch():
        for x, y in batches:
            cost, state[0] = step_fn(state[0], x, y)
        return cost
    return Case(epoch, lambda: list(state[0]), _sync)


def workloads(variant=None):
    return {"W0": w0, "W1": w1, "W2": w2, "W3": w3, "W4": w4}


def set_compiledir(path):
    """Persistent compilation cache in `path`, caching every program however small."""
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
