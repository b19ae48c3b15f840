"""genre-tagger: offline music genre tagging with a small neural network."""

__version__ = "0.1.0"
