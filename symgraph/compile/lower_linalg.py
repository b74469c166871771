"""The linear-algebra ops (ops/linalg.py) as Numba's LAPACK-backed NumPy calls
(np.linalg.inv, det, cholesky, solve).  A failing call (a singular matrix, one
that is not positive definite) raises LinAlgError inside the program; the
caller then runs the reference to name the node and the user's line."""
from ..ops.linalg import Cholesky, Det, MatrixInverse, Solve
from .codegen import Array, np_dtype, registrar

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)


def _operand(cg, ref, dtype):
    """Source text of ``ref`` as an array of ``dtype`` that LAPACK accepts."""
    arr = cg.as_array(ref)
    text = arr.name
    if arr.dtype != dtype:
        text = f"{text}.astype({np_dtype(dtype)})"
    elif arr.layout not in ("C", "F"):
        text = f"np.ascontiguousarray({text})"
    return arr, text


def _square(cg, a):
    cg.check_same(a.dim(0), a.dim(1), "ValueError", "the matrix must be square")


def _result(cg, expr, var, dims):
    name = cg.fresh("la")
    cg.emit(f"{name} = {expr}")
    # LAPACK's results come back in Fortran order
    return Array(name, var.dtype, var.ndim, owned=True, layout="A", dims=dims)


@register(MatrixInverse, Cholesky)
def lower_square_factor(cg, node, refs):
    out = node.outputs[0]
    a, text = _operand(cg, refs[0], out.dtype)
    _square(cg, a)
    fn = "inv" if isinstance(node.op, MatrixInverse) else "cholesky"
    return [_result(cg, f"np.linalg.{fn}({text})", out, [a.dim(0), a.dim(0)])]


@register(Det)
def lower_det(cg, node, refs):
    out = node.outputs[0]
    a, text = _operand(cg, refs[0], out.dtype)
    _square(cg, a)
    return [cg.assign(f"np.linalg.det({text})", out.dtype)]


@register(Solve)
def lower_solve(cg, node, refs):
    out = node.outputs[0]
    a, a_text = _operand(cg, refs[0], out.dtype)
    b, b_text = _operand(cg, refs[1], out.dtype)
    _square(cg, a)
    cg.check_same(a.dim(0), b.dim(0), "ValueError", "a and b have different numbers of rows")
    return [_result(cg, f"np.linalg.solve({a_text}, {b_text})", out,
                    [a.dim(1)] + [b.dim(k) for k in range(1, b.ndim)])]
