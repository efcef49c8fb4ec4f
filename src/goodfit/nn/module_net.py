"""A module factory as a population: K copies of the module with stacked state, run together. goodfit's own
models (`nn.population.ModuleFactory`) and a user's factory train this one way.

Owns how such a population runs (converted into stacked layers, `torch.func.vmap`, or member by member)
and which dropout masks its dropout layers take, so a member trains alike alone or in a crowd.
Per-member remedies that live inside the model (dropout, batch norm, width) reach the factory as
keyword arguments; the engine draws the dropout masks (`goodfit.engine.dropout`).
"""
from __future__ import annotations

import copy
import math
import threading
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from goodfit.errors import GoodfitError
from goodfit.nn.convert import ConvertedModule, _first_line, _vmap_reason
from goodfit.nn.dropout import DROPOUT_LEVELS, dropout_threshold
from goodfit.nn.layers import MemberDropout, Unstackable
from goodfit.nn.layers.dropout import ALPHA_LAYERS, DROPOUT_LAYERS
from goodfit.nn.stacked import Pass

# ---- the module's own dropout layers, taking each member's masks ----------------------------------
def _dropout_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, child) for name, child in module.named_modules() if name and type(child) in DROPOUT_LAYERS]


def _stand_in_for_dropout(module: nn.Module) -> list[MemberDropout]:
    """Replace `module`'s dropout layers by `MemberDropout`s, in place; all of them, in order."""
    sites = []
    for name, child in _dropout_layers(module):
        parent, _, leaf = name.rpartition(".")
        sites.append(MemberDropout(child))
        setattr(module.get_submodule(parent), leaf, sites[-1])
    return sites


def _record_shape(site: MemberDropout, args: tuple) -> None:
    site.shapes.append(site.mask_shape(tuple(args[0].shape[1:])))


def _with_masks(sites: list[MemberDropout], masks: list[list[tuple]], fn: Callable, *args):
    """`fn(*args)` with each dropout site handed its masks for the pass, and none after."""
    for site, mine in zip(sites, masks):
        site.hand(mine)
    try:
        return fn(*args)
    finally:
        for site in sites:
            site.hand([])


# ---- the population ----------------------------------------------------------------------------
def _member_states(d: dict[str, torch.Tensor], K: int) -> list[dict[str, torch.Tensor]]:
    """Each member's slice of stacked tensors, views sharing their storage (and gradient)."""
    if not d:
        return [{} for _ in range(K)]
    return [dict(zip(d, ts)) for ts in zip(*(t.unbind(0) for t in d.values()))]


def _frozen(name: str, modules: list[nn.Module]) -> frozenset[str]:
    """The parameters the factory returns with `requires_grad=False` (a frozen, perhaps pretrained, part): no
    member trains them. Every member's module must freeze the same ones."""
    frozen = [frozenset(n for n, p in m.named_parameters() if not p.requires_grad) for m in modules]
    if any(f != frozen[0] for f in frozen):
        raise GoodfitError(f"model factory {name} freezes different parameters in different members (requires_grad "
                           "False); freeze the same layers whatever the seed")
    return frozen[0]


# torch's global generator is one for the process: populations built side by side in worker threads
# seed it in turn, or one member's initialization would draw from another's seed
_GLOBAL_GENERATOR = threading.Lock()
# How each architecture runs, as its first population's probe found: later populations of it (the
# engine's sizing and timing probes, then the populations that train) take it over without probing
_CHOSEN: dict = {}


