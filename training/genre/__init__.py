"""The genre models, one chain: tagger ports (musicnn, mn04), feature caches, heads, export
and app-path evaluation of the bundled model (v5) and its v4 comparison model."""
