"""The finite-difference gradient check: ``verify_grad`` and ``GradientError``.

Above ``grad`` and ``function`` (it compiles the cost and its gradient), so it
is its own module rather than a part of grad.py.
"""
import numpy as np

from .late import tensor as T
from .compile.function import function
from .grad import grad
from .types import is_float


class GradientError(AssertionError):
    """The symbolic gradient disagrees with finite differences."""

    def __init__(self, input_index, input_name, analytic, numeric, abs_err, rel_err, tol):
        self.input_index, self.input_name = input_index, input_name
        self.analytic, self.numeric = analytic, numeric
        self.abs_err, self.rel_err, self.tol = abs_err, rel_err, tol
        super().__init__(
            f"verify_grad: the gradient for input {input_index} ({input_name}) disagrees with "
            f"finite differences along a random direction: analytic {analytic!r}, numeric "
            f"{numeric!r}, abs error {abs_err:.3g}, rel error {rel_err:.3g} (tolerance {tol:.3g})")


# (finite-difference step, tolerance) by the least precise float dtype involved
_DEFAULTS = {"float64": (1e-7, 1e-4), "float32": (1e-3, 2e-2)}


def verify_grad(fn, points, rng=None, eps=None, tol=None, mode="python"):
    """Check the symbolic gradient of ``fn`` at ``points`` against central differences.

    ``fn`` takes one symbolic input per point and returns a symbolic scalar or
    tensor (a tensor is projected onto a fixed random tensor).  For each float
    input, the derivative along a random direction from ``grad`` is compared with
    ``(f(x + eps d) - f(x - eps d)) / (2 eps)``.  Raises GradientError on mismatch.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    points = [np.asarray(p) for p in points]
    inputs = [T.tensor(str(p.dtype), tuple(n == 1 for n in p.shape), name=f"input{k}")
              for k, p in enumerate(points)]
    differentiable = [k for k, p in enumerate(points) if is_float(p.dtype)]
    if not differentiable:
        raise TypeError("verify_grad: none of the points is a float array")
    out = T.as_tensor_variable(fn(*inputs))
    if not is_float(out.dtype):
        raise TypeError(f"verify_grad: fn must return a float result, got {out.dtype}")
    least = "float32" if "float32" in [out.dtype] + [points[k].dtype for k in differentiable] \
        else "float64"
    eps = _DEFAULTS[least][0] if eps is None else eps
    tol = _DEFAULTS[least][1] if tol is None else tol

    cost = out
    if out.ndim:
        shape = np.shape(function(inputs, out, mode=mode, on_unused_input="ignore")(*points))
        projection = T.constant(rng.standard_normal(shape).astype(out.dtype))
        cost = (out * projection).sum()
    f_cost = function(inputs, cost, mode=mode, on_unused_input="ignore")
    grads = grad(cost, [inputs[k] for k in differentiable], disconnected_inputs="ignore")
    analytic_grads = function(inputs, grads, mode=mode, on_unused_input="ignore")(*points)
    tiny = np.finfo(least).eps

    for k, g in zip(differentiable, analytic_grads):
        p = points[k]
        direction = rng.standard_normal(p.shape)
        # perturbed points rounded to the input dtype; the step actually taken is
        # their difference, so rounding does not count as gradient error
        plus, minus = (p + eps * direction).astype(p.dtype), (p - eps * direction).astype(p.dtype)
        step = plus.astype("float64") - minus.astype("float64")
        f_plus = float(f_cost(*[plus if j == k else q for j, q in enumerate(points)]))
        f_minus = float(f_cost(*[minus if j == k else q for j, q in enumerate(points)]))
        numeric = (f_plus - f_minus) / (2 * eps)
        analytic = float(np.sum(np.asarray(g, "float64") * step)) / (2 * eps)
        abs_err = abs(analytic - numeric)
        # errors are measured against the size of the gradient (|g| |d|, which a
        # directional derivative can fall far below by cancellation), plus the
        # rounding noise of the two cost values amplified by the division
        scale = max(abs(analytic), abs(numeric),
                    float(np.linalg.norm(g) * np.linalg.norm(step)) / (2 * eps))
        rel_err = abs_err / scale if scale else 0.0
        noise = 10 * tiny * max(abs(f_plus), abs(f_minus)) / (2 * eps)
        if not np.isfinite(analytic) or abs_err > tol * scale + noise:
            name = getattr(inputs[k], "name", None)
            raise GradientError(k, name, analytic, numeric, abs_err, rel_err, tol)

