"""A function's fast call: the common call (positional arrays of exactly the
input types) generated as one Python function for that function, with its
checks, the compiled program's call, the results and the updates inline.
``Function`` installs it as its call (function.py); anything it does not
handle, a failing call included, it hands to ``Function._checked_call``."""
import re

import numpy as np

from .backend import result_exprs
from .inplace import any_overlap


def fast_call(function):
    """The common call (positional arrays of exactly the input types) as one
    generated function: a few comparisons, the compiled program, the updates.
    Anything else, a failing call included, goes through _checked_call.  It
    halves the overhead of a small call (W0 in docs/benchmarks.md).  None
    when the backend offers no fast path."""
    fast = function._thunk.fast
    if fast is None or not function._owns_results:
        return None
    consts = fast.consts
    names = {"nd": np.ndarray, "checked": function._checked_call, "serial": fast.program,
             "threaded": fast.threaded}
    recs = []
    if fast.recycler is not None:
        names.update(take=fast.recycler.take, give=fast.recycler.give)
        recs = ["*recs"]
    args = [f"a{k}" for k in range(len(function.inputs))]
    tests = []
    for k, (dtype, ndim, flagged) in enumerate(function._exact):
        names[f"d{k}"] = dtype
        tests.append(f"type(a{k}) is nd and a{k}.dtype is d{k} and a{k}.ndim == {ndim}")
        tests += [f"a{k}.shape[{axis}] == 1" for axis in flagged]
    names.update((f"c{k}", c) for k, c in enumerate(function._containers))
    names.update((f"k{j}", c) for j, c in enumerate(consts))
    shared = [f"s{k}" for k in range(len(function._containers))]
    values = args + shared
    lines = ["def fast(*args, **kwargs):",
             f"    if kwargs or len(args) != {len(args)}:",
             "        return checked(*args, **kwargs)"]
    if args:
        lines.append(f"    {''.join(a + ', ' for a in args)}= args")
    if tests:
        lines += [f"    if not ({' and '.join(tests)}):", "        return checked(*args)"]
    body = [f"{s} = c{k}.value" for k, s in enumerate(shared)]
    body.append("program = serial")
    if fast.large:
        large = re.sub(r"\barg(\d+)\b", lambda m: values[int(m.group(1))], fast.large)
        body += [f"if {large}:",
                 "    if not threaded:",
                 "        return checked(*args)   # compiles the parallel variant",
                 "    program = threaded[0]"]
    body += _alias_test(function, names, values, consts)
    if recs:
        body.append("recs, roots = take()")
    call = ", ".join(values + [f"k{j}" for j in range(len(consts))] + recs)
    body += ["try:",
             f"    r = program({call})",
             "except Exception:",
             "    return checked(*args)   # converts the arguments, or names the node"]
    results = result_exprs(fast.outputs, values.__getitem__, names)
    if recs:
        body += [f"out = [{', '.join(results)}]", "give(out, roots)"]
        results = [f"out[{k}]" for k in range(len(results))]
    news = results[function.n_outputs:]
    outs = results[:function.n_outputs]
    # only now, with everything computed, may shared values change
    body += [f"c{slot}.value = {new}; c{slot}.mirror = None"
             for new, slot in zip(news, function._update_slots)]
    body.append(f"out = {outs[0]}" if function.single_output else
                f"out = [{''.join(o + ', ' for o in outs)}]")
    if function._locks:
        # the locks of every shared variable used, in their global order (see _Container)
        for k, lock in enumerate(function._locks):
            names[f"acquire{k}"], names[f"release{k}"] = lock.acquire, lock.release
        lines.append("    " + "; ".join(f"acquire{k}()" for k in range(len(function._locks))))
        lines.append("    try:")
        lines += ["        " + line for line in body]
        lines.append("    finally:")
        lines.append("        " + "; ".join(f"release{k}()" for k in
                                           reversed(range(len(function._locks)))))
    else:
        lines += ["    " + line for line in body]
    lines.append("    return out")
    exec("\n".join(lines), names)
    return names["fast"]

def _alias_test(function, names, values, consts):
    """Lines sending a call whose in-place targets may share memory with another
    value of the call to _checked_call, which copies such a target first
    (inplace.dealias).  Cheap in the common case: arrays that own their memory
    (``base`` None) and are distinct objects cannot overlap, so the bounds
    check runs only when some array is a view (or wraps foreign memory)."""
    targets = function._thunk.inplace
    if not targets:
        return []
    types = [i.variable.type for i in function.inputs] + [v.type for v in function.shared]
    slots = [k for k, t in enumerate(types) if t.ndim]
    open_consts = function._thunk.open_consts
    group = [values[k] for k in slots] + [f"k{j}" for j in open_consts]
    mine = [values[t] for t in targets]
    pairs = [(t, a) for t in mine for a in group
             if a != t and (a not in mine or mine.index(a) > mine.index(t))]
    if not pairs:
        return []   # no other array: nothing to share the targets' memory with
    views = " or ".join(f"{a}.base is not None" for a in group)
    if len(pairs) <= 4:
        same = " or ".join(f"{t} is {a}" for t, a in pairs)
        bounds = " or ".join(f"may({t}, {a})" for t, a in pairs)
    else:
        same = f"len({{{', '.join(f'id({a})' for a in group)}}}) != {len(group)}"
        bounds = f"overlap([{', '.join(values)}], targets, slots, consts)"
        names.update(overlap=any_overlap, targets=tuple(targets), slots=tuple(slots),
                     consts=tuple(consts[j] for j in open_consts))
    names["may"] = np.may_share_memory
    return [f"if ({views} or {same}) and ({bounds}):", "    return checked(*args)"]

