"""Studies run as sweeps: :mod:`services.sweeps.sweep` (a study's runs on local processes or a
Dask cluster, as results.csv and report.html).

Named ``sweeps``, not ``studies``: ``services.studies`` is the package-data name under which
the wheel ships the example studies of the top-level ``studies/`` directory
(``[tool.setuptools.package-dir]`` in pyproject.toml, :mod:`services.examples`).
"""
