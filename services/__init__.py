"""Shells around the simulation core, one package per shell, each on its floor (``.importlinter``):
:mod:`services.cli` (the ``aks-sim`` command) above :mod:`services.http` (the service) above
:mod:`services.live` (live runs) and :mod:`services.sweeps` (studies), above
:mod:`services.mqtt`, :mod:`services.reports` and :mod:`services.importer`, above the plain
modules beside this one (settings, logging, progress, eventlog, examples)."""
