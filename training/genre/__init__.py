"""Musicnn port, genre heads, export and app-path evaluation of the bundled genre model."""
