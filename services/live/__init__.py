"""Live runs: a simulation advanced in slices on the asyncio loop, with its sinks.

:mod:`~services.live.run` (``LiveRun``: one run, paced or not, with events.jsonl, metrics and
MQTT), :mod:`~services.live.manager` (``RunManager``: the service's runs), and what they use:
:mod:`~services.live.pacer`, :mod:`~services.live.metrics`, :mod:`~services.live.recording`,
:mod:`~services.live.requests` (what clients send, parsed), :mod:`~services.live.validation`
(scenario loads in a worker process), :mod:`~services.live.history` (ended runs),
:mod:`~services.live.replay`, :mod:`~services.live.dryrun` and :mod:`~services.live.commands`
(fault commands over MQTT). Nothing here knows HTTP or the command line.
"""
