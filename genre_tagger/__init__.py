"""genre-tagger: offline music genre tagging with a small CNN."""

__version__ = "0.1.0"
