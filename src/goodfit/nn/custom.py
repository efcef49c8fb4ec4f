"""A user's own `nn.Module` factory as a population: K copies with stacked state, run together.

Owns how such a population runs (stacked matmuls, `torch.func.vmap`, or member by member) and the
dropout masks its own dropout layers draw from each member's stream, so a member trains alike alone
or in a crowd. Offers the interface of `PopulationNet`; per-member remedies that live inside the
model (dropout, batch norm, width) reach the factory as keyword arguments.
"""
from __future__ import annotations

import copy
import inspect
import math
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.autograd.function import once_differentiable
from torch.func import functional_call, stack_module_state, vmap

from goodfit.errors import GoodfitError
from goodfit.nn.dropout import DROPOUT_LEVELS, dropout_threshold

FACTORY_KEYWORDS = ("dropout", "batchnorm", "width")


def accepted_keywords(factory: Callable) -> set[str]:
    """Which of `dropout`, `batchnorm`, `width` the factory takes as keyword arguments."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return set(FACTORY_KEYWORDS)
    return {k for k in FACTORY_KEYWORDS if k in params}


@dataclass(frozen=True)
class CustomArchitecture:
    """A user's factory with the keyword arguments one population passes to it.

    Args:
        factory: a callable returning a fresh `nn.Module` that maps a batch `(B, *sample)` to
            logits `(B, classes)`.
        kwargs: keyword arguments for the factory, as sorted `(name, value)` pairs.
        input_shape: one sample's shape.
        num_classes: output classes.
    """

    factory: Callable = field(compare=False)
    kwargs: tuple
    input_shape: tuple
    num_classes: int
    name: str = ""

    def __hash__(self):
        return hash((self.name, self.kwargs, self.input_shape, self.num_classes))

    def __eq__(self, other):
        return (isinstance(other, CustomArchitecture) and self.factory is other.factory
                and (self.kwargs, self.input_shape, self.num_classes) == (other.kwargs, other.input_shape, other.num_classes))

    @property
    def arch(self) -> str:
        return "custom"

    def to_dict(self) -> dict:
        return {"arch": "custom", "factory": self.name, "kwargs": dict(self.kwargs),
                "input_shape": list(self.input_shape), "num_classes": self.num_classes}

    def build(self) -> nn.Module:
        module = self.factory(**dict(self.kwargs))
        if not isinstance(module, nn.Module):
            raise GoodfitError(f"model factory {self.name} returned {type(module).__name__}, not an nn.Module; "
                               "return a fresh torch.nn.Module from it")
        return module

    def make_net(self, members, device):
        return ModuleNet(self, members, device)


# ---- the module's own dropout layers, drawing from each member's stream -------------------------
DROPOUT_LAYERS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
ALPHA_LAYERS = (nn.AlphaDropout, nn.FeatureAlphaDropout)
SELU_ALPHA = 1.7580993408473766  # alpha dropout sets a dropped unit to -SELU_ALPHA, then rescales and shifts


class MemberDropout(nn.Module):
    """Stands in for one of the module's dropout layers in a population: applies the masks it is handed.

    The population draws each member's masks from that member's own stream, one mask per call of
    the layer in a forward pass (their shapes, `shapes`, are learnt on a probe batch), and hands
    them over before the pass. In eval mode, or with no masks handed over, it passes its input on.

    Args:
        layer: the user's `nn.Dropout`, `Dropout1d`, `Dropout2d`, `Dropout3d`, `AlphaDropout` or
            `FeatureAlphaDropout`.

    Example:
        >>> site = MemberDropout(nn.Dropout(0.5))
        >>> site.mask_shape((4, 3)), MemberDropout(nn.Dropout2d(0.5)).mask_shape((4, 3, 3))
        ((4, 3), (4, 1, 1))
    """

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.p, self.inplace, self.kind = layer.p, layer.inplace, type(layer)  # p and inplace as the layer had them
        self.shapes: list[tuple] = []  # one sample's mask shape, per call in a forward pass
        self.masks: list[tuple] = []  # per call: (scale,) or, for alpha dropout, (scale, shift)
        self.calls = 0

    def mask_shape(self, sample: tuple) -> tuple:
        """One sample's mask shape for inputs whose samples have shape `sample`: per unit, or per channel."""
        if self.kind in (nn.Dropout, nn.AlphaDropout):
            return sample
        if {nn.Dropout1d: 1, nn.Dropout3d: 3}.get(self.kind) == len(sample):  # torch reads it as unbatched
            return (1,) * len(sample)
        return sample[:1] + (1,) * (len(sample) - 1)

    def scale_and_shift(self, keep: np.ndarray, drop: float) -> tuple[np.ndarray, ...]:
        """What a call multiplies its input by (and, for alpha dropout, adds), as float32, from the kept units `keep`.

        Example:
            >>> MemberDropout(nn.Dropout(0.5)).scale_and_shift(np.array([True, False]), 0.5)
            (array([2., 0.], dtype=float32),)
        """
        if drop >= 1:
            return (np.zeros(keep.shape, np.float32),)
        if self.kind in ALPHA_LAYERS:
            a = 1 / math.sqrt((SELU_ALPHA ** 2 * drop + 1) * (1 - drop))
            return (np.multiply(keep, np.float32(a), dtype=np.float32),
                    np.multiply(keep + np.float32(drop - 1), np.float32(SELU_ALPHA * a), dtype=np.float32))
        return (np.multiply(keep, np.float32(1 / (1 - drop)), dtype=np.float32),)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.masks:
            return x
        if self.calls == len(self.masks):
            raise GoodfitError(f"a dropout layer ran more than {len(self.masks)} times in one forward pass, more than on "
                               "the probe batch; call each dropout layer the same number of times in every pass")
        mask = self.masks[self.calls]
        self.calls += 1
        return x * mask[0] if len(mask) == 1 else torch.addcmul(mask[1], x, mask[0])


