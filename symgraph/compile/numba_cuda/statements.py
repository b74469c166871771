"""The plan's statements as Python syntax, for the GPU emitter (emit.py): which
names a statement reads and writes, whether it touches array elements or
whole arrays, its form as runtime.py calls on device arrays, and steps as
the text of a one-thread kernel.  Lines of the plan are Python; the ``ast``
module reads them."""
import ast
import collections
import dataclasses
import re
import textwrap

from ..plan import Alloc, Block, Call, Check, Effect, Line, Loop

# whole-array operations the host driver runs through runtime.py
NP_ARRAY_OPS = {"empty", "zeros", "ascontiguousarray", "transpose"}
METHOD_OPS = {"copy", "astype", "reshape"}
RAISE = re.compile(r"(\s*)raise ([\w.]+)\((.*)\)\s*$")


@dataclasses.dataclass
class Chain:
    """An ``if`` Block and the ``elif``/``else`` Blocks after it: one statement."""
    blocks: list

    @property
    def body(self):
        return [step for block in self.blocks for step in block.body]


def statements(steps):
    """The steps with consecutive Lines joined into statements: a Line ending in
    ``:`` and the deeper-indented Lines after it are one compound statement;
    an ``if`` Block and its ``else`` Block are one Chain."""
    out, k = [], 0
    while k < len(steps):
        step = steps[k]
        if isinstance(step, Block) and re.match(r"\s*(else|elif\b.*):", step.header) and out:
            last = out[-1]
            out[-1] = Chain((last.blocks if isinstance(last, Chain) else [last]) + [step])
            k += 1
            continue
        if not isinstance(step, Line):
            out.append(step)
            k += 1
            continue
        texts = [step.text]
        k += 1
        if _opens(step.text):
            base = _indent(step.text)
            while k < len(steps) and isinstance(steps[k], Line) and (
                    _indent(steps[k].text) > base or not steps[k].text.strip()
                    or re.match(r"\s*(else|elif\b.*):\s*$", steps[k].text)
                    and _indent(steps[k].text) == base):
                texts.append(steps[k].text)
                k += 1
        out.append(Line("\n".join(texts)))
    return out


def _indent(text):
    return len(text) - len(text.lstrip(" "))


def _opens(text):
    code = text.split("#", 1)[0].rstrip()
    return code.endswith(":")


def parse(text):
    return ast.parse(textwrap.dedent(text))


class Uses(ast.NodeVisitor):
    """Names read and written by a statement, and how arrays are touched."""

    def __init__(self, arrays):
        self.arrays = arrays      # name -> ndim of the device arrays known so far
        self.loads, self.stores = set(), set()
        self.element = False      # reads or writes an element of a device array
        self.whole = False        # an operation on whole arrays (host only)

    def visit_Name(self, node):
        (self.stores if isinstance(node.ctx, ast.Store) else self.loads).add(node.id)

    def visit_Subscript(self, node):
        base = node.value
        if isinstance(base, ast.Name) and base.id in self.arrays:
            index = node.slice
            n = len(index.elts) if isinstance(index, ast.Tuple) else 1
            sliced = any(isinstance(e, ast.Slice) for e in
                         (index.elts if isinstance(index, ast.Tuple) else [index]))
            if n < self.arrays[base.id] or sliced:
                self.whole = True          # a view
            else:
                self.element = True
        elif isinstance(base, ast.Attribute) and base.attr == "shape":
            pass                           # a length: known on the host
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if isinstance(node.value, ast.Name) and node.value.id in self.arrays and \
                node.attr in ("T",) + tuple(METHOD_OPS):
            self.whole = True
        self.generic_visit(node)

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                f.value.id == "np" and f.attr in NP_ARRAY_OPS:
            self.whole = True
        self.generic_visit(node)

    def visit_Break(self, node):
        self.whole = True      # leaves a loop of the driver (scan's until): host code

    visit_Continue = visit_Break


def uses_of(text, arrays):
    visitor = Uses(arrays)
    visitor.visit(parse(text))
    return visitor


