"""Live diagnosis inside the user's own training: Keras, Lightning, the Hugging Face Trainer and a plain PyTorch loop.

Each framework is imported only inside the function that builds its callback; `import goodfit`
pulls in none of them.
"""
from goodfit.integrations.hf import hf_callback
from goodfit.integrations.keras import keras_callback
from goodfit.integrations.lightning import lightning_callback
from goodfit.integrations.live import LiveDiagnosis
from goodfit.integrations.monitor import Monitor

__all__ = ["LiveDiagnosis", "Monitor", "hf_callback", "keras_callback", "lightning_callback"]