def _stand_in_for_dropout(module: nn.Module) -> list[MemberDropout]:
    """Replace `module`'s dropout layers by `MemberDropout`s, in place; those that drop anything, in order."""
    sites = []
    for name, child in list(module.named_modules()):
        if name and type(child) in DROPOUT_LAYERS:
            parent, _, leaf = name.rpartition(".")
            sites.append(MemberDropout(child))
            setattr(module.get_submodule(parent), leaf, sites[-1])
    return [s for s in sites if s.p > 0]


def _record_shape(site: MemberDropout, args: tuple) -> None:
    site.shapes.append(site.mask_shape(tuple(args[0].shape[1:])))


def _with_masks(sites: list[MemberDropout], masks: list[list[tuple]], fn: Callable, *args):
    """`fn(*args)` with each dropout site handed its masks for the pass, and none after."""
    for site, mine in zip(sites, masks):
        site.masks, site.calls = mine, 0
    try:
        return fn(*args)
    finally:
        for site in sites:
            site.masks = []


# ---- a plain stack of layers, run as batched matmuls --------------------------------------------
ELEMENTWISE = (nn.Identity, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
               nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid)
STACKED_LAYERS = (nn.Linear, nn.Flatten, nn.BatchNorm1d, MemberDropout) + ELEMENTWISE


def stacked_layers(module: nn.Module) -> list[tuple[str, nn.Module]] | None:
    """The layers of a module made only of `nn.Sequential`s of `STACKED_LAYERS`, with their names; else None.

    Example:
        >>> [n for n, _ in stacked_layers(nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1))))]
        ['0', '1.0', '1.1']
        >>> stacked_layers(nn.Sequential(nn.Conv1d(1, 2, 3))) is None
        True
    """
    if type(module) is not nn.Sequential:
        return None
    layers = []
    for name, child in module.named_children():
        if child._forward_hooks or child._forward_pre_hooks:
            return None
        if type(child) is nn.Sequential:
            inner = stacked_layers(child)
            if inner is None:
                return None
            layers += [(f"{name}.{n}", c) for n, c in inner]
        elif type(child) in STACKED_LAYERS:
            layers.append((name, child))
        else:
            return None
    return layers


class _StackedLinear(torch.autograd.Function):
    """K linear layers at once, weights in torch's `(K, out, in)` layout.

    Its backward writes the weights' gradient as `(K, out, in)` at once; autograd through a
    transposed view computes it as `(K, in, out)` and then copies it into the weights' layout,
    which cost a quarter of a 64-256-256-10 MLP's step.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):  # (K, N, in), (K, out, in), (K, out) or None
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        w = weight.transpose(1, 2)
        return torch.baddbmm(bias[:, None], x, w) if bias is not None else torch.bmm(x, w)  # (K, N, out)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):  # (K, N, out)
        x, weight = ctx.saved_tensors
        grad_x = torch.bmm(grad, weight) if ctx.needs_input_grad[0] else None  # (K, N, in)
        grad_w = torch.bmm(grad.transpose(1, 2), x) if ctx.needs_input_grad[1] else None  # (K, out, in)
        grad_b = grad.sum(1) if ctx.has_bias and ctx.needs_input_grad[2] else None  # (K, out)
        return grad_x, grad_w, grad_b


def _stacked_linear(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """`h (K, B, ..., in)` through each member's linear layer: `(K, B, ..., out)`."""
    out = _StackedLinear.apply(h.reshape(h.shape[0], -1, h.shape[-1]), weight, bias)
    return out.reshape(h.shape[:-1] + (weight.shape[1],))


