"""Populations of modules: any `nn.Module` factory's K members with stacked state (`ModuleNet`), converted
into stacked layers (`goodfit.nn.convert`, `goodfit.nn.layers`); goodfit's own models as ordinary factories.
"""
from goodfit.nn.module_architecture import ModuleArchitecture
from goodfit.nn.module_net import ModuleNet
from goodfit.nn.population import Architecture, MemberSettings

__all__ = ["Architecture", "MemberSettings", "ModuleArchitecture", "ModuleNet"]
