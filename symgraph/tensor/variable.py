"""TensorVariable: Python operators and NumPy-like methods on symbolic tensors."""
from ..graph import Constant, Variable


def _T():
    from .. import tensor
    return tensor


class TensorVariable(Variable):
    __array_priority__ = 1000  # so ndarray + var calls var.__radd__

    def __init__(self, type, owner=None, index=None, name=None):
        Variable.__init__(self, type, owner, index, name)
        if owner is None:
            from ..graph import user_frame
            self._trace = user_frame()

    # ------------------------------------------------------------- type info
    dtype = property(lambda self: self.type.dtype)
    ndim = property(lambda self: self.type.ndim)
    broadcastable = property(lambda self: self.type.broadcastable)

    @property
    def shape(self):
        return _T().shape(self)

    @property
    def size(self):
        return _T().prod_of_shape(self, tuple(range(self.ndim)))

    @property
    def T(self):
        return self.dimshuffle(*reversed(range(self.ndim)))

    def __len__(self):
        raise TypeError("symbolic tensors have no len(); use x.shape[0]")

    def __bool__(self):
        raise TypeError("a symbolic tensor has no truth value; use T.switch, T.and_, T.or_ "
                        "or the operators & | instead of 'if', 'and', 'or'")

    __hash__ = Variable.__hash__

    # ------------------------------------------------------------- operators
    def __add__(self, o): return _T().add(self, o)
    def __radd__(self, o): return _T().add(o, self)
    def __sub__(self, o): return _T().sub(self, o)
    def __rsub__(self, o): return _T().sub(o, self)
    def __mul__(self, o): return _T().mul(self, o)
    def __rmul__(self, o): return _T().mul(o, self)
    def __truediv__(self, o): return _T().true_div(self, o)
    def __rtruediv__(self, o): return _T().true_div(o, self)
    def __floordiv__(self, o): return _T().int_div(self, o)
    def __rfloordiv__(self, o): return _T().int_div(o, self)
    def __mod__(self, o): return _T().mod(self, o)
    def __rmod__(self, o): return _T().mod(o, self)
    def __pow__(self, o): return _T().pow(self, o)
    def __rpow__(self, o): return _T().pow(o, self)
    def __neg__(self): return _T().neg(self)
    def __pos__(self): return self
    def __abs__(self): return _T().abs_(self)
    def __invert__(self): return _T().invert(self)
    def __lt__(self, o): return _T().lt(self, o)
    def __le__(self, o): return _T().le(self, o)
    def __gt__(self, o): return _T().gt(self, o)
    def __ge__(self, o): return _T().ge(self, o)
    def __and__(self, o): return _T().and_(self, o)
    def __rand__(self, o): return _T().and_(o, self)
    def __or__(self, o): return _T().or_(self, o)
    def __ror__(self, o): return _T().or_(o, self)
    def __xor__(self, o): return _T().xor(self, o)
    def __rxor__(self, o): return _T().xor(o, self)
    def __matmul__(self, o): return _T().dot(self, o)
    def __rmatmul__(self, o): return _T().dot(o, self)

    def __getitem__(self, index):
        return _T().subtensor(self, index)

    def __iter__(self):
        raise TypeError("symbolic tensors cannot be iterated; index them instead")

    # ------------------------------------------------------------- methods
    def sum(self, axis=None, keepdims=False, dtype=None):
        return _T().sum(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def mean(self, axis=None, keepdims=False):
        return _T().mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False):
        return _T().prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _T().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _T().min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return _T().argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return _T().argmin(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return _T().var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return _T().std(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def all(self, axis=None, keepdims=False):
        return _T().all(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        return _T().any(self, axis=axis, keepdims=keepdims)

    def dimshuffle(self, *pattern):
        return _T().dimshuffle(self, *pattern)

    def transpose(self, *axes):
        return _T().transpose(self, axes or None)

    def reshape(self, shape, ndim=None):
        return _T().reshape(self, shape, ndim=ndim)

    def flatten(self, ndim=1):
        return _T().flatten(self, ndim)

    def astype(self, dtype):
        return _T().cast(self, dtype)

    def clip(self, lo, hi):
        return _T().clip(self, lo, hi)

    def dot(self, other):
        return _T().dot(self, other)

    def nonzero_values(self):
        return self.flatten()[self.flatten() != 0]

    def eval(self, givens=None):
        """Compute this variable with the reference backend, inputs from ``givens``."""
        from ..compile.function import function
        givens = dict(givens or {})
        fn = function(list(givens), self, mode="python", on_unused_input="ignore")
        return fn(*givens.values())

    # Jupyter shows the graph
    def _repr_svg_(self):
        from ..printing import _repr_svg
        return _repr_svg(self)

    def __repr__(self):
        if self.name:
            return self.name
        from ..printing import pp
        try:
            return pp(self)
        except Exception:
            return super().__repr__()


class TensorConstant(TensorVariable, Constant):
    def __init__(self, type, data, name=None):
        TensorVariable.__init__(self, type, name=name)
        self.data = data
        self.data.setflags(write=False)

    __repr__ = Constant.__repr__
    __hash__ = Variable.__hash__