def _stacked_batch_norm(layer: nn.BatchNorm1d, name: str, h: torch.Tensor, params: dict, buffers: dict) -> torch.Tensor:
    """`h (K, B, C, *L)` through each member's `BatchNorm1d`, as torch's: batch statistics in training (and
    the running ones updated in place), running statistics in eval."""
    K, dims = h.shape[0], (1,) + tuple(range(3, h.dim()))
    view = (K, 1, -1) + (1,) * (h.dim() - 3)
    running_mean, running_var = buffers.get(f"{name}.running_mean"), buffers.get(f"{name}.running_var")
    if layer.training or running_mean is None:
        mean, var = h.mean(dims, keepdim=True), h.var(dims, keepdim=True, unbiased=False)
        if layer.training and running_mean is not None:
            with torch.no_grad():
                count = buffers[f"{name}.num_batches_tracked"]
                count.add_(1)
                rate = layer.momentum if layer.momentum is not None else (1 / count).to(h.dtype)[:, None]
                n = math.prod(h.shape[d] for d in dims)
                running_mean.lerp_(mean.reshape(K, -1), rate)
                running_var.lerp_(var.reshape(K, -1) * (n / max(1, n - 1)), rate)
    else:
        mean, var = running_mean.reshape(view), running_var.reshape(view)
    out = (h - mean) * torch.rsqrt(var + layer.eps)
    if layer.affine:
        out = out * params[f"{name}.weight"].reshape(view) + params[f"{name}.bias"].reshape(view)
    return out


# ---- the population ----------------------------------------------------------------------------
def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"


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


def _member_states(d: dict[str, torch.Tensor], K: int) -> list[dict[str, torch.Tensor]]:
    """Each member's slice of stacked tensors, views sharing their storage (and gradient)."""
    if not d:
        return [{} for _ in range(K)]
    return [dict(zip(d, ts)) for ts in zip(*(t.unbind(0) for t in d.values()))]


