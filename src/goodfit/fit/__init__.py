"""Function members: a study's member trained by the user's own `fit(settings, seed)`, any training loop.

    settings.py   `Settings`: the arm's remedies as plain values, and which the function never read
    member.py     one member: the function called, its history read, its result as the engine's
    script.py     `fit` loaded from a file (`goodfit study --script`)
"""
from goodfit.fit.member import FitFunction, fit_member, function_name
from goodfit.fit.script import load_fit
from goodfit.fit.settings import Settings

__all__ = ["FitFunction", "Settings", "fit_member", "function_name", "load_fit"]
