"""Helpers the generated programs import: intrinsics and a few small njit
functions, all compiled into the caller (Numba links the latter into the
program's library), so a program caches whole.

Why huge pages: NumPy asks the kernel for transparent huge pages when it
allocates a large array; Numba's allocator does not, and filling a fresh
80 MB array then costs five times as long (page faults).  The program calls
``advise_huge`` on every large array it allocates.
"""
import math

import numpy as np

from llvmlite import ir
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic

# arrays at least this large (bytes) are backed by huge pages where the kernel allows
HUGE_BYTES = 1 << 22
_MADV_HUGEPAGE = 14
_PAGE = 4096


@intrinsic
def advise_huge(typingctx, array):
    """madvise(MADV_HUGEPAGE) on the whole pages of a C-contiguous array of at
    least HUGE_BYTES."""
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        (aryty,), (value,) = signature.args, args
        ary = context.make_array(aryty)(context, builder, value=value)
        i64 = ir.IntType(64)
        addr = builder.ptrtoint(ary.data, i64)
        size = builder.mul(builder.sext(ary.nitems, i64), builder.sext(ary.itemsize, i64))
        start = builder.and_(builder.add(addr, ir.Constant(i64, _PAGE - 1)),
                             ir.Constant(i64, ~(_PAGE - 1)))
        end = builder.and_(builder.add(addr, size), ir.Constant(i64, ~(_PAGE - 1)))
        length = builder.sub(end, start)
        large = builder.icmp_signed(">=", size, ir.Constant(i64, HUGE_BYTES))
        fnty = ir.FunctionType(ir.IntType(32), [ir.IntType(8).as_pointer(), i64, ir.IntType(32)])
        madvise = cgutils.get_or_insert_function(builder.module, fnty, "madvise")
        whole_pages = builder.icmp_signed(">=", length, ir.Constant(i64, _PAGE))
        with builder.if_then(builder.and_(large, whole_pages)):
            builder.call(madvise, [builder.inttoptr(start, ir.IntType(8).as_pointer()), length,
                                   ir.Constant(ir.IntType(32), _MADV_HUGEPAGE)])
        return context.get_dummy_value()

    return types.none(array), codegen


@njit(cache=True, nogil=True)
def recycled(buffer, shape):
    """An array of ``shape``: the flat ``buffer`` (a dropped result the caller
    hands back, recycle.py) when its size fits, else a new one."""
    size = 1
    for d in shape:
        size *= d
    if buffer.size == size and size > 0:
        return buffer.reshape(shape)
    out = np.empty(shape, buffer.dtype)
    advise_huge(out)
    return out


# --------------------------------------------------------------------- BLAS
# Matrix products call BLAS through Numba's own C helpers (numba_xxgemm,
# numba_xxgemv: SciPy's BLAS), so programs using them stay cacheable.  The
# layout is read from the strides at run time: one compiled program serves C-
# and Fortran-ordered operands.  Both return a status instead of raising:
#   0 done, 1 / 2 the first / second operand is not contiguous, 3 ``out`` is not.

def _blas_dtype(*tys):
    if not all(isinstance(t, types.Array) for t in tys) or len({t.dtype for t in tys}) != 1:
        return None
    return tys[0].dtype if tys[0].dtype in (types.float32, types.float64) else None


class _Matrix:
    """Shape, strides and contiguity of a 1-d or 2-d array inside an intrinsic."""

    def __init__(self, context, builder, ty, value):
        ary = context.make_array(ty)(context, builder, value=value)
        self.builder, self.ndim = builder, ty.ndim
        self.data = builder.bitcast(ary.data, ir.IntType(8).as_pointer())
        self.shape = cgutils.unpack_tuple(builder, ary.shape, ty.ndim)
        self.strides = cgutils.unpack_tuple(builder, ary.strides, ty.ndim)
        self.itemsize = ir.Constant(self.shape[0].type, context.get_abi_sizeof(
            context.get_data_type(ty.dtype)))

    def _dense(self, inner, outer):
        b, one = self.builder, ir.Constant(self.shape[0].type, 1)
        d_in, d_out = self.shape[inner], self.shape[outer]
        ok_in = b.or_(b.icmp_signed("==", self.strides[inner], self.itemsize),
                      b.icmp_signed("<=", d_in, one))
        ok_out = b.or_(b.icmp_signed("==", self.strides[outer], b.mul(self.itemsize, d_in)),
                       b.icmp_signed("<=", d_out, one))
        return b.and_(ok_in, ok_out)

    def c_order(self):
        if self.ndim == 2:
            return self._dense(1, 0)
        b = self.builder
        return b.or_(b.icmp_signed("==", self.strides[0], self.itemsize),
                     b.icmp_signed("<=", self.shape[0], ir.Constant(self.shape[0].type, 1)))

    def f_order(self):
        return self._dense(0, 1)

    def ld(self, c_order):
        """The leading dimension when read in C order (else Fortran order)."""
        b, one = self.builder, ir.Constant(self.shape[0].type, 1)
        d = b.select(c_order, self.shape[1], self.shape[0])
        return b.select(b.icmp_signed(">", d, one), d, one)


