"""``function(inputs, outputs, updates=...)``: check the request, build the graph,
optimize it, hand it to a backend, and wrap the result in a callable that checks
arguments and applies updates only after everything was computed."""
import copy
import time
import warnings

import numpy as np

from ..config import config
from ..graph import Constant, FunctionGraph, Variable, clone_replace, graph_inputs, test_values_as
from ..shared import SharedVariable
from .backend import backend
from .mode import Mode, get_mode
from .tiered import Background
from .fastpath import fast_call
from .out import unwrap_out
from .saving import pack, unpack
from .profile import attach as attach_profile
from ..tensor.basic import as_tensor_variable
from ..tensor.flags import patternbroadcast


class In:
    """A function input with a default value and/or a keyword name (Theano's In).
    ``mutable`` is accepted for Theano code: it allows a function to overwrite
    the argument, and symgraph never does."""

    def __init__(self, variable, value=None, name=None, borrow=False, mutable=False):
        if isinstance(variable, SharedVariable):
            raise TypeError(
                f"shared variable {variable!r} is listed among the inputs; shared variables are "
                f"implicit inputs of every function that uses them and must not be listed: "
                f"remove it from the inputs (use givens=[({variable!r}, other)] to replace it)")
        if isinstance(variable, Constant):
            raise TypeError(f"constant {variable!r} is listed among the inputs; a function's "
                            f"inputs must be symbolic variables such as T.dmatrix('x')")
        if not isinstance(variable, Variable):
            raise TypeError(f"function inputs must be symbolic variables, got {variable!r}")
        self.variable = variable
        self.value = value
        self.has_default = value is not None
        self.name = name or variable.name
        self.borrow = borrow


def _normalize_updates(updates):
    if updates is None:
        return []
    pairs = list(updates.items()) if isinstance(updates, dict) else list(updates)
    out, seen = [], set()
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError("updates must be a list of (shared_variable, new_value) pairs or a dict")
        target, value = pair
        if not isinstance(target, SharedVariable):
            raise TypeError(f"update target {target!r} is not a shared variable; only shared "
                            f"variables (sg.shared) can be updated")
        if target in seen:
            raise ValueError(f"shared variable {target!r} is updated twice")
        seen.add(target)
        value = as_tensor_variable(value)
        if value.dtype != target.dtype or value.ndim != target.ndim:
            raise TypeError(
                f"the update of {target!r} has type {value.type} but {target!r} is {target.type}; "
                f"use T.cast(..., {target.dtype!r}) or fix the expression")
        if value.broadcastable != target.broadcastable:
            bad = [a for a, (v, t) in enumerate(zip(value.broadcastable, target.broadcastable))
                   if t and not v]
            if bad:
                raise TypeError(
                    f"the update of {target!r} may change the length of axis {bad[0]}, which "
                    f"{target!r} flags as broadcastable (its type is {target.type}, the new "
                    f"value's is {value.type})")
            value = patternbroadcast(value, target.broadcastable)
        out.append((target, value))
    return out


def _memory_owner(a):
    """Identifies the memory of ``a``: views of one array have the same owner."""
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return id(a)


def _writeable(a):
    return isinstance(a, np.ndarray) and a.flags.writeable


def _own(value, taken):
    """``value``, copied if its memory is in ``taken`` or read-only; its memory is then taken."""
    if not _writeable(value) or _memory_owner(value) in taken:
        value = np.array(value, copy=True)
    taken.add(_memory_owner(value))
    return value


