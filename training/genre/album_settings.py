"""Put the album settings that :mod:`training.genre.albums_eval` fitted into a model's metadata.

    python -m training.genre.album_settings --model models/genre-v5.json \\
        --library results/albums_v5.json --gtzan results/albums_v5_gtzan.json

Each results file's ``shipped_settings`` becomes the ``album`` entry of that vocabulary
(schema: :class:`genre_tagger.listen.modelmeta.Vocabulary`); the app then decides albums
with them instead of :data:`genre_tagger.library.albums.DEFAULTS`. The settings are checked
by loading them as the app does before anything is written.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from genre_tagger.library.albums import AlbumSettings
from genre_tagger.listen.modelmeta import ModelMeta


def with_album_settings(meta: ModelMeta, settings: dict[str, dict]) -> ModelMeta:
    """``meta`` with ``settings[vocabulary]`` as each named vocabulary's album entry
    (KeyError for a vocabulary the model does not have)."""
    names = {v.name for v in meta.vocabularies}
    missing = set(settings) - names
    if missing:
        raise KeyError(f"the model has no vocabulary {sorted(missing)}")
    for d in settings.values():
        AlbumSettings.from_dict(d)  # as the app reads them: a bad entry fails here, not at a user's scan
    vocabs = [replace(v, album=dict(settings[v.name])) if v.name in settings else v for v in meta.vocabularies]
    return replace(meta, vocabularies=vocabs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="the model's metadata JSON (rewritten)")
    ap.add_argument("--library", type=Path, help="albums_eval results for the library vocabulary")
    ap.add_argument("--gtzan", type=Path, help="albums_eval results for the gtzan vocabulary")
    args = ap.parse_args()
    settings = {name: json.loads(p.read_text())["shipped_settings"] for name, p in (("library", args.library), ("gtzan", args.gtzan)) if p}
    meta = ModelMeta.load(args.model)
    out = with_album_settings(meta, settings).save(args.model)
    ModelMeta.load(out)  # still a valid model
    for name, d in settings.items():
        print(f"{out}: {name}: album {d['pooling']}, T {d['temperature']:.3f}, min_confidence {d['min_confidence']}")


if __name__ == "__main__":
    main()