def _status(builder, checks):
    """0 when every check holds, else the code of the first failing one."""
    status = ir.Constant(ir.IntType(32), 0)
    for code, ok in reversed(checks):
        status = builder.select(ok, status, ir.Constant(ir.IntType(32), code))
    return status


def _slot(context, builder, value, fromty, dtype):
    return builder.bitcast(cgutils.alloca_once_value(
        builder, context.cast(builder, value, fromty, dtype)), ir.IntType(8).as_pointer())


@intrinsic
def matmul(typingctx, a, b, out, alpha, beta):
    """out = alpha * a @ b + beta * out for matrices, in place (xGEMM)."""
    dtype = _blas_dtype(a, b, out)
    if dtype is None or not (a.ndim == b.ndim == out.ndim == 2):
        return None
    from numba.np import linalg  # late: typing time, where BLAS is used
    linalg.ensure_blas()

    def codegen(context, builder, signature, args):
        A, B, C = (_Matrix(context, builder, t, v) for t, v in zip(signature.args[:3], args[:3]))
        m, k, n = A.shape[0], A.shape[1], B.shape[1]
        a_c, b_c, c_c = A.c_order(), B.c_order(), C.c_order()
        a_f, b_f, c_f = A.f_order(), B.f_order(), C.f_order()
        status = _status(builder, [(3, builder.or_(c_c, c_f)), (1, builder.or_(a_c, a_f)),
                                   (2, builder.or_(b_c, b_f))])
        char = ir.IntType(8)
        voidp = ir.IntType(8).as_pointer()
        intp = m.type
        fnty = ir.FunctionType(ir.IntType(32), [char, char, char, intp, intp, intp, voidp, voidp,
                                                intp, voidp, intp, voidp, voidp, intp])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        kind = ir.Constant(char, ord(linalg.get_blas_kind(dtype)))
        alpha_p = _slot(context, builder, args[3], signature.args[3], dtype)
        beta_p = _slot(context, builder, args[4], signature.args[4], dtype)
        n_t = [ir.Constant(char, ord("n")), ir.Constant(char, ord("t"))]

        def trans(same):
            return builder.select(same, n_t[0], n_t[1])

        with builder.if_then(builder.icmp_signed("==", status, ir.Constant(ir.IntType(32), 0))):
            with builder.if_else(c_c) as (row_major, col_major):
                with row_major:
                    # a row-major C is the column-major C.T = B.T @ A.T
                    res = builder.call(fn, (kind, trans(b_c), trans(a_c), n, m, k, alpha_p,
                                            B.data, B.ld(b_c), A.data, A.ld(a_c), beta_p,
                                            C.data, C.ld(c_c)))
                    linalg.check_blas_return(context, builder, res)
                with col_major:
                    not_a, not_b = builder.not_(a_f), builder.not_(b_f)
                    res = builder.call(fn, (kind, trans(a_f), trans(b_f), m, n, k, alpha_p,
                                            A.data, A.ld(not_a), B.data, B.ld(not_b), beta_p,
                                            C.data, C.ld(builder.not_(c_f))))
                    linalg.check_blas_return(context, builder, res)
        return status

    return types.int32(a, b, out, alpha, beta), codegen


# A product with a small result and a long inner dimension, such as an MLP's
# first layer on bag-of-words input (W1: 20 x 14k, x: 14k x 5), is bound by
# reading its operands, and BLAS first copies all of W1 into packed panels.
# Bag-of-words and one-hot inputs are mostly zero rows; like reference BLAS,
# which skips the zero entries of its second operand, this loop reads only the
# columns of ``a`` that meet a nonzero row of ``b``.  It is used when at most a
# quarter of b's rows are nonzero (found with an early exit, so a dense ``b``
# costs a short scan before the BLAS call).
SKINNY_RESULT = 256     # at most this many result elements
SKINNY_INNER = 1024     # and at least this long an inner dimension


