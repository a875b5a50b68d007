"""HTML reports: :mod:`services.reports.html` (one self-contained file for a run or a sweep
directory) and :mod:`services.reports.svgplot` (the inline SVG charts it draws)."""