class HostForm(ast.NodeTransformer):
    """Whole-array statements as runtime.py calls on device arrays."""

    def __init__(self, arrays):
        self.arrays = arrays

    def _is_array(self, node):
        while isinstance(node, (ast.Subscript, ast.Attribute)) and not (
                isinstance(node, ast.Attribute) and node.attr == "shape"):
            node = node.value
        return isinstance(node, ast.Name) and node.id in self.arrays

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                f.value.id == "np" and f.attr in NP_ARRAY_OPS:
            return ast.Call(ast.Attribute(ast.Name("rt", ast.Load()), f.attr, ast.Load()),
                            node.args, node.keywords)
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Attribute) and \
                isinstance(f.value.value, ast.Name) and f.value.value.id == "np" and \
                f.value.attr == "linalg":
            # LAPACK on the host: the operands cross the bus (runtime.on_host)
            return ast.Call(ast.Attribute(ast.Name("rt", ast.Load()), "on_host", ast.Load()),
                            [f] + node.args, node.keywords)
        if isinstance(f, ast.Attribute) and f.attr in METHOD_OPS and self._is_array(f.value):
            return ast.Call(ast.Attribute(ast.Name("rt", ast.Load()), f.attr, ast.Load()),
                            [f.value] + node.args, node.keywords)
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if node.attr == "T" and self._is_array(node.value):
            return ast.Call(ast.Attribute(ast.Name("rt", ast.Load()), "transpose", ast.Load()),
                            [node.value], [])
        return node

    def visit_Assign(self, node):
        self.generic_visit(node)
        target = node.targets[0]
        if len(node.targets) == 1 and isinstance(target, ast.Subscript) and \
                self._is_array(target.value):
            # an element or a slice of a device array: a copy into it
            return ast.Expr(ast.Call(ast.Attribute(ast.Name("rt", ast.Load()), "assign",
                                                   ast.Load()),
                                     [_load(target), node.value], []))
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if isinstance(node.target, ast.Subscript) and self._is_array(node.target.value):
            op = type(node.op).__name__.lower()
            return ast.Expr(ast.Call(ast.Attribute(ast.Name("rt", ast.Load()), "inplace",
                                                   ast.Load()),
                                     [_load(node.target), ast.Constant(op), node.value], []))
        return node


def _load(target):
    copy = ast.parse(ast.unparse(target), mode="eval").body
    return copy


def host_form(text, arrays):
    tree = HostForm(arrays).visit(parse(text))
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


NAME = re.compile(r"(?<![\w.'])([A-Za-z_]\w*)")


def names_in(text):
    return set(NAME.findall(text))


def count(lines):
    return collections.Counter(NAME.findall("\n".join(lines)))


def serial_lines(steps, depth, messages=None, shallow=False):
    """Steps as sequential kernel code (or, ``shallow``, as text to scan for names)."""
    lines = []
    for step in steps:
        pad = "    " * depth
        if isinstance(step, Line):
            for text in step.text.split("\n"):
                raised = RAISE.match(text)
                if raised and messages is not None:
                    # a kernel cannot raise: it sets the error code and stops
                    indent, exc, message = raised.groups()
                    messages.append((exc, ast.literal_eval(message)))
                    lines += [f"{pad}{indent}islab[0] = {len(messages)}", f"{pad}{indent}return"]
                else:
                    lines.append(pad + text)
        elif isinstance(step, Check):
            if messages is None:
                lines += [f"{pad}if {step.condition}:", f"{pad}    pass"]
            else:
                messages.append((step.exc, step.message))
                lines += [f"{pad}if {step.condition}:",
                          f"{pad}    islab[0] = {len(messages)}", f"{pad}    return"]
        elif isinstance(step, Loop):
            level = depth
            for index, dim in zip(step.indices, step.dims):
                if index is not None:
                    lines.append("    " * level + f"for {index} in range({dim}):")
                    level += 1
                elif shallow:
                    lines.append("    " * level + f"_ = {dim}")
            inner = serial_lines(step.body, level, messages, shallow)
            lines += inner or ["    " * level + "pass"]
        elif isinstance(step, Block):
            lines.append(pad + step.header)
            inner = serial_lines(step.body, depth + 1, messages, shallow)
            lines += inner or [pad + "    pass"]
        elif isinstance(step, Chain):
            lines += serial_lines(step.blocks, depth, messages, shallow)
        elif shallow and isinstance(step, Alloc):
            lines.append(pad + f"{step.name} = ({', '.join(step.dims)}, )")
        elif shallow and isinstance(step, (Call, Effect)):
            lines.append(pad + f"_ = ({', '.join(step.args)}, )")
        elif shallow and step is not None:
            pass
        else:
            raise TypeError(f"no kernel rendering for plan step {step!r}")
    return lines
