"""Sinks on the event bus: everything observable leaves the model through these.

Its face is ``sim/telemetry/__init__.pyi``; the names there load on first use.
"""

from sim.kernel.face import attach

__getattr__, __dir__, __all__ = attach(__name__, __file__)