class Function:
    """A compiled function.  ``f.graph`` is the optimized graph it runs."""

    def __init__(self, inputs, outputs, updates, givens, mode, on_unused_input,
                 allow_input_downcast, name, no_default_updates, trust_input=False,
                 profile=None, outputs_on_device=False, compile=None):
        self._spec = dict(inputs=inputs, outputs=outputs, updates=updates, givens=givens, mode=mode,
                          on_unused_input=on_unused_input, allow_input_downcast=allow_input_downcast,
                          name=name, no_default_updates=no_default_updates,
                          outputs_on_device=outputs_on_device, compile=compile)
        self.name = name
        self.mode = mode or config.mode
        run_mode = get_mode(self.mode)   # a Mode: the optimizer and the backend
        self.trust_input = trust_input
        self.allow_input_downcast = allow_input_downcast
        self.inputs = [i if isinstance(i, In) else In(i) for i in inputs]
        input_vars = [i.variable for i in self.inputs]
        if len(set(input_vars)) != len(input_vars):
            raise ValueError("the same variable appears twice among the inputs")

        self.single_output = outputs is not None and not isinstance(outputs, (list, tuple))
        outs = [] if outputs is None else [as_tensor_variable(unwrap_out(o)) for o in
                                           ([outputs] if self.single_output else outputs)]
        update_pairs = _normalize_updates(updates)
        self._spec["updates"] = list(update_pairs)   # kept as pairs: a generator is read once
        update_pairs += self._default_updates(outs, update_pairs, no_default_updates)

        if givens:
            replace = self._check_givens(givens)
            outs = clone_replace(outs, replace)
            update_pairs = list(zip([t for t, _ in update_pairs],
                                    clone_replace([v for _, v in update_pairs], replace)))

        self.update_targets = [t for t, _ in update_pairs]
        all_outputs = outs + [v for _, v in update_pairs]
        needed = graph_inputs(all_outputs)
        given = set(input_vars)
        missing = [v for v in needed if v not in given and not isinstance(v, SharedVariable)]
        if missing:
            names = ", ".join(repr(v) for v in missing)
            raise ValueError(f"function: the outputs depend on {names}, which is not among the "
                             f"inputs; add it to the inputs list or give it through givens")
        used = set(needed)
        for inp in self.inputs:
            if inp.variable not in used:
                message = (f"input {inp.variable!r} is not used to compute the outputs; pass "
                           f"on_unused_input='ignore' to allow it")
                if on_unused_input == "raise":
                    raise ValueError(message)
                if on_unused_input == "warn":
                    warnings.warn(message, stacklevel=3)
        # shared variables become trailing inputs of the graph
        self.shared = [v for v in needed if isinstance(v, SharedVariable)]
        for t in self.update_targets:
            if t not in self.shared:
                self.shared.append(t)
        self.n_outputs = len(outs)
        raw = FunctionGraph(input_vars + self.shared, all_outputs)
        started = time.perf_counter()   # the compile time, for profiles (profile.py)
        self.graph = self.fgraph = run_mode.optimize(raw)
        self.maker = self  # Theano code reads f.maker.fgraph
        optimized = time.perf_counter()
        # (output index, input index) of each update: a backend may then write an
        # update into its shared variable's buffer (see compile/inplace.py)
        update_pairs = [(len(outs) + k, len(input_vars) + self.shared.index(t))
                        for k, t in enumerate(self.update_targets)]
        how = compile or ("background" if config.background_compile else "eager")
        if how not in ("eager", "background"):
            raise ValueError(f"compile must be 'eager' or 'background', got {how!r}")
        # background: the reference backend answers until the compiled program
        # is ready (tiered.py); only the Numba CPU backend takes seconds to compile
        background = how == "background" and run_mode.backend_name() == "numba" and \
            type(run_mode).compile is Mode.compile
        thunk = (backend("python") if background else run_mode.compile)(self.graph, update_pairs)
        compiled = time.perf_counter()
        if outputs_on_device:
            if not thunk.device_values:
                raise TypeError("outputs_on_device=True needs a GPU mode (mode='cuda')")
            thunk.outputs_on_device = True
        self._update_slots = [self.shared.index(t) for t in self.update_targets]
        self._names = {inp.name: k for k, inp in enumerate(self.inputs) if inp.name}
        self._containers = [v.container for v in self.shared]
        # A call that updates shared variables holds the lock of every shared variable
        # it uses, from reading their values to writing the new ones: such calls are
        # serialised, no update is lost, and each sees all or none of another's
        # updates.  Calls without updates take no lock (docs/guide.md, Threads).
        self._locks = []
        if self.update_targets:
            unique = {id(c): c for c in self._containers}.values()
            self._locks = [c.lock for c in sorted(unique, key=lambda c: c.order)]
        # the common call, arrays of exactly the right types, is checked in a few
        # comparisons (flagged axes must still have length 1)
        self._exact = [(np.dtype(i.variable.dtype), i.variable.ndim,
                        tuple(a for a, f in enumerate(i.variable.broadcastable) if f))
                       for i in self.inputs]
        self.profile = None
        self._use(thunk)
        # f.profile: None, or the profile of a function made with profile=True
        # (or config.profile); only then is the call wrapped to be timed
        self.profile = attach_profile(self, profile, optimized - started, compiled - optimized)
        if self.profile is not None:
            self._set_call(self.profile.wrap(self._call))
        self._background = Background(self, self.graph, update_pairs) if background else None

    def _use(self, thunk):
        """Run calls on ``thunk`` from the next call on (tiered.py switches to
        the compiled program this way)."""
        self._thunk = thunk
        # a backend whose results are always fresh arrays (an in-place update
        # returning its own buffer) needs no aliasing checks after a call
        self._owns_results = thunk.owns_results
        call = fast_call(self) or self._checked_call
        self._set_call(call if self.profile is None else self.profile.wrap(call))

    def _set_call(self, call):
        """Calls of this function run ``call``: it becomes ``__call__`` of a
        class of this function's own, so that ``f(x)`` enters it directly (a
        Python frame less on every call: ~10% of a small call, W0)."""
        self._call = call
        if type(self) is Function:
            self.__class__ = type("Function", (Function,), {"__module__": Function.__module__})
        type(self).__call__ = staticmethod(call)

    def wait(self, timeout=None):
        """With ``compile='background'``: wait (at most ``timeout`` seconds) until
        calls run the compiled program; whether they do.  True at once otherwise."""
        return self._background is None or self._background.wait(timeout)

    @staticmethod
    def _default_updates(outs, explicit, no_default_updates):
        if no_default_updates is True:
            return []
        skip = set(no_default_updates or []) | {t for t, _ in explicit}
        pairs = [(v, v.default_update) for v in graph_inputs(outs + [v for _, v in explicit])
                 if isinstance(v, SharedVariable) and v.default_update is not None and v not in skip]
        return _normalize_updates(pairs)

    @staticmethod
    def _check_givens(givens):
        hint = ("givens maps variables of the graph to their replacements, e.g. "
                "givens={x: y * 2} or givens=[(x, y * 2)]")
        if isinstance(givens, dict):
            pairs = list(givens.items())
        elif isinstance(givens, (list, tuple)):
            pairs = list(givens)
        else:
            raise TypeError(f"givens must be a dict or a list of pairs, got "
                            f"{type(givens).__name__}; {hint}")
        replace = {}
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"givens: {pair!r} is not a (variable, replacement) pair; {hint}")
            old, new = pair
            if isinstance(old, Constant) or not isinstance(old, Variable):
                what = "a constant" if isinstance(old, Constant) else f"of type {type(old).__name__}"
                raise TypeError(f"givens: the key {old!r} is {what}, not a symbolic variable; "
                                f"only variables (T.dvector('x'), shared variables) can be "
                                f"replaced. {hint}")
            if old in replace:
                raise ValueError(f"givens: {old!r} is given twice")
            try:
                new = as_tensor_variable(new)
            except TypeError as exc:
                raise TypeError(f"givens: the replacement for {old!r} must be a symbolic "
                                f"variable or an array of numbers ({exc})") from None
            if new.type != old.type:
                if new.dtype == old.dtype and new.ndim == old.ndim:
                    new = patternbroadcast(new, old.broadcastable)
                else:
                    raise TypeError(f"givens: {old!r} is {old.type} but its replacement is {new.type}")
            replace[old] = new
        return replace

    # ------------------------------------------------------------------ calling
    def _parse_args(self, args, kwargs):
        n = len(self.inputs)
        if len(args) > n:
            raise TypeError(f"{self._label()} takes {n} arguments, got {len(args)}")
        values = list(args) + [None] * (n - len(args))
        given = [True] * len(args) + [False] * (n - len(args))
        for key, value in kwargs.items():
            k = self._names.get(key)
            if k is None:
                raise TypeError(f"{self._label()} got an unexpected keyword argument {key!r}")
            if given[k]:
                raise TypeError(f"{self._label()} got several values for {key!r}")
            values[k], given[k] = value, True
        out = []
        for k, (inp, value, ok) in enumerate(zip(self.inputs, values, given)):
            # unnamed inputs are named by position
            label = f"input {inp.variable.name}" if inp.variable.name else f"input #{k}"
            if not ok:
                if not inp.has_default:
                    raise TypeError(f"{self._label()} is missing a value for {label}")
                value = inp.value
            if self._thunk.device_values and hasattr(value, "copy_to_host"):
                # a device array goes to the GPU backend as it is: it must have the type
                problem = inp.variable.type.device_problem(value, label)
                if problem:
                    raise TypeError(problem)
                out.append(value)
                continue
            out.append(inp.variable.type.filter(value, name=label,
                                                allow_downcast=self.allow_input_downcast))
        return out

    def _label(self):
        return f"function {self.name!r}" if self.name else "the function"

    def _exact_types(self, args):
        if len(args) != len(self._exact):
            return False
        for a, (dtype, ndim, flagged) in zip(args, self._exact):
            if type(a) is not np.ndarray or a.dtype is not dtype or a.ndim != ndim:
                return False
            for axis in flagged:
                if a.shape[axis] != 1:
                    return False
        return True

    def __call__(self, *args, **kwargs):
        # replaced by the call itself in each function's class (_set_call)
        return self._call(*args, **kwargs)

    def _checked_call(self, *args, **kwargs):
        if kwargs or not (self.trust_input or self._exact_types(args)):
            values = self._parse_args(args, kwargs)
        else:
            values = list(args)
        if not self._locks:
            return self._run(values)
        locks = self._locks
        for lock in locks:
            lock.acquire()
        try:
            return self._run(values)
        finally:
            for lock in reversed(locks):
                lock.release()

    def _run(self, values):
        containers = self._containers
        thunk = self._thunk      # read once: tiered.py may switch it meanwhile
        if thunk.device_values:
            return self._run_on_device(values)
        shared_values = [c.value for c in containers]
        results = thunk(values + shared_values)
        if thunk.owns_results:
            # every output and update was computed: only now may shared values change
            for slot, value in zip(self._update_slots, results[self.n_outputs:]):
                containers[slot].value = value
                containers[slot].mirror = None
            return results[0] if self.single_output else results[:self.n_outputs]
        # Outputs and new shared values may be views of the arguments, of shared storage
        # (x.T, s[1:]), of constants or of each other: copy those, so that what a call
        # hands out or stores is its own.  An update may reuse its own variable's storage
        # (an in-place update).
        taken = {_memory_owner(v) for v in values if isinstance(v, np.ndarray)}
        taken.update(_memory_owner(v) for v in shared_values)
        outs = [_own(o, taken) for o in results[:self.n_outputs]]
        news = []
        for slot, value in zip(self._update_slots, results[self.n_outputs:]):
            own = _memory_owner(shared_values[slot])
            news.append(value if _memory_owner(value) == own and _writeable(value)
                        else _own(value, taken))
        # every output and update was computed: only now may shared values change
        for slot, value in zip(self._update_slots, news):
            containers[slot].value = value
            containers[slot].mirror = None
        if self.single_output:
            return outs[0]
        return outs

    def _run_on_device(self, values):
        """A backend holding shared values on its device (mode='cuda'): it gets
        their device copies and returns the updates as device arrays."""
        containers = self._containers
        upload = self._thunk.upload
        results = self._thunk(values + [c.device_value(upload) for c in containers])
        # every output and update was computed: only now may shared values change
        for slot, value in zip(self._update_slots, results[self.n_outputs:]):
            containers[slot].set_device(value)
        return results[0] if self.single_output else results[:self.n_outputs]

    def copy(self, swap=None, delete_updates=False, name=None):
        """The same function, with shared variables swapped per ``swap``."""
        spec = dict(self._spec)
        swap = dict(swap or {})
        for old, new in swap.items():
            if not isinstance(old, SharedVariable) or not isinstance(new, SharedVariable):
                raise TypeError("copy(swap=...) maps shared variables to shared variables")
            if old.type != new.type:
                raise TypeError(f"copy: {old!r} is {old.type} but {new!r} is {new.type}")
        outs = spec["outputs"]
        if outs is not None and swap:
            outs = clone_replace(outs, swap) if not isinstance(outs, (list, tuple)) else \
                clone_replace(list(outs), swap)
        updates = [] if delete_updates else _normalize_updates(spec["updates"])
        if swap and updates:
            updates = list(zip([swap.get(t, t) for t, _ in updates],
                               clone_replace([v for _, v in updates], swap)))
        spec.update(outputs=outs, updates=updates, name=name or spec["name"])
        if delete_updates:
            spec["no_default_updates"] = True
            # inputs that only fed the deleted updates are legitimately unused now
            spec["on_unused_input"] = "ignore"
        return Function(**spec, trust_input=self.trust_input)

    def __repr__(self):
        return f"<symgraph.Function {self.name or ''} mode={self.mode}>"

    def __reduce__(self):
        # The compiled program cannot be pickled: a pickle holds the optimized
        # graph and what a call needs (saving.py).  Loading compiles that graph
        # as it is, not optimized again: the same program (from the disk cache
        # when it is there), so the same results as this function gives.
        outs = self.graph.outputs
        state = dict(inputs=self.inputs,
                     outputs=outs[0] if self.single_output else list(outs[:self.n_outputs]),
                     updates=list(zip(self.update_targets, outs[self.n_outputs:])),
                     allow_input_downcast=self.allow_input_downcast, name=self.name,
                     trust_input=self.trust_input)
        return _load_function, (pack(state), self.mode)