@njit(cache=True, nogil=True)
def _nonzero_rows(b, limit):
    """(indices of the rows of b with a nonzero entry, True), or (_, False) when
    there are more than ``limit``."""
    rows = np.empty(limit, np.int64)
    count = 0
    for k in range(b.shape[0]):
        for c in range(b.shape[1]):
            if b[k, c] != 0:
                if count == limit:
                    return rows[:0], False
                rows[count] = k
                count += 1
                break
    return rows[:count], True


@njit(cache=True, nogil=True)
def skinny_matmul(a, b, out, alpha, beta):
    """out = alpha * a @ b + beta * out when the product is skinny and b mostly
    zero rows; False (nothing done) otherwise, for the caller to call BLAS."""
    m, inner = a.shape
    n = b.shape[1]
    if m * n > SKINNY_RESULT or inner < SKINNY_INNER:
        return False
    rows, few = _nonzero_rows(b, inner // 4)
    if not few:
        return False
    acc = np.zeros((m, n), out.dtype)
    for k in rows:
        for i in range(m):
            v = a[i, k]
            for c in range(n):
                acc[i, c] += v * b[k, c]
    for i in range(m):
        for c in range(n):
            # beta = 0 ignores what out held, NaN included, as BLAS does
            out[i, c] = alpha * acc[i, c] + (beta * out[i, c] if beta != 0 else 0)
    return True


@intrinsic
def matvec(typingctx, a, x, out, alpha, beta, transpose):
    """out = alpha * op(a) @ x + beta * out (xGEMV); op(a) is a.T when ``transpose``."""
    dtype = _blas_dtype(a, x, out)
    if dtype is None or not (a.ndim == 2 and x.ndim == out.ndim == 1) or \
            not isinstance(transpose, types.Boolean):
        return None
    from numba.np import linalg  # late: typing time, where BLAS is used
    linalg.ensure_blas()

    def codegen(context, builder, signature, args):
        A, X, Y = (_Matrix(context, builder, t, v) for t, v in zip(signature.args[:3], args[:3]))
        a_c, a_f = A.c_order(), A.f_order()
        status = _status(builder, [(3, Y.c_order()), (1, builder.or_(a_c, a_f)), (2, X.c_order())])
        char = ir.IntType(8)
        voidp = ir.IntType(8).as_pointer()
        intp = A.shape[0].type
        fnty = ir.FunctionType(ir.IntType(32), [char, char, intp, intp, voidp, voidp, intp,
                                                voidp, voidp, voidp])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemv")
        kind = ir.Constant(char, ord(linalg.get_blas_kind(dtype)))
        alpha_p = _slot(context, builder, args[3], signature.args[3], dtype)
        beta_p = _slot(context, builder, args[4], signature.args[4], dtype)
        # BLAS sees a column-major matrix: a itself when Fortran-ordered, else a.T
        col = builder.not_(a_c)
        rows = builder.select(col, A.shape[0], A.shape[1])
        cols = builder.select(col, A.shape[1], A.shape[0])
        flip = builder.xor(col, args[5])   # transpose what BLAS sees?
        trans = builder.select(flip, ir.Constant(char, ord("n")), ir.Constant(char, ord("t")))
        with builder.if_then(builder.icmp_signed("==", status, ir.Constant(ir.IntType(32), 0))):
            res = builder.call(fn, (kind, trans, rows, cols, alpha_p, A.data, A.ld(a_c),
                                    X.data, beta_p, Y.data))
            linalg.check_blas_return(context, builder, res)
        return status

    return types.int32(a, x, out, alpha, beta, transpose), codegen


# --------------------------------------------------------------------- fast exp
# Numba calls libm's exp and tanh one element at a time (3 ns and 8 ns here);
# NumPy's own loops are SIMD (0.6 ns).  These are plain arithmetic, emitted as
# LLVM IR into the caller, so LLVM vectorizes the loops that use them, and
# nothing extra is compiled.  They stay within about 1 ulp: the argument is
# reduced to x = k ln2 + r, |r| <= ln2/2, where a degree-13 Taylor polynomial
# is off by less than 2e-16, and 2 ** k comes from the bits of a double.

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01    # ln 2 split so that k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_TAYLOR = [1.0 / math.factorial(n) for n in range(1, 14)]


class _Float:
    """Double-precision arithmetic on an IR builder, written like Python."""

    def __init__(self, builder):
        self.b = builder
        self.double = ir.DoubleType()

    def c(self, value):
        return ir.Constant(self.double, value)

    def call(self, name, *args):
        fn = self.b.module.declare_intrinsic(name, [self.double])
        return self.b.call(fn, list(args))

    def clamp(self, x, lo, hi):
        b = self.b
        x = b.select(b.fcmp_ordered("<", x, self.c(lo)), self.c(lo), x)
        return b.select(b.fcmp_ordered(">", x, self.c(hi)), self.c(hi), x)

    def nan_through(self, x, value):
        """``value``, or x itself when x is NaN."""
        return self.b.select(self.b.fcmp_unordered("uno", x, x), x, value)

    def pow2(self, k):
        """2.0 ** k for an i64 k in [-1022, 1023]."""
        i64 = ir.IntType(64)
        bits = self.b.shl(self.b.add(k, ir.Constant(i64, 1023)), ir.Constant(i64, 52))
        return self.b.bitcast(bits, self.double)

    def expm1_parts(self, x):
        """(a, b, q): exp(x) = (1 + q) * a * b for x in [-746, 710].  Two powers of
        two, applied one after the other: 2 ** k alone may overflow or underflow
        where exp(x) does not."""
        b = self.b
        k = self.call("llvm.floor", b.fadd(b.fmul(x, self.c(_LOG2E)), self.c(0.5)))
        r = b.fsub(b.fsub(x, b.fmul(k, self.c(_LN2_HI))), b.fmul(k, self.c(_LN2_LO)))
        q = self.c(_TAYLOR[-1])
        for coef in reversed(_TAYLOR[:-1]):          # Horner: r (1 + r (1/2 + r (...)))
            q = b.fadd(self.c(coef), b.fmul(r, q))
        q = b.fmul(r, q)
        ki = b.fptosi(k, ir.IntType(64))
        half = b.ashr(ki, ir.Constant(ir.IntType(64), 1))
        return self.pow2(half), self.pow2(b.sub(ki, half)), q

    def scale(self, v, a, bb):
        return self.b.fmul(self.b.fmul(v, a), bb)


def _unary(body):
    """An intrinsic of one float64 argument computed by ``body(_Float, x)``."""
    def typer(typingctx, x):
        if not isinstance(x, types.Float):
            return None

        def codegen(context, builder, signature, args):
            value = context.cast(builder, args[0], signature.args[0], types.float64)
            return body(_Float(builder), value)
        return types.float64(x), codegen
    typer.__name__ = body.__name__
    return intrinsic(typer)


@_unary
def exp(f, x):
    a, b, q = f.expm1_parts(f.clamp(x, -746.0, 710.0))
    return f.nan_through(x, f.scale(f.b.fadd(f.c(1.0), q), a, b))


@_unary
def expm1(f, x):
    y = f.clamp(x, -746.0, 710.0)
    a, b, q = f.expm1_parts(y)
    bld = f.b
    # q s + (s - 1) is exact near 0; for large x, where s overflows, expm1 = exp
    small = bld.fadd(f.scale(q, a, b), bld.fsub(bld.fmul(a, b), f.c(1.0)))
    large = f.scale(bld.fadd(f.c(1.0), q), a, b)
    return f.nan_through(x, bld.select(bld.fcmp_ordered("<", y, f.c(700.0)), small, large))


@_unary
def tanh(f, x):
    bld = f.b
    m = f.clamp(f.call("llvm.fabs", x), 0.0, 40.0)
    a, b, q = f.expm1_parts(bld.fmul(f.c(-2.0), m))
    e = bld.fadd(f.scale(q, a, b), bld.fsub(bld.fmul(a, b), f.c(1.0)))   # expm1(-2|x|)
    t = bld.fdiv(bld.fsub(f.c(0.0), e), bld.fadd(f.c(2.0), e))
    copysign = bld.module.declare_intrinsic("llvm.copysign", [f.double],
                                            ir.FunctionType(f.double, [f.double, f.double]))
    return f.nan_through(x, bld.call(copysign, [t, x]))
