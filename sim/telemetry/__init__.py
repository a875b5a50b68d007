"""Sinks on the event bus: everything observable leaves the model through these."""
