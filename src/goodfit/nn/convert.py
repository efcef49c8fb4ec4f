"""A user's module converted into a population: its `forward` traced into a graph (torch.fx), each leaf layer
replaced by its stacked counterpart, the graph's own operations (residual additions, reshapes, functional
calls) kept as they are and run once for all members.

Values between nodes are `Stacked` (every member's copy, in member or grouped layout). An operation that
acts on each element alone runs on the values as they are; any other runs under `torch.func.vmap` on the
member layout. A leaf with no counterpart runs under vmap, or member by member where vmap cannot batch it,
and says so in one line. Where the graph runs an MLP's layers one into the next (Linear, BatchNorm1d, ReLU,
Dropout), one fused chain with a hand-written backward stands in for them all (`StackedDenseChain`).
"""
from __future__ import annotations

import builtins
import operator
import re
import threading

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.func import functional_call, vmap
from torch.fx.node import map_aggregate

from goodfit.nn.layers import (COUNTERPARTS, MemberDropout, StackedDenseChain, StackedFlatten, StackedUnflatten,
                               Unstackable)
from goodfit.nn.stacked import GROUPED, MEMBER, Pass, Stacked, to_layout

# operations on each element alone (with scalars): run on the stacked values as they are, in any layout
ELEMENTWISE_FUNCTIONS = {
    operator.add, operator.sub, operator.mul, operator.truediv, operator.neg, operator.iadd, operator.imul,
    torch.add, torch.sub, torch.mul, torch.div, torch.neg, torch.relu, torch.sigmoid, torch.tanh, torch.exp,
    torch.abs, torch.square, torch.sqrt, torch.clamp, F.relu, F.relu6, F.gelu, F.silu, F.elu, F.selu, F.leaky_relu,
    F.mish, F.softplus, F.hardtanh, F.hardswish, F.hardsigmoid, torch.sin, torch.cos, torch.maximum, torch.minimum}
ELEMENTWISE_METHODS = {
    "add", "sub", "mul", "div", "neg", "relu", "sigmoid", "tanh", "exp", "abs", "square", "sqrt", "clamp", "pow",
    "add_", "sub_", "mul_", "div_", "relu_", "clamp_", "sigmoid_", "tanh_", "contiguous", "float"}
# operations on each channel of each sample alone: run on grouped values
CHANNELWISE_FUNCTIONS = {F.max_pool1d, F.max_pool2d, F.avg_pool1d, F.avg_pool2d, F.adaptive_avg_pool1d,
                         F.adaptive_avg_pool2d, F.adaptive_max_pool1d, F.adaptive_max_pool2d}


class _Tracer(fx.Tracer):
    """torch.fx's tracer, keeping as leaves the layers with counterparts and the submodules that do not trace."""

    def __init__(self, opaque: set[int]):
        super().__init__()
        self.opaque = opaque

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return type(m) in COUNTERPARTS or id(m) in self.opaque or super().is_leaf_module(m, qualname)