def _load_function(packed, mode):
    """A pickled Function (Function.__reduce__), its saved graph compiled as it is:
    givens and default updates are in it already."""
    as_saved = copy.copy(get_mode(mode))
    as_saved.optimizer = "None"
    f = function(**unpack(*packed), mode=as_saved, on_unused_input="ignore",
                 no_default_updates=True)
    f.mode = mode
    return f


def function(inputs, outputs=None, updates=None, givens=None, mode=None, on_unused_input="raise",
             allow_input_downcast=False, name=None, no_default_updates=False, trust_input=False,
             profile=None, outputs_on_device=False, compile=None):
    """Compile ``outputs`` as a function of ``inputs``; ``updates`` write shared variables.
    ``profile=True`` (or config.profile) keeps call and compile times in ``f.profile``;
    ``profile='nodes'`` also times each node through the reference path (profile.py).
    ``outputs_on_device`` (mode='cuda'): the outputs stay on the GPU, as numba
    device arrays, instead of being copied back to NumPy arrays.
    ``compile='background'`` (or config.background_compile): the first calls run on the
    reference backend while the program compiles in a helper process, then
    the function switches to it (tiered.py; ``f.wait()`` waits for that)."""
    if not isinstance(inputs, (list, tuple)):
        raise TypeError("function: inputs must be a list of variables")
    if on_unused_input not in ("raise", "warn", "ignore"):
        raise ValueError("on_unused_input must be 'raise', 'warn' or 'ignore'")
    with test_values_as("off"):   # compiling builds nodes of its own (testvalues.py)
        return Function(list(inputs), outputs, updates, givens, mode, on_unused_input,
                        allow_input_downcast, name, no_default_updates, trust_input, profile,
                        outputs_on_device, compile)
