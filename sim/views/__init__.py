"""Views on a run: they read the model and never change it (report, stats, timeline,
reach, route); nothing below imports them."""