class ModuleNet:
    """K instances of a user's module, their state stacked; same interface as `PopulationNet`.

    Each member is initialized under its own seed, so its weights do not depend on the others, and
    the module's own dropout layers (`nn.Dropout`, `Dropout1d/2d/3d`, `AlphaDropout`,
    `FeatureAlphaDropout`) draw their masks from the member's own stream. Randomness the module
    draws itself (`F.dropout`, `torch.rand` in `forward`) still comes from torch's global generator.

    `path` says how the population runs: `stacked` for a module made only of `nn.Sequential`s of
    `STACKED_LAYERS` (batched matmuls), `vmap` for any other module `torch.func.vmap` can batch, and
    `members`, one member after another, for one it cannot (an LSTM, `.item()`, a Python `if` on a
    tensor); `note` then says so in one line. A probe batch decides, in eval and training mode.

    Args:
        arch: the factory and its keyword arguments.
        members: one `MemberSettings` per member; their seeds are used.
        device: where the tensors live.

    Example:
        >>> from goodfit.nn.population import MemberSettings
        >>> arch = CustomArchitecture(lambda: nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.5),
        ...                           nn.Linear(8, 2)), (), (3,), 2, "mlp")
        >>> net = ModuleNet(arch, [MemberSettings(0), MemberSettings(1)], "cpu")
        >>> net.forward(torch.zeros(2, 5, 3), train=True).shape, net.path, net.note
        (torch.Size([2, 5, 2]), 'stacked', None)
    """

    hand_backward = False  # autograd differentiates whatever the user's module does
    any_dropout = any_bn = False  # the engine draws no masks for it: the module's dropout layers draw their own

    def __init__(self, arch: CustomArchitecture, members, device):
        self.arch, self.members, self.device = arch, list(members), torch.device(device)
        self.K = len(self.members)
        self.generators = [torch.Generator().manual_seed(int(m.seed)) for m in self.members]
        # dropout masks come from a stream of their own, as PopulationNet's do: numpy's SFC64 is fast
        self.dropout_streams = [np.random.SFC64([int(m.seed), 11]) for m in self.members]
        modules = []
        for m in self.members:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(m.seed))
                modules.append(arch.build().to(self.device))
        self.template = copy.deepcopy(modules[0]).to("meta")
        self.sites = _stand_in_for_dropout(self.template)
        params, buffers = stack_module_state(modules)
        self.params = {n: p.detach().clone().requires_grad_(True) for n, p in params.items()}
        self.buffers = dict(buffers)
        self.layers = stacked_layers(self.template)
        with torch.random.fork_rng(devices=[]):  # probing takes nothing from the global generator
            self.path, self.note = self._choose_path()

    # ---- how it runs --------------------------------------------------------------------------
    def _one(self, params: dict, buffers: dict, masks: list, x: torch.Tensor) -> torch.Tensor:
        """One member's logits `(B, classes)`: the function vmap batches."""
        return _with_masks(self.sites, masks, functional_call, self.template, (params, buffers), (x,))

    def _vmapped(self, params: dict, buffers: dict, masks: list, x: torch.Tensor) -> torch.Tensor:
        """Logits `(K, B, classes)`: `_one` batched over the members by vmap."""
        return vmap(self._one, randomness="different")(params, buffers, masks, x)

    def _stacked(self, params: dict, buffers: dict, masks: list, x: torch.Tensor) -> torch.Tensor:
        """Logits `(K, B, classes)` of a plain stack of layers, each layer once for all members."""

        def run(h):
            for name, layer in self.layers:
                if type(layer) is nn.Linear:
                    h = _stacked_linear(h, params[f"{name}.weight"], params.get(f"{name}.bias"))
                elif type(layer) is nn.Flatten:  # one sample's dims, one further right
                    h = h.flatten(*(d + 1 if d >= 0 else d for d in (layer.start_dim, layer.end_dim)))
                elif type(layer) is nn.BatchNorm1d:
                    h = _stacked_batch_norm(layer, name, h, params, buffers)
                else:  # element-wise, or dropout with masks (K, B, ...)
                    h = layer(h)
            return h

        return _with_masks(self.sites, masks, run, x)

    def _run(self, train: bool, params: dict, buffers: dict, masks: list, x: torch.Tensor) -> torch.Tensor:
        """Logits `(K, B, classes)` for `x (K, B, *sample)`, by this population's path."""
        self.template.train(train)
        if self.path == "stacked":
            return self._stacked(params, buffers, masks, x)
        if self.path == "vmap":
            return self._vmapped(params, buffers, masks, x)
        K = x.shape[0]
        return torch.stack([self._one(p, b, [[tuple(t[k] for t in call) for call in site] for site in masks], x[k])
                            for k, (p, b) in enumerate(zip(_member_states(params, K), _member_states(buffers, K)))])

    def _choose_path(self) -> tuple[str, str | None]:
        """(`path`, `note`), from a probe batch run in eval and training mode.

        Member 0 first runs alone, so a module that cannot take this data fails with its own error
        (and the dropout layers learn their mask shapes); then each way of running all members is
        tried on member 0's state, with its buffers copied and masks of ones.
        """
        name, sample, classes = self.arch.name, tuple(self.arch.input_shape), self.arch.num_classes
        probe = torch.zeros((2,) + sample, device=self.device)

        def member0(stacked: bool) -> tuple[dict, dict]:
            pick = slice(0, 1) if stacked else 0
            return ({n: p[pick].detach() for n, p in self.params.items()},
                    {n: b[pick].clone() for n, b in self.buffers.items()})

        for site in self.sites:
            site.shapes = []
        for mode in ("eval", "training"):
            self.template.train(mode == "training")
            hooks = [s.register_forward_pre_hook(_record_shape) for s in self.sites] if mode == "training" else []
            try:
                out = functional_call(self.template, member0(False), (probe,))
            except Exception as err:  # the user's module cannot run on this data
                raise GoodfitError(f"model factory {name} failed in {mode} mode on a batch of shape "
                                   f"{tuple(probe.shape)} (the data's samples have shape {sample}): {_first_line(err)}; "
                                   "fix the module, or the data, so that it runs on such a batch") from None
            finally:
                for hook in hooks:
                    hook.remove()
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, classes):
                got = f"outputs of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else f"a {type(out).__name__}"
                raise GoodfitError(f"model factory {name} returns {got} for a batch of shape {tuple(probe.shape)}; "
                                   f"it must return logits of shape (batch, {classes})")
        ones = [[tuple(torch.full((1, 2) + shape, value, device=self.device)
                       for value in ((1.0, 0.0) if site.kind in ALPHA_LAYERS else (1.0,)))
                 for shape in site.shapes] for site in self.sites]
        for path, run in (("stacked", self._stacked), ("vmap", self._vmapped)):
            if path == "stacked" and self.layers is None:
                continue
            for mode in ("eval", "training"):
                self.template.train(mode == "training")
                try:
                    run(*member0(True), ones, probe[None])
                except Exception as err:  # this way cannot run the module: try the next
                    reason = f"{_vmap_reason(err)}{' (in training mode only)' if mode == 'training' else ''}"
                    break
            else:
                return path, None
        return "members", f"model factory {name} trains member by member, not vectorized: {reason}"

    def _draw_masks(self, batch: int) -> list[list[tuple]]:
        """This step's masks, per dropout layer and call `(K, batch, *mask shape)`, one draw per member.

        Member k's bits come from its own stream, 16 per mask entry and a whole number of 64-bit
        words per step, so its masks depend neither on the other members nor on their number. An
        entry is dropped when its bits fall below `dropout_threshold(p)`.
        """
        sizes = [batch * math.prod(shape) for site in self.sites for shape in site.shapes]
        total = sum(sizes)
        bits = np.empty((self.K, total), np.uint16)
        for k, stream in enumerate(self.dropout_streams):
            bits[k] = stream.random_raw(-(-total // 4)).view(np.uint16)[:total]
        masks, start = [], 0
        for site in self.sites:
            threshold = dropout_threshold(site.p)
            calls = []
            for shape in site.shapes:
                size = batch * math.prod(shape)
                arrays = site.scale_and_shift(bits[:, start:start + size] >= threshold, threshold / DROPOUT_LEVELS)
                calls.append(tuple(torch.from_numpy(a).reshape((self.K, batch) + shape).to(self.device) for a in arrays))
                start += size
            masks.append(calls)
        return masks

    # ---- the engine's interface ---------------------------------------------------------------
    def decay_mask(self, include_bias_and_norm: bool) -> dict[str, bool]:
        """Weight decay acts on matrices and kernels (2-D and up per member); biases and norms on request."""
        return {n: p.dim() >= 3 or include_bias_and_norm for n, p in self.params.items()}

    def hidden_sizes(self) -> list[int]:
        return []

    def forward(self, x: torch.Tensor, train: bool, masks=None) -> torch.Tensor:
        """Logits `(K, B, classes)` for inputs `(K, B, *sample)`; in training each member's dropout draws its masks.

        `masks`, the engine's masks for goodfit's own models, is not used.
        """
        drawn = self._draw_masks(x.shape[1]) if train and self.sites else [[] for _ in self.sites]
        return self._run(train, self.params, self.buffers, drawn, x)

    def predict(self, X: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
        """Eval-mode logits `(K, N, classes)` for one shared input `(N, *sample)`."""
        none = [[] for _ in self.sites]
        with torch.no_grad():
            return torch.cat([self._run(False, self.params, self.buffers, none,
                                        X[i:i + chunk].unsqueeze(0).expand((self.K,) + X[i:i + chunk].shape))
                              for i in range(0, len(X), chunk)], dim=1)

    def state(self) -> dict[str, torch.Tensor]:
        return {**{n: t.detach() for n, t in self.params.items()}, **self.buffers}

    def select(self, keep: list[int]) -> "ModuleNet":
        """A new population of the members at positions `keep`; it shares only the template with this one."""
        new = copy.copy(self)
        new.members = [self.members[i] for i in keep]
        new.generators = [self.generators[i] for i in keep]
        new.dropout_streams = [self.dropout_streams[i] for i in keep]
        new.K = len(keep)
        idx = torch.tensor(keep, device=self.device)
        new.params = {n: t.detach()[idx].clone().requires_grad_(True) for n, t in self.params.items()}
        new.buffers = {n: t[idx].clone() for n, t in self.buffers.items()}
        return new

    def to_module(self, k: int) -> nn.Module:
        """Member `k` as the user's own module (its own dropout layers included), in eval mode."""
        module = self.arch.build()
        module.load_state_dict({n: t[k].detach().cpu() for n, t in self.state().items()})
        return module.eval()
