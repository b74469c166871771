"""Stochastic variational inference for Bayesian linear regression.

    python examples/svi.py [--steps N] [--small] [--mode M]

The model: weights w ~ N(0, I), targets y ~ N(X w, noise**2).  Its posterior
is Gaussian and known in closed form, which makes it a good check of SVI:
the mean-field family q(w) = N(mu, diag(sigma**2)) contains the optimum with
the exact posterior mean and sigma_j = 1 / sqrt(Lambda_jj), where Lambda is
the posterior precision.

Each step draws ``samples`` reparameterised weights w = mu + sigma * eps with
eps from a ``RandomStreams`` normal draw inside the graph, estimates the
evidence lower bound

    ELBO = E_q[log p(y | X, w) + log p(w)] + sum(log sigma) + const

and climbs it with Adam, written as an ``updates`` list.  The draw is taken
once per call and the stream advances through its default update, so every
call sees fresh noise; the gradient flows through ``mu`` and ``sigma``.
"""
import argparse
import time

import numpy as np

import symgraph as theano                                      # the tutorial's spelling
import symgraph.tensor as T
from symgraph.tensor.shared_randomstreams import RandomStreams


def make_data(n=200, d=5, noise=0.5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_true = rng.normal(size=d)
    y = X @ w_true + noise * rng.normal(size=n)
    return X, y


def exact_posterior(X, y, noise):
    """The posterior mean and the mean-field optimum's standard deviations."""
    precision = X.T @ X / noise ** 2 + np.eye(X.shape[1])
    mean = np.linalg.solve(precision, X.T @ y / noise ** 2)
    return mean, 1 / np.sqrt(np.diag(precision))


def adam(params, grads, learning_rate=0.05, b1=0.9, b2=0.999, eps=1e-8):
    """Adam as an updates list (the moments are shared variables too)."""
    t = theano.shared(np.float64(0), name="t")
    t_new = t + 1
    updates = [(t, t_new)]
    for p, g in zip(params, grads):
        m = theano.shared(np.zeros_like(p.get_value()), name=f"m_{p.name}")
        v = theano.shared(np.zeros_like(p.get_value()), name=f"v_{p.name}")
        m_new = b1 * m + (1 - b1) * g
        v_new = b2 * v + (1 - b2) * g ** 2
        step = learning_rate * T.sqrt(1 - b2 ** t_new) / (1 - b1 ** t_new)
        updates += [(m, m_new), (v, v_new), (p, p - step * m_new / (T.sqrt(v_new) + eps))]
    return updates


def build(d, noise, samples=16, seed=234, learning_rate=0.05):
    """The symbolic ELBO and the compiled (train step, elbo estimate, parameters)."""
    X, y = T.dmatrix("X"), T.dvector("y")
    mu = theano.shared(np.zeros(d), name="mu")
    rho = theano.shared(np.full(d, -1.0), name="rho")        # sigma = softplus(rho) > 0
    sigma = T.nnet.softplus(rho)
    srng = RandomStreams(seed=seed)
    eps = srng.normal((samples, d))                          # one draw per call
    w = mu + sigma * eps                                     # (samples, d) reparameterised weights
    residual = y.dimshuffle("x", 0) - T.dot(w, X.T)          # (samples, n)
    log_lik = -0.5 * T.sum(residual ** 2, axis=1) / noise ** 2
    log_prior = -0.5 * T.sum(w ** 2, axis=1)
    elbo = T.mean(log_lik + log_prior) + T.sum(T.log(sigma))
    elbo.name = "elbo"
    grads = T.grad(-elbo, [mu, rho])
    train = theano.function([X, y], elbo, updates=adam([mu, rho], grads, learning_rate))
    estimate = theano.function([X, y], elbo)
    return train, estimate, mu, sigma


def run(steps=1500, n=200, d=5, noise=0.5, samples=16, verbose=True):
    X, y = make_data(n, d, noise)
    start = time.perf_counter()
    train, estimate, mu, sigma = build(d, noise, samples)
    compiled = time.perf_counter() - start
    first = float(np.mean([estimate(X, y) for _ in range(20)]))
    start = time.perf_counter()
    history = [train(X, y) for _ in range(steps)]
    seconds = time.perf_counter() - start
    last = float(np.mean([estimate(X, y) for _ in range(20)]))
    mean, sd = exact_posterior(X, y, noise)
    fitted_sd = theano.function([], sigma)()
    result = {"elbo_first": first, "elbo_last": last, "history": np.array(history),
              "mu": mu.get_value(), "sigma": fitted_sd, "exact_mean": mean, "exact_sd": sd}
    if verbose:
        print(f"compiled in {compiled:.1f} s; {steps} steps in {seconds:.2f} s")
        print(f"ELBO: {first:.1f} at the start, {last:.1f} after SVI")
        print("posterior mean  exact:", np.array2string(mean, precision=3))
        print("                SVI:  ", np.array2string(result["mu"], precision=3))
        print("posterior sd    exact:", np.array2string(sd, precision=4))
        print("                SVI:  ", np.array2string(fitted_sd, precision=4))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--small", action="store_true", help="a quick run")
    parser.add_argument("--mode", default=None, help="python, numba (default: the config's)")
    args = parser.parse_args(argv)
    if args.mode:
        theano.config.mode = args.mode
    run(steps=400 if args.small else args.steps)


if __name__ == "__main__":
    main()