def _user_submodules(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """The submodules torch.fx would trace through (not torch's own layers), outermost first."""
    tracer = fx.Tracer()
    return [(n, m) for n, m in module.named_modules()
            if n and type(m) not in COUNTERPARTS and not tracer.is_leaf_module(m, n)
            and not isinstance(m, (nn.Sequential, nn.ModuleList, nn.ModuleDict))]


# torch.fx patches `nn.Module.__call__` for the whole process while it traces, so a module running in
# another thread meanwhile would be traced into the graph: traces are taken one at a time, and once
# per architecture and mode (`cache`), which the engine does in its own thread before populations
# train side by side in worker threads.
_TRACING = threading.Lock()
_TRACES: dict = {}


def trace(module: nn.Module, cache=None) -> tuple[fx.Graph, set[str]]:
    """`module`'s graph in its current mode, and the names of the submodules kept whole because they do
    not trace; with a hashable `cache` key, a graph traced before under that key and mode is reused.
    """
    key = None if cache is None else (cache, module.training)
    with _TRACING:
        if key in _TRACES:
            graph, opaque, error = _TRACES[key]
        else:
            try:
                graph, ids = _trace(module)
                opaque, error = {n for n, m in module.named_modules() if id(m) in ids}, None
            except Unstackable as err:
                graph, opaque, error = None, set(), err
            if key is not None:
                _TRACES[key] = graph, opaque, error
    if error is not None:
        raise error
    return graph, opaque


def _trace(module: nn.Module) -> tuple[fx.Graph, set[int]]:
    """`module`'s graph in its current mode, and the submodules kept whole because they do not trace.

    Where the whole module does not trace (data-dependent control flow, `.item()`), each of its own
    submodules that does not trace on its own is kept as one leaf, and the rest traced around it.
    Raises `Unstackable` when even that fails.
    """
    try:
        return _Tracer(set()).trace(module), set()
    except Exception as whole:  # noqa: BLE001 - any tracing failure means: walk the submodules
        opaque: set[int] = set()
        for name, sub in _user_submodules(module):
            if any(id(m) in opaque for _, m in sub.named_modules()):
                continue
            try:
                _Tracer(opaque).trace(sub)
            except Exception:  # noqa: BLE001
                opaque.add(id(sub))
        if not opaque:
            raise Unstackable(f"forward does not trace: {_first_line(whole)[:160]}") from None
        try:
            return _Tracer(opaque).trace(module), opaque
        except Exception as err:  # noqa: BLE001
            raise Unstackable(f"forward does not trace: {_first_line(err)[:160]}") from None


def _vmap_reason(err: Exception) -> str:
    """Why vmap refused a module, in a few words.

    Example:
        >>> _vmap_reason(RuntimeError("Batching rule not implemented for aten::lstm.input. We could not ..."))
        'vmap cannot batch aten::lstm.input'
    """
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    op = re.search(r"Batching rule not implemented for ([\w:.]+?)\.?(\s|$)", text)
    if op:
        return f"vmap cannot batch {op.group(1)}"
    text = text.removeprefix("vmap: ").split(". ")[0]
    return f"vmap failed: {text[:1].lower()}{text[1:120]}"


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"


def _prefixed(d: dict, prefix: str) -> dict:
    start = len(prefix) + 1
    return {n[start:]: t for n, t in d.items() if n.startswith(prefix + ".")}


class _Opaque:
    """A leaf with no counterpart: under vmap over the members' state, or member by member.

    While `probing`, a leaf vmap cannot batch switches to running member by member, and `why` says why.
    """

    def __init__(self, target: str, module: nn.Module):
        self.target, self.module, self.way, self.why, self.probing = target, module, "vmap", "", False
        if any(isinstance(m, MemberDropout) for m in module.modules()):
            raise Unstackable(f"layer {target} ({type(module).__name__}) holds dropout and has no counterpart")

    def __call__(self, args: tuple, params: dict, buffers: dict, ctx: Pass):
        p, b = _prefixed(params, self.target), _prefixed(buffers, self.target)
        self.module.train(ctx.train)
        tensors, rebuild = _unstack_args(args, ctx.K)
        if self.way == "vmap":
            try:
                return _restack(vmap(lambda p, b, *ts: functional_call(self.module, (p, b), rebuild(ts)),
                                     randomness="error")(p, b, *tensors))
            except Exception as err:  # noqa: BLE001 - vmap cannot batch it: member by member
                if not self.probing:
                    raise
                self.way, self.why = "members", _vmap_reason(err)
        outs = [functional_call(self.module, ({n: t[k] for n, t in p.items()}, {n: t[k] for n, t in b.items()}),
                                rebuild([t[k] for t in tensors])) for k in range(ctx.K)]
        return _restack(torch.utils._pytree.tree_map(lambda *xs: torch.stack(xs), *outs))


def _unstack_args(args, K: int):
    """The `Stacked` values in `args` as member-layout tensors, and a function putting per-member tensors back."""
    found: list[torch.Tensor] = []

    def pick(v):
        if isinstance(v, Stacked):
            found.append(v.member(K))
            return _Slot(len(found) - 1)
        return v

    shape = map_aggregate(args, pick)

    def rebuild(ts):
        return map_aggregate(shape, lambda v: ts[v.index] if isinstance(v, _Slot) else v)

    return found, rebuild


class _Slot:
    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


def _restack(out):
    """vmap's or a stack's member-layout outputs as `Stacked` values (tuples and lists kept)."""
    if isinstance(out, torch.Tensor):
        return Stacked(out, MEMBER)
    if isinstance(out, (tuple, list)):
        return type(out)(_restack(o) for o in out)
    return out


def _chain(node: fx.Node) -> list[fx.Node]:
    """`node` and the nodes after it that each take the one before as their only tensor and are its only user."""
    run = [node]
    while len(run[-1].users) == 1:
        after = next(iter(run[-1].users))
        rest = list(after.args[1:]) + list(after.kwargs.values())
        if not after.args or after.args[0] is not run[-1] or _has_node(rest):
            break
        run.append(after)
    return run


def _has_node(v) -> bool:
    found = []
    map_aggregate(v, lambda x: found.append(x) if isinstance(x, fx.Node) else None)
    return bool(found)


def _has_stacked(v) -> bool:
    found = []
    map_aggregate(v, lambda x: found.append(x) if isinstance(x, Stacked) else None)
    return bool(found)


def _scalar(v) -> bool:
    return isinstance(v, (int, float, bool)) or v is None


class ConvertedModule:
    """One mode (training or eval) of a user's module as a graph of stacked layers.

    Args:
        template: the module (in the mode to convert), its dropout layers replaced by `MemberDropout`s.
        members: the members' own modules, same class: their layers must agree on settings.
        cache: a hashable key for the module's architecture: its traces are taken once (`trace`).

    Raises `Unstackable` when the module does not trace, or a layer cannot be stacked.
    """

    def __init__(self, template: nn.Module, members: list[nn.Module], cache=None):
        self.graph, opaque = trace(template, cache)
        self.template, self.source = template, members[0]
        self.layers: dict[str, object] = {}
        for node in self.graph.nodes:
            if node.op != "call_module" or node.target in self.layers:
                continue
            layer = template.get_submodule(node.target)
            kind = COUNTERPARTS.get(type(layer))
            if kind is not None and node.target not in opaque:
                self.layers[node.target] = kind([m.get_submodule(node.target) if not isinstance(layer, MemberDropout)
                                                 else layer for m in members])
            else:
                self.layers[node.target] = _Opaque(node.target, layer)
        self.fused = self._fuse(template, members)
        covered = {n for _, run in self.fused.values() for n in run[1:]}
        self.nodes = [n for n in self.graph.nodes if n not in covered]
        self.names: dict[str, tuple] = {}  # per layer, its state's full and own names: looked up once
        # an MLP: one fused chain, with at most reshapes around it
        self.one_chain = len(self.fused) == 1 and all(
            n.op in ("placeholder", "output") or n in self.fused
            or n.op == "call_module" and type(self.layers[n.target]) in (StackedFlatten, StackedUnflatten)
            for n in self.nodes)

    def _fuse(self, template: nn.Module, members: list[nn.Module]) -> dict:
        """Runs of nodes one fused chain stands in for: by first node, the chain and the nodes it takes."""
        fused, taken = {}, set()
        for node in self.graph.nodes:
            if (node in taken or node.op != "call_module" or len(node.args) != 1 or node.kwargs
                    or isinstance(self.layers[node.target], _Opaque)):
                continue
            groups = StackedDenseChain.match(_chain(node), template)
            run = [n for group in groups for n in group]
            if any(n.op == "call_module" and isinstance(self.layers[n.target], _Opaque) for n in run):
                continue
            if run:
                fused[node] = (StackedDenseChain(groups, template, members), run)
                taken.update(run)
        return fused

    @property
    def opaque(self) -> list["_Opaque"]:
        return [layer for layer in self.layers.values() if isinstance(layer, _Opaque)]

    def __call__(self, x: torch.Tensor, params: dict, buffers: dict, ctx: Pass) -> torch.Tensor:
        """Logits `(K, B, classes)` of every member for inputs `x (K, B, *sample)`."""
        env: dict = {}
        K = ctx.K
        for node in self.nodes:
            op = node.op
            if op == "placeholder":
                env[node] = Stacked(x, MEMBER) if not env else (node.args[0] if node.args else None)
                continue
            if op == "output":
                out = map_aggregate(node.args[0], lambda n: env[n] if isinstance(n, fx.Node) else n)
                if not isinstance(out, Stacked):
                    raise Unstackable(f"forward returns {type(out).__name__}, not a tensor")
                return out.member(K)
            args = map_aggregate(node.args, lambda n: env[n] if isinstance(n, fx.Node) else n)
            kwargs = map_aggregate(node.kwargs, lambda n: env[n] if isinstance(n, fx.Node) else n)
            if op == "get_attr":
                env[node] = self._attribute(node.target, params, buffers)
            elif node in self.fused:
                chain, run = self.fused[node]
                if not isinstance(args[0], Stacked):
                    raise Unstackable(f"layer {node.target} is called on {type(args[0]).__name__}, not a tensor")
                states = [self._state(t, params, buffers) for t in chain.targets]
                h = chain(args[0].member(K), [p for p, _ in states], [b for _, b in states], ctx)
                env[run[-1]] = Stacked(h, MEMBER)
            elif op == "call_module":
                env[node] = self._module(node.target, args, kwargs, params, buffers, ctx)
            else:
                env[node] = self._operation(op, node.target, args, kwargs, K)
        raise Unstackable("the graph has no output")

    def _attribute(self, target: str, params: dict, buffers: dict):
        if target in params:
            return Stacked(params[target], MEMBER)
        if target in buffers:
            return Stacked(buffers[target], MEMBER)
        return operator.attrgetter(target)(self.source)  # a constant every member shares

    def _module(self, target, args, kwargs, params, buffers, ctx):
        layer = self.layers[target]
        if isinstance(layer, _Opaque):
            return layer(args + tuple(kwargs.values()), params, buffers, ctx)
        x = args[0]
        if len(args) != 1 or kwargs or not isinstance(x, Stacked):
            raise Unstackable(f"layer {target} is called with more than one tensor")
        layout = x.layout if x.layout in layer.layouts else layer.layouts[0]
        t = to_layout(x.tensor, x.layout, layout, ctx.K)
        return Stacked(layer(t, layout, *self._state(target, params, buffers), ctx), layout)

    def _state(self, target: str, params: dict, buffers: dict) -> tuple[dict, dict]:
        """Layer `target`'s parameters and buffers under its own names (`weight`, `running_mean`, ...)."""
        names = self.names.get(target)
        if names is None:
            start = len(target) + 1
            names = self.names[target] = tuple([(n, n[start:]) for n in d if n.startswith(target + ".")]
                                               for d in (params, buffers))
        return {own: params[n] for n, own in names[0]}, {own: buffers[n] for n, own in names[1]}

    def _operation(self, op: str, target, args, kwargs, K: int):
        if not _has_stacked((args, kwargs)):  # plain Python, or tensors every member shares
            if op == "call_method":
                return getattr(args[0], target)(*args[1:], **kwargs)
            return target(*args, **kwargs)
        first = args[0] if args else None
        if op == "call_method" and target == "size" and isinstance(first, Stacked):
            shape = first.shape(K)
            return shape if len(args) == 1 and not kwargs else shape[args[1] if len(args) > 1 else kwargs["dim"]]
        if op == "call_method" and target == "dim" and isinstance(first, Stacked):
            return len(first.shape(K))
        if op == "call_function" and target is builtins.getattr and isinstance(first, Stacked):
            if args[1] == "shape":
                return first.shape(K)
            if args[1] in ("dtype", "device"):
                return getattr(first.tensor, args[1])
        if self._elementwise(op, target, args, kwargs):
            layout = next(v.layout for v in args if isinstance(v, Stacked))
            raw = tuple(v.tensor if isinstance(v, Stacked) else v for v in args)
            out = getattr(raw[0], target)(*raw[1:], **kwargs) if op == "call_method" else target(*raw, **kwargs)
            return Stacked(out, layout)
        if (op == "call_function" and target in CHANNELWISE_FUNCTIONS and isinstance(first, Stacked)
                and not kwargs.get("return_indices") and not _has_stacked((args[1:], kwargs))
                and (first.layout == GROUPED or first.tensor.dim() >= 4)):
            return Stacked(target(to_layout(first.tensor, first.layout, GROUPED, K), *args[1:], **kwargs), GROUPED)
        tensors, rebuild = _unstack_args((args, kwargs), K)

        def one(*ts):
            a, kw = rebuild(ts)
            return getattr(a[0], target)(*a[1:], **kw) if op == "call_method" else target(*a, **kw)

        return _restack(vmap(one, randomness="error")(*tensors))

    @staticmethod
    def _elementwise(op, target, args, kwargs) -> bool:
        if (op == "call_function" and target not in ELEMENTWISE_FUNCTIONS) or (
                op == "call_method" and target not in ELEMENTWISE_METHODS):
            return False
        stacked = [v for v in args if isinstance(v, Stacked)]
        if any(not (_scalar(v) or isinstance(v, (Stacked, str))) for v in args) or _has_stacked(kwargs):
            return False
        first = stacked[0]
        return all(v.layout == first.layout and v.tensor.shape == first.tensor.shape for v in stacked)
