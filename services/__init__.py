"""Shells around the simulation core: the command line, and later the HTTP service."""
