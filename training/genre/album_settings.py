"""Put the album settings that :mod:`training.genre.albums_eval` fitted into a model's metadata.

    python -m training.genre.album_settings --model models/genre-v5.json \\
        --library results/albums_v5.json --gtzan results/albums_v5_gtzan.json \\
        [--app-eval results/albums_v5_app.json]

Each results file's ``shipped_settings`` becomes the ``album`` entry of that vocabulary
(schema: :class:`genre_tagger.listen.modelmeta.Vocabulary`); the app then decides albums
with them instead of :data:`genre_tagger.library.albums.DEFAULTS`. The settings are checked
by loading them as the app does before anything is written. With ``--app-eval`` (an
``albums_app_eval`` run of the same settings through the app's scan) the library
vocabulary's entry also gets ``accuracy``: that run's written precision and coverage,
which the app's About box shows.
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


def app_figures(app: dict) -> dict:
    """An ``albums_app_eval`` result -> the album entry's ``accuracy`` (written precision and
    coverage of the album clips through the app's scan, with their protocol)."""
    a = app["all"]
    protocol = (f"realmusic artist-grouped 5-fold CV, clips of artists with >= 2 clips as albums, through the app's scan "
                f"with default settings ({app['command']})")  # fmt: skip
    return {"written_precision": {"value": round(a["written_precision"], 4), "clips": a["clips"], "protocol": protocol},
            "coverage": {"value": round(a["coverage"], 4), "clips": a["clips"], "protocol": protocol}}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="the model's metadata JSON (rewritten)")
    ap.add_argument("--library", type=Path, help="albums_eval results for the library vocabulary")
    ap.add_argument("--gtzan", type=Path, help="albums_eval results for the gtzan vocabulary")
    ap.add_argument("--app-eval", type=Path, help="albums_app_eval results: the library entry's accuracy figures")
    args = ap.parse_args()
    settings = {name: json.loads(p.read_text())["shipped_settings"] for name, p in (("library", args.library), ("gtzan", args.gtzan)) if p}
    if args.app_eval:
        if "library" not in settings:
            ap.error("--app-eval needs --library (the settings it measured)")
        settings["library"]["accuracy"] = app_figures(json.loads(args.app_eval.read_text()))
    meta = ModelMeta.load(args.model)
    out = with_album_settings(meta, settings).save(args.model)
    ModelMeta.load(out)  # still a valid model
    for name, d in settings.items():
        print(f"{out}: {name}: album {d['pooling']}, T {d['temperature']:.3f}, min_confidence {d['min_confidence']}")


if __name__ == "__main__":
    main()
