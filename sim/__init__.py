"""aks-sim's core: a pure, deterministic model of AKS networking.

Its face is ``sim/__init__.pyi``; the names there load on first use.
"""

from sim.kernel.face import attach

__getattr__, __dir__, __all__ = attach(__name__, __file__)
