"""Layers whose parameters are stacked over the members of a population.

`PopulationNet` holds K networks of one architecture in stacked tensors; per-member settings
(dropout rate, batch norm on or off, active width) are tensors too.
"""
from goodfit.nn.population import Architecture, MemberSettings, PopulationNet

__all__ = ["Architecture", "MemberSettings", "PopulationNet"]
