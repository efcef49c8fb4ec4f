"""`goodfit.lightning.fit`: a study's members trained by your own LightningModule (`goodfit.adapters.lightning`).

`import goodfit.lightning` does not import Lightning; a member imports it when it trains.
"""
from goodfit.adapters.lightning import fit

__all__ = ["fit"]
