"""`goodfit.hf`: the Hugging Face Trainer as a study member, `Study(fit=goodfit.hf.fit(make_trainer), ...)`.

The names live in `goodfit.adapters.hf`; transformers is imported only when a member trains.
"""
from goodfit.adapters.hf import TrainerMember, fit, l2_callback, set_dropout

__all__ = ["TrainerMember", "fit", "l2_callback", "set_dropout"]