class ModuleNet:
    """K instances of a module, their state stacked, run as one population.

    Each member is initialized under its own seed, so its weights do not depend on the others, and
    the module's own dropout layers (`nn.Dropout`, `Dropout1d/2d/3d`, `AlphaDropout`,
    `FeatureAlphaDropout`) apply the masks the engine draws from the member's own stream, at the
    member's own rate (`mask_sizes`, `mask_thresholds`). Randomness the module draws itself
    (`F.dropout`, `torch.rand` in `forward`) still comes from torch's global generator.

    `path` says how the population runs: `converted` where the module traces into a graph of
    stacked layers (`goodfit.nn.convert`; each layer once for all members, the graph's own
    operations kept), `vmap` for any other module `torch.func.vmap` can batch, and `members`, one
    member after another, for one it cannot (an LSTM at the top, `.item()`, a Python `if` on a
    tensor); `note` then says why in one line, as it does for a converted module's layers that run
    under vmap or member by member. A probe batch decides, in eval and training mode, and checks
    that the converted module computes what the user's module does.

    Args:
        arch: the factory and its keyword arguments.
        members: one `MemberSettings` per member; their seeds are used.
        device: where the tensors live.

    Example:
        >>> from goodfit.nn.module_architecture import ModuleArchitecture
        >>> from goodfit.nn.population import MemberSettings
        >>> arch = ModuleArchitecture(lambda dropout: nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(dropout),
        ...                           nn.Linear(8, 2)), (), (3,), 2, "mlp", per_member=("dropout",))
        >>> net = ModuleNet(arch, [MemberSettings(0, dropout=0.5), MemberSettings(1)], "cpu")
        >>> net.forward(torch.zeros(2, 5, 3), train=True).shape, net.path, net.note
        (torch.Size([2, 5, 2]), 'converted', None)
        >>> net.mask_sizes(), net.mask_thresholds().tolist()
        ([8], [[32768], [0]])
    """

    def __init__(self, arch: "ModuleArchitecture", members, device):
        self.arch, self.members, self.device = arch, list(members), torch.device(device)
        self.K = len(self.members)
        self.generators = [torch.Generator().manual_seed(int(m.seed)) for m in self.members]
        modules = []
        for m in self.members:
            with _GLOBAL_GENERATOR, torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(m.seed))
                modules.append(arch.build(m).to(self.device))
        self.template = copy.deepcopy(modules[0])
        self.sites = _stand_in_for_dropout(self.template)
        # each member's dropout threshold per site (`dropout_threshold`): members' rates may differ
        self.thresholds = np.array([[dropout_threshold(layer.p) for _, layer in _dropout_layers(m)] for m in modules],
                                   np.int64).reshape(self.K, len(self.sites))
        self._per_site()
        self.frozen = _frozen(arch.name, modules)
        params, buffers = stack_module_state(modules)
        self.params = {n: p.detach().clone().requires_grad_(n not in self.frozen) for n, p in params.items()}
        self.buffers = dict(buffers)
        self.converted, unconverted = self._convert(modules)
        with _GLOBAL_GENERATOR, torch.random.fork_rng(devices=[]):  # probing takes nothing from the global generator
            chosen = _CHOSEN.get(arch)
            if chosen is None:
                self.path, self.note = self._choose_path(unconverted)
                _CHOSEN[arch] = self._choice()
            else:
                self._apply(chosen)
        self.template.to("meta")  # its state lives in `params` and `buffers`

    @property
    def one_chain(self) -> bool:
        """Whether the population runs as one fused chain of batched matmuls (an MLP), nothing else."""
        return self.path == "converted" and all(c.one_chain for c in self.converted.values())

    def _choice(self) -> tuple:
        """What the probe found, for the next population of this architecture: its path and note, the dropout
        sites' mask shapes and how each leaf without a counterpart runs."""
        ways = {} if self.converted is None else {
            (mode, o.target): (o.way, o.why) for mode, c in self.converted.items() for o in c.opaque}
        return self.path, self.note, [list(site.shapes) for site in self.sites], ways

    def _apply(self, chosen: tuple) -> None:
        self.path, self.note, shapes, ways = chosen
        for site, mine in zip(self.sites, shapes):
            site.shapes = list(mine)
        if self.converted is not None:
            for mode, c in self.converted.items():
                for o in c.opaque:
                    o.way, o.why = ways[(mode, o.target)]

    def _convert(self, modules: list[nn.Module]) -> tuple[dict | None, str | None]:
        """The module converted in training and in eval mode, or None and why not."""
        converted = {}
        for mode in (True, False):
            self.template.train(mode)
            try:
                converted[mode] = ConvertedModule(self.template, modules, self.arch)
            except Unstackable as err:
                return None, f"{err}{' (in training mode)' if mode else ''}"
        return converted, None

    # ---- how it runs --------------------------------------------------------------------------
    def _one(self, params: dict, buffers: dict, masks: list, x: torch.Tensor) -> torch.Tensor:
        """One member's logits `(B, classes)`: the function vmap batches."""
        return _with_masks(self.sites, masks, functional_call, self.template, (params, buffers), (x,))

    def _vmapped(self, params: dict, buffers: dict, masks: list, x: torch.Tensor) -> torch.Tensor:
        """Logits `(K, B, classes)`: `_one` batched over the members by vmap."""
        return vmap(self._one, randomness="different")(params, buffers, masks, x)

    def _stacked(self, params: dict, buffers: dict, masks: list, x: torch.Tensor) -> torch.Tensor:
        """Logits `(K, B, classes)` of the converted module: each layer once for all members."""
        ctx = Pass(self.template.training, x.shape[0])
        return _with_masks(self.sites, masks, self.converted[self.template.training], x, params, buffers, ctx)

    def _run(self, train: bool, params: dict, buffers: dict, masks: list, x: torch.Tensor) -> torch.Tensor:
        """Logits `(K, B, classes)` for `x (K, B, *sample)`, by this population's path."""
        if self.template.training != train:
            self.template.train(train)
        if self.path == "converted":
            return self._stacked(params, buffers, masks, x)
        if self.path == "vmap":
            return self._vmapped(params, buffers, masks, x)
        K = x.shape[0]
        return torch.stack([self._one(p, b, [[tuple(t[k] for t in call) for call in site] for site in masks], x[k])
                            for k, (p, b) in enumerate(zip(_member_states(params, K), _member_states(buffers, K)))])

    def _choose_path(self, unconverted: str | None) -> tuple[str, str | None]:
        """(`path`, `note`), from a probe batch run in eval and training mode.

        Member 0 first runs alone, so a module that cannot take this data fails with its own error
        (and the dropout layers learn their mask shapes); then each way of running all members is
        tried on the members' state, with buffers copied and masks of ones, and the converted
        module's outputs are checked against the user's module run member by member.
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
                want = (f"logits of shape (batch, {classes})" if classes > 1 else
                        "one prediction per sample, shape (batch, 1), for a numeric target (end with nn.Linear(..., 1))")
                raise GoodfitError(f"model factory {name} returns {got} for a batch of shape {tuple(probe.shape)}; "
                                   f"it must return {want}")
        reason = unconverted
        if self.converted is not None:
            reason = self._check_converted()
            if reason is None:
                notes = [f"model factory {name}: layer {o.target} ({type(o.module).__name__}) has no stacked "
                         f"counterpart and runs {'under vmap' if o.way == 'vmap' else 'member by member: ' + o.why}"
                         for c in self.converted.values() for o in c.opaque]
                return "converted", "; ".join(dict.fromkeys(notes)) or None
        ones = self._masks_of_ones(1, 2)
        for mode in ("eval", "training"):
            self.template.train(mode == "training")
            try:
                self._vmapped(*member0(True), ones, probe[None])
            except Exception as err:  # vmap cannot run the module
                why = f"{_vmap_reason(err)}{' (in training mode only)' if mode == 'training' else ''}"
                return "members", f"model factory {name} trains member by member, not vectorized: {why}"
        return "vmap", f"model factory {name} runs under vmap, not converted: {reason}"

    def _masks_of_ones(self, K: int, batch: int) -> list[list[tuple]]:
        """Masks that drop nothing, per dropout site and call `(K, batch, *mask shape)`: a probe's."""
        return [[tuple(torch.full((K, batch) + shape, value, device=self.device)
                       for value in ((1.0, 0.0) if site.kind in ALPHA_LAYERS else (1.0,)))
                 for shape in site.shapes] for site in self.sites]

    def _check_converted(self) -> str | None:
        """Why the converted module cannot stand in for the user's (None when it can): it fails on a probe
        batch, or computes other outputs or running statistics than the module member by member.

        A layer without a counterpart that vmap cannot batch switches to running member by member.
        """
        probe = torch.rand((self.K, 3) + tuple(self.arch.input_shape), generator=torch.Generator().manual_seed(0))
        probe = probe.to(self.device)
        ones = self._masks_of_ones(self.K, 3)
        rows = sorted({0, self.K - 1})
        for train in (False, True):
            self.template.train(train)
            for opaque in self.converted[train].opaque:
                opaque.probing = True
            buffers = {n: b.clone() for n, b in self.buffers.items()}
            try:
                with torch.no_grad():
                    out = self._stacked(self.params, buffers, ones, probe)
            except Exception as err:  # noqa: BLE001 - any failure means: not converted
                return f"the converted module fails: {_first_line(err)}"
            finally:
                for opaque in self.converted[train].opaque:
                    opaque.probing = False
            for k in rows:
                mine = ({n: p[k].detach() for n, p in self.params.items()}, {n: b[k].clone() for n, b in self.buffers.items()})
                with torch.no_grad():
                    want = _with_masks(self.sites, [[tuple(t[k] for t in call) for call in site] for site in ones],
                                       functional_call, self.template, mine, (probe[k],))
                scale = float(want.abs().max()) + 1e-6
                if not torch.allclose(out[k], want, rtol=1e-4, atol=1e-5 * scale):
                    return (f"the converted module computes other outputs than the module "
                            f"(largest difference {float((out[k] - want).abs().max()):.3g} in "
                            f"{'training' if train else 'eval'} mode)")
                for n, b in mine[1].items():
                    if b.is_floating_point() and not torch.allclose(buffers[n][k], b, rtol=1e-4, atol=1e-6):
                        return f"the converted module updates {n} otherwise than the module"
        return None

    # ---- the engine's interface ---------------------------------------------------------------
    def decay_mask(self, include_bias_and_norm: bool) -> dict[str, bool]:
        """Weight decay acts on matrices and kernels (2-D and up per member); biases and norms on request."""
        return {n: p.dim() >= 3 or include_bias_and_norm for n, p in self.params.items()}

    def _per_site(self) -> None:
        """From `thresholds`: `rates`, each member's dropout rate at each site as its masks drop `(K, sites)`, on
        the device; `dropping`, the sites some member drops at, by index."""
        self.rates = torch.as_tensor(self.thresholds / DROPOUT_LEVELS, dtype=torch.float32, device=self.device)
        self.dropping = [j for j in range(len(self.sites)) if self.thresholds[:, j].any()]

    def mask_sizes(self) -> list[int]:
        """Entries in one sample's mask per dropout call of a forward pass (site by site, call by call), for
        the sites some member drops at: what the engine draws masks for."""
        return [math.prod(shape) for j in self.dropping for shape in self.sites[j].shapes]

    def mask_thresholds(self) -> np.ndarray:
        """`(K, masks)`: each member's `dropout_threshold` for each of `mask_sizes`' masks."""
        columns = [j for j in self.dropping for _ in self.sites[j].shapes]
        return self.thresholds[:, columns]

    def _site_masks(self, masks: list[torch.Tensor]) -> list[list[tuple]]:
        """The engine's masks, one `(K, B, entries)` per entry of `mask_sizes`, as each site takes them: per
        call a tuple `(K, B, *mask shape)` (scale, and for alpha dropout a shift)."""
        per_site: list[list[tuple]] = [[] for _ in self.sites]
        given = iter(masks)
        for j in self.dropping:
            site = self.sites[j]
            for shape in site.shapes:
                mask = next(given)
                mask = mask if mask.shape[2:] == shape else mask.reshape(mask.shape[:2] + shape)
                per_site[j].append(site.scale_and_shift(mask, self.rates[:, j]))
        return per_site

    def forward(self, x: torch.Tensor, train: bool, masks: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Logits `(K, B, classes)` for inputs `(K, B, *sample)`.

        Args:
            x: each member's batch.
            train: training mode (batch statistics, running-statistics updates, dropout).
            masks: in training, the dropout masks the engine drew for this step, one `(K, B, entries)` float
                per entry of `mask_sizes` (0 for a dropped entry, else 1 / keep-probability); None (or in eval
                mode) drops nothing.
        """
        drawn = self._site_masks(masks) if train and masks else [[] for _ in self.sites]
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
        new.thresholds = self.thresholds[keep]
        new._per_site()
        new.K = len(keep)
        idx = torch.tensor(keep, device=self.device)
        new.params = {n: t.detach()[idx].clone().requires_grad_(n not in self.frozen) for n, t in self.params.items()}
        new.buffers = {n: t[idx].clone() for n, t in self.buffers.items()}
        return new

    def to_module(self, k: int) -> nn.Module:
        """Member `k` as the factory's own module (its own dropout layers included), in eval mode."""
        module = self.arch.build(self.members[k])
        module.load_state_dict({n: t[k].detach().cpu() for n, t in self.state().items()})
        return module.eval()
