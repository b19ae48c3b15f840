"""Training code for genre-tagger (needs the ``train`` extra: torch, scikit-learn ...)."""
