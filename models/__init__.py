"""The bundled model files (installed as ``genre_tagger.models``)."""
