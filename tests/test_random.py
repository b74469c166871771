"""RandomStreams: draws inside the graph from Philox-4x32-10 (ops/random.py),
bit-identical between the reference and the compiled program, advanced by
default updates, with the distributions they claim."""
import math

import numpy as np
import pytest
import scipy.stats

import symgraph as sg
import symgraph.tensor as T
from symgraph.ops import random as rnd
from symgraph.ops.random import RandomDraw

MODES = ["python", "numba"]


# ------------------------------------------------------------------ the generator
# Random123's known-answer vectors for Philox-4x32-10: counter, key, block
KNOWN = [((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
         ((0xffffffff,) * 4, (0xffffffff,) * 2, (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
         ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
          (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1))]


def _u64(*words):
    return [np.uint64(w) for w in words]


@pytest.mark.parametrize("counter,key,block", KNOWN)
def test_philox_known_answers(counter, key, block):
    from symgraph.compile.numba_cpu import runtime_random
    numpy_block = rnd.philox4x32(*_u64(*counter), *_u64(*key))
    numba_block = runtime_random._philox(*_u64(*counter), *_u64(*key))
    assert [int(w) for w in numpy_block] == list(block)
    assert [int(w) for w in numba_block] == list(block)


def test_counter_addition_carries_the_same_in_numpy_and_numba():
    from symgraph.compile.numba_cpu import runtime_random
    cases = [((0, 0, 0, 0), 5), ((0xffffffff, 0xffffffff, 0, 0), 1),
             ((0xfffffffe, 0xffffffff, 0xffffffff, 7), 3), ((1, 2, 3, 4), (1 << 64) - 1),
             ((0xffffffff,) * 4, 1)]
    for counter, i in cases:
        want = sum(w << (32 * k) for k, w in enumerate(counter)) + i
        want = [(want >> (32 * k)) & 0xffffffff for k in range(4)]
        got_numpy = rnd.add_counter(*_u64(*counter), np.array([i], dtype=np.uint64))
        got_numba = runtime_random._add_counter(*_u64(*counter), np.uint64(i))
        assert [int(w[0]) for w in got_numpy] == want
        assert [int(w) for w in got_numba] == want
        assert rnd.advance(np.array([9, 9, *counter], np.uint32), i).tolist() == \
            [9, 9] + [w for w in want]


def test_element_i_is_the_first_element_of_the_draw_at_counter_plus_i():
    """The element index alone picks the block: no dependence on chunks or threads."""
    state = rnd.seeded_state(7, 3)
    for kind, dtype in [("uniform", "float64"), ("uniform", "float32"), ("normal", "float64")]:
        whole = rnd.draw(kind, dtype, state, (4, 5)).ravel()
        for i in (0, 6, 19):
            alone = rnd.draw(kind, dtype, rnd.advance(state, i), (1,))
            assert alone[0] == whole[i]


def test_uniform_values_are_exact_multiples_of_their_bits():
    state = rnd.seeded_state(1)
    u64 = rnd.draw("uniform", "float64", state, (1000,))
    u32 = rnd.draw("uniform", "float32", state, (1000,))
    assert u64.dtype == np.float64 and u32.dtype == np.float32
    assert np.all((u64 >= 0) & (u64 < 1)) and np.all((u32 >= 0) & (u32 < 1))
    assert np.array_equal(u64 * 2.0 ** 53, np.floor(u64 * 2.0 ** 53))
    assert np.array_equal(u32.astype(np.float64) * 2.0 ** 24, np.floor(u32 * 2.0 ** 24))


# ------------------------------------------------------------------ the classic program
@pytest.mark.parametrize("mode", MODES)
def test_the_classic_random_program(mode):
    from symgraph.tensor.shared_randomstreams import RandomStreams
    from symgraph import function
    with sg.config.change(mode=mode):
        # ---- Theano's tutorial, verbatim apart from the imports
        srng = RandomStreams(seed=234)
        rv_u = srng.uniform((2, 2))
        rv_n = srng.normal((2, 2))
        f = function([], rv_u)
        g = function([], rv_n, no_default_updates=True)    # Not updating rv_n.rng
        nearly_zeros = function([], rv_u + rv_u - 2 * rv_u)

        f_val0 = f()
        f_val1 = f()  # different numbers from f_val0
        g_val0 = g()  # different numbers from f_val0 and f_val1
        g_val1 = g()  # same numbers as g_val0!

        rng_val = rv_u.rng.get_value(borrow=True)   # Get the rng for rv_u
        rng_val.seed(89234)                         # seeds the generator
        rv_u.rng.set_value(rng_val, borrow=True)    # Assign back seeded rng

        srng.seed(902340)  # seeds rv_u and rv_n with different seeds each

        state_after_v0 = rv_u.rng.get_value().get_state()
        nearly_zeros()       # this affects rv_u's generator
        v1 = f()
        rng = rv_u.rng.get_value(borrow=True)
        rng.set_state(state_after_v0)
        rv_u.rng.set_value(rng, borrow=True)
        v2 = f()             # v2 != v1
        v3 = f()             # v3 == v1
        # ---- end of the tutorial
        before = rv_u.rng.get_value().get_state()
        zeros = nearly_zeros()
        after = rv_u.rng.get_value().get_state()

    assert f_val0.shape == (2, 2) and f_val0.dtype == sg.config.floatX
    assert not np.array_equal(f_val0, f_val1)
    assert not np.array_equal(g_val0, f_val0) and not np.array_equal(g_val0, f_val1)
    assert np.array_equal(g_val0, g_val1)
    assert zeros.shape == (2, 2) and np.all(zeros == 0)
    assert after.tolist() == rnd.advance(before, 4).tolist()
    assert not np.array_equal(v2, v1) and np.array_equal(v3, v1)
    # the first draws are the generator's own, whichever backend made them
    state = rnd.seeded_state(234, 0)
    assert np.array_equal(f_val0, rnd.draw("uniform", "float64", state, (2, 2)))
    assert np.array_equal(f_val1, rnd.draw("uniform", "float64", rnd.advance(state, 4), (2, 2)))
    assert np.array_equal(g_val0, rnd.draw("normal", "float64", rnd.seeded_state(234, 1), (2, 2)))
    # reseeding: each stream from the new seed and its number, so they differ
    assert [s for s, _ in srng.state_updates] == [rv_u.rng, rv_n.rng]
    keys = [rv.rng.get_value().get_state()[:2].tolist() for rv in (rv_u, rv_n)]
    assert keys == [rnd.seeded_state(902340, k)[:2].tolist() for k in range(2)]
    assert keys[0] != keys[1]


# ------------------------------------------------------------------ python == numba, bit for bit
def _every_distribution(srng, x, n):
    return [srng.uniform((3, 4)),
            srng.uniform((5,), low=-2.0, high=3.0, dtype="float32"),
            srng.uniform(x.shape, dtype="float32"),
            srng.normal((40, 50)),
            srng.normal((7, 3), avg=1.5, std=0.5, dtype="float32"),
            srng.uniform((n,), low=x.sum(), high=4.0),
            srng.binomial((6,), n=3, p=0.3),
            srng.binomial((2, 3), p=0.8, dtype="int8"),
            srng.random_integers((10,), low=-3, high=4),
            srng.choice((4,), a=5),
            srng.choice((2, 2), a=5, p=[0.1, 0.2, 0.3, 0.2, 0.2]),
            srng.choice((3,), a=6, replace=False),
            srng.choice((3,), a=T.constant(np.array([10.0, 20.0, 30.0])), replace=True),
            srng.permutation((2,), n=5),
            srng.multinomial((4,), n=6, pvals=[0.2, 0.3, 0.5])]


def test_draws_are_bit_identical_between_python_and_numba():
    from symgraph.tensor.shared_randomstreams import RandomStreams
    srng = RandomStreams(seed=42)
    x, n = T.dmatrix("x"), T.lscalar("n")
    outs = _every_distribution(srng, x, n)
    xv = np.full((2, 3), 0.25)
    results = {}
    for mode in MODES:
        f = sg.function([x, n], outs, mode=mode)
        srng.seed(42)
        calls = [f(xv, 4), f(xv, 2)]
        results[mode] = calls, [s.get_value().get_state() for s, _ in srng.state_updates]
        with pytest.raises(ValueError, match="negative size"):
            f(xv, -1)
    (calls_py, states_py), (calls_nb, states_nb) = results["python"], results["numba"]
    for call_py, call_nb in zip(calls_py, calls_nb):
        for k, (a, b) in enumerate(zip(call_py, call_nb)):
            assert a.dtype == b.dtype and a.shape == b.shape, k
            assert np.array_equal(a, b), f"draw {k} differs: {a} vs {b}"
    for a, b in zip(states_py, states_nb):
        assert np.array_equal(a, b)
    first, second = calls_py
    assert first[2].shape == (2, 3) and first[2].dtype == np.float32
    assert first[5].shape == (4,) and second[5].shape == (2,)
    assert np.all((first[5] >= 1.5) & (first[5] < 4.0))
    assert not np.array_equal(first[0], second[0])
    assert first[7].dtype == np.int8 and set(np.unique(first[7])) <= {0, 1}
    assert np.all((first[8] >= -3) & (first[8] <= 4))
    assert sorted(first[11].tolist()) == sorted(set(first[11].tolist()))
    assert set(first[12].tolist()) <= {10.0, 20.0, 30.0}
    assert all(sorted(row) == list(range(5)) for row in first[13].tolist())
    assert first[14].shape == (4, 3) and np.all(first[14].sum(axis=1) == 6)


# ------------------------------------------------------------------ graph semantics
def test_a_draw_is_taken_once_per_call_and_two_draws_are_never_merged():
    from symgraph.tensor.shared_randomstreams import RandomStreams
    srng = RandomStreams(seed=5)
    a, b = srng.uniform((3,)), srng.uniform((3,))
    f = sg.function([], [a, 2 * a, b, a * 0], mode="python")
    before = a.rng.get_value().get_state()
    va, va2, vb, zero = f()
    assert np.array_equal(va2, 2 * va) and not np.array_equal(va, vb) and np.all(zero == 0)
    assert not np.array_equal(a.rng.get_value().get_state(), before)
    draws = [n for n in f.graph.toposort() if isinstance(n.op, RandomDraw)]
    assert len(draws) == 2
    # a function whose outputs do not read the draw still advances it (its update does)
    g = sg.function([], a * 0 + 1, mode="python")
    before = a.rng.get_value().get_state()
    assert np.all(g() == 1)
    assert rnd.advance(before, 3).tolist() == a.rng.get_value().get_state().tolist()
    # the optimizer never folds a draw: its state is not a constant
    assert any(isinstance(n.op, RandomDraw) for n in sg.graph.toposort([sg.optimize(b)]))


@pytest.mark.parametrize("mode", MODES)
def test_a_draw_made_inside_scan_is_new_at_every_step(mode):
    """As in Theano, scan returns the update of a stream that fn made, so the
    loop draws at every step; a draw made outside is one value for the loop."""
    srng = sg.RandomStreams(seed=1)
    v = T.dvector("v")
    outside = srng.uniform(())
    out, updates = sg.scan(lambda x: x + srng.uniform(()) + 10 * outside, sequences=[v])
    inside = srng.state_updates[1][0]
    assert list(updates) == [inside]
    f = sg.function([v], out, updates=updates, mode=mode)
    got = [f(np.zeros(4)), f(np.zeros(4))]
    for call, values in enumerate(got):
        u0 = rnd.draw("uniform", "float64", rnd.advance(rnd.seeded_state(1, 0), call), ())
        steps = [rnd.draw("uniform", "float64", rnd.advance(rnd.seeded_state(1, 1), 4 * call + t),
                          ()) for t in range(4)]
        assert values.tolist() == [s + 10 * u0 for s in steps]
    assert inside.get_value().get_state().tolist() == rnd.advance(rnd.seeded_state(1, 1), 8).tolist()


def test_theano_paths_and_state_values():
    import symgraph.sandbox.rng_mrg as rng_mrg
    import symgraph.tensor.shared_randomstreams as shared_randomstreams
    assert sg.RandomStreams is shared_randomstreams.RandomStreams
    mrg = rng_mrg.MRG_RandomStreams(seed=3)
    u = mrg.uniform((2,), nstreams=4)
    counts = mrg.multinomial(n=3, pvals=np.array([[0.5, 0.5], [0.1, 0.9]]))
    out, cnt = sg.function([], [u, counts], mode="python")()
    assert out.shape == (2,) and cnt.shape == (2, 2) and np.all(cnt.sum(axis=1) == 3)
    value = u.rng.get_value()
    saved = value.get_state()
    assert saved.dtype == np.uint32 and saved.shape == (6,)
    with pytest.raises(ValueError, match="6 unsigned 32-bit words"):
        u.rng.set_value(np.zeros(3, dtype=np.uint32))
    with pytest.raises(ValueError, match="ndim"):
        mrg.uniform(T.lvector("size"))
    assert mrg.uniform(T.lvector("size"), ndim=2).ndim == 2
    with pytest.raises(TypeError, match="dtype"):
        mrg.normal((2,), dtype="int32")


# ------------------------------------------------------------------ the distributions
@pytest.fixture(scope="module")
def samples():
    """Large draws at fixed seeds, through the reference (the test above ties it
    to the compiled program bit for bit)."""
    srng = sg.RandomStreams(seed=2024)
    outs = [srng.uniform((20000,)), srng.uniform((20000,), dtype="float32"),
            srng.normal((20000,)), srng.normal((20000,), avg=2.0, std=3.0, dtype="float32"),
            srng.binomial((20000,), n=4, p=0.3), srng.random_integers((20000,), low=-2, high=3),
            srng.choice((20000,), a=4, p=[0.1, 0.2, 0.3, 0.4]),
            srng.multinomial((5000,), n=5, pvals=[0.2, 0.3, 0.5]),
            srng.permutation((6000,), n=4)]
    return sg.function([], outs, mode="python")()


def _chi_square_ok(observed, expected):
    return scipy.stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > 1e-3


def test_continuous_distributions_pass_kolmogorov_smirnov(samples):
    u64, u32, z, z32 = samples[:4]
    assert scipy.stats.kstest(u64, "uniform").pvalue > 1e-3
    assert scipy.stats.kstest(u32.astype(np.float64), "uniform").pvalue > 1e-3
    assert scipy.stats.kstest(z, "norm").pvalue > 1e-3
    assert scipy.stats.kstest(z32.astype(np.float64), "norm", args=(2.0, 3.0)).pvalue > 1e-3
    # a test that can fail: the uniforms are not normal
    assert scipy.stats.kstest(u64, "norm").pvalue < 1e-3


def test_discrete_distributions_pass_chi_square(samples):
    binom, ints, choice, multi, perm = samples[4:]
    k = np.arange(5)
    assert _chi_square_ok(np.bincount(binom, minlength=5), scipy.stats.binom.pmf(k, 4, 0.3))
    assert ints.min() == -2 and ints.max() == 3
    assert _chi_square_ok(np.bincount(ints + 2, minlength=6), np.ones(6))
    assert _chi_square_ok(np.bincount(choice, minlength=4), np.array([0.1, 0.2, 0.3, 0.4]))
    assert np.all(multi.sum(axis=1) == 5)
    assert _chi_square_ok(multi.sum(axis=0), np.array([0.2, 0.3, 0.5]))
    first = [np.bincount(multi[:, c], minlength=6) for c in range(3)]
    assert _chi_square_ok(first[2], scipy.stats.binom.pmf(np.arange(6), 5, 0.5))
    assert np.all(np.sort(perm, axis=1) == np.arange(4))
    orders = perm @ np.array([64, 16, 4, 1])
    assert _chi_square_ok(np.unique(orders, return_counts=True)[1], np.ones(math.factorial(4)))
    # a test that can fail: the binomial counts are not uniform
    assert not _chi_square_ok(np.bincount(binom, minlength=5), np.ones(5))
