"""Album sense (genre_tagger.library.albums): grouping rules, pooling, the contradiction rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from genre_tagger.library.albums import (
    FOLLOWS_ALBUM,
    MEAN,
    MEAN_LOG,
    OWN_CONTRADICTS,
    OWN_SINGLE,
    AlbumSettings,
    Contradiction,
    TrackRef,
    album_decisions,
    album_folder,
    album_title,
    contradicts,
    group_tracks,
    pool,
    settings_for,
)
from genre_tagger.listen.modelmeta import Vocabulary

M = Path("/music")


def t(rel: str, artist="", album="", album_artist="", track="", disc="") -> TrackRef:
    return TrackRef(M / rel, artist, album, album_artist, track, disc)


def keys(tracks):
    return [a.key if a else None for a in group_tracks(tracks)]


def test_album_tags_make_one_album_and_album_artist_wins_over_track_artists():
    ks = keys([
        t("A/X/01.mp3", "Artist A", "Album X", track="1"),
        t("A/X/02.mp3", "artist  a", "ALBUM X", track="2"),  # case and spaces do not matter
        t("A/Y/01.mp3", "Artist A", "Album Y"),
        t("B/Z/01.mp3", "B feat. C", "Zed", "Band B"),
        t("B/Z/02.mp3", "B", "Zed", "Band B"),
    ])
    assert ks[0] == ks[1] and ks[0] is not None
    assert ks[2] not in (None, ks[0])
    assert ks[3] == ks[4] is not None


def test_same_title_by_other_artists_is_another_album():
    ks = keys([t("A/Hits/01.mp3", "A", "Greatest Hits"), t("B/Hits/01.mp3", "B", "Greatest Hits")])
    assert ks[0] != ks[1]


def test_multi_disc_is_one_album_by_tags_and_by_disc_folders():
    ks = keys([
        t("A/X/Disc 1/01.flac", "A", "X (Disc 1)", disc="1"),
        t("A/X/Disc 2/01.flac", "A", "X (Disc 2)", disc="2"),
        t("A/X/CD3/01.flac", "A", "X [CD 3]", disc="3"),
    ])
    assert ks[0] == ks[1] == ks[2] is not None
    assert album_folder(M / "A/X/Disc 2/01.flac") == M / "A/X"
    assert album_folder(M / "A/X/CD1/01.flac") == M / "A/X"
    assert album_folder(M / "A/Discovery/01.flac") == M / "A/Discovery"  # a title, not a disc folder
    assert album_title("Kind of Blue") == "kind of blue"
    # untagged numbered discs of one artist: one album across the disc folders
    ks = keys([t("A/Y/CD1/01 a.mp3", "A"), t("A/Y/CD1/02 b.mp3", "A"), t("A/Y/CD2/01 a.mp3", "A", disc="2", track="1")])
    assert ks[0] == ks[1] == ks[2] is not None


@pytest.mark.parametrize("va", ["Various Artists", "VA", "various", "V.A."])
def test_compilations_by_album_artist_are_per_track(va):
    assert keys([t("C/1.mp3", "A", "Now 99", va), t("C/2.mp3", "A", "Now 99", va)]) == [None, None]


def test_compilation_without_album_artist_is_per_track():
    tracks = [t("C/01.mp3", "A", "Summer Mix", track="1"), t("C/02.mp3", "B", "Summer Mix", track="2"),
              t("C/03.mp3", "A", "Summer Mix", track="3")]  # fmt: skip
    assert keys(tracks) == [None, None, None]
    # guests do not make an album a compilation
    assert None not in keys([t("D/01.mp3", "A", "Solo"), t("D/02.mp3", "A feat. B", "Solo"), t("D/03.mp3", "A ft. C", "Solo")])


def test_numbered_tracks_of_one_artist_without_album_tags_are_one_album():
    ks = keys([t("A/Live/01 Intro.mp3", "A"), t("A/Live/02 - Song.mp3", "A"), t("A/Live/03.Song.mp3", "A")])
    assert ks[0] == ks[1] == ks[2] is not None
    # track number tags count as numbers too
    ks = keys([t("A/L2/intro.mp3", "A", track="1/9"), t("A/L2/song.mp3", "A", track="2/9")])
    assert ks[0] == ks[1] is not None


@pytest.mark.parametrize(
    "tracks",
    [
        # a downloads folder: different artists, numbered or not
        [t("Downloads/01 x.mp3", "A"), t("Downloads/02 y.mp3", "B"), t("Downloads/03 z.mp3", "C")],
        # one artist, but not numbered: a folder of singles
        [t("Singles/Song one.mp3", "A"), t("Singles/Song two.mp3", "A")],
        # numbered, but a number twice (two albums' tracks in one folder)
        [t("Mixed/01 a.mp3", "A"), t("Mixed/01 b.mp3", "A"), t("Mixed/02 c.mp3", "A")],
        # no artist tag at all
        [t("Unknown/01.mp3"), t("Unknown/02.mp3")],
        # one file
        [t("One/01 a.mp3", "A")],
    ],
)
def test_a_folder_that_is_not_evidently_one_album_is_never_pooled(tracks):
    assert keys(tracks) == [None] * len(tracks)


def test_a_rip_without_any_tags_is_one_album_when_numbered_1_to_n():
    """WAV rips often carry no tags at all: numbered 1..N without a gap, one format, 3 or more."""
    rip = [t(f"Rips/Some CD/{n:02d} Track {n}.wav") for n in (3, 1, 2, 4)]
    ks = keys(rip)
    assert ks[0] == ks[1] == ks[2] == ks[3] is not None
    assert group_tracks(rip)[0].name == "Some CD"  # no artist to show: the folder's name
    # two discs in Disc folders, each numbered from 1
    ks = keys([t("R/X/CD1/01.wav"), t("R/X/CD1/02.wav"), t("R/X/CD2/01.wav", disc="2"), t("R/X/CD2/02.wav", disc="2")])
    assert len(set(ks)) == 1 and ks[0] is not None


@pytest.mark.parametrize(
    "tracks",
    [
        [t("U/01.wav"), t("U/02.wav"), t("U/04.wav")],  # a gap: not evidently one album
        [t("U/02.wav"), t("U/03.wav"), t("U/04.wav")],  # not from 1
        [t("U/01.wav"), t("U/02.mp3"), t("U/03.flac")],  # mixed formats: gathered files
        [t("U/01.wav"), t("U/02.wav"), t("U/03.wav", "A")],  # one with an artist: not the same source
        [t("U/01.wav"), t("U/02.wav"), t("U/song.wav")],  # one not numbered
    ],
)
def test_an_artist_less_folder_that_is_not_evidently_a_rip_is_never_pooled(tracks):
    assert keys(tracks) == [None] * len(tracks)


def test_untagged_files_beside_a_tagged_album_are_judged_on_their_own():
    ks = keys([t("F/01 a.mp3", "A", "Album"), t("F/02 b.mp3", "A", "Album"), t("F/bonus.mp3", "Z")])
    assert ks[0] == ks[1] is not None and ks[2] is None


# -- pooling and decisions ------------------------------------------------------------


def top(**p):
    return sorted(p.items(), key=lambda kv: -kv[1])


def test_pool_mean_and_mean_log_with_temperature():
    a, b = top(rock=0.6, pop=0.4), top(rock=0.8, pop=0.2)
    assert dict(pool([a, b], AlbumSettings(MEAN, 1.0))) == pytest.approx({"rock": 0.7, "pop": 0.3})
    g = dict(pool([a, b], AlbumSettings(MEAN_LOG, 1.0)))
    r, p = (0.6 * 0.8) ** 0.5, (0.4 * 0.2) ** 0.5
    assert g == pytest.approx({"rock": r / (r + p), "pop": p / (r + p)})
    sharp = dict(pool([a, b], AlbumSettings(MEAN, 0.5)))
    assert sharp["rock"] == pytest.approx(0.49 / (0.49 + 0.09))
    assert pool([a, b], AlbumSettings(MEAN, 1.0))[0][0] == "rock"


def test_pool_merges_genres_mapped_to_one_name():
    assert dict(pool([[("Rap", 0.5), ("Rap", 0.3), ("Pop", 0.2)]], AlbumSettings(MEAN, 1.0))) == pytest.approx({"Rap": 0.8, "Pop": 0.2})


def test_contradiction_rule_by_numbers():
    rule = Contradiction(own_min=0.8, album_max=0.05)
    assert contradicts(top(jazz=0.9, rock=0.04, pop=0.06), "rock", rule)
    assert not contradicts(top(jazz=0.9, rock=0.06, pop=0.04), "rock", rule)  # the album's genre is not unlikely enough
    assert not contradicts(top(jazz=0.79, rock=0.01, pop=0.2), "rock", rule)  # own evidence not strong enough
    assert not contradicts(top(rock=0.95, jazz=0.05), "rock", rule)  # agrees


def test_album_decisions_follow_the_album_except_a_strong_contradiction():
    s = AlbumSettings(MEAN, 1.0, 0.8, Contradiction(0.8, 0.05))
    tracks = [t("A/X/01.mp3", "A", "X"), t("A/X/02.mp3", "A", "X"), t("A/X/03.mp3", "A", "X"), t("A/X/04.mp3", "A", "X"),
              t("S/single.mp3", "B"), t("A/Y/01.mp3", "A", "Y")]  # fmt: skip
    tops = [top(rock=0.7, pop=0.3), top(rock=0.55, pop=0.45), top(pop=0.6, rock=0.4), top(jazz=0.96, rock=0.02, pop=0.02),
            top(pop=0.9, rock=0.1), top(jazz=0.5, rock=0.5)]  # fmt: skip
    d = album_decisions(group_tracks(tracks), tops, s)
    assert [x.basis for x in d] == [FOLLOWS_ALBUM, FOLLOWS_ALBUM, FOLLOWS_ALBUM, OWN_CONTRADICTS, OWN_SINGLE, OWN_SINGLE]
    assert d[2].top[0][0] == "rock" and d[2].tracks == 4  # the pop-leaning track takes the album's rock
    assert d[3].top[0][0] == "jazz" and d[3].album_top[0][0] == "rock"  # the bonus track keeps its own
    assert d[4].album is None
    assert d[5].album is not None and d[5].tracks == 1 and d[5].top == tops[5]  # an album of one: as a track


def test_settings_from_metadata_and_user_threshold():
    v = Vocabulary("library", "probs_library", ["rock"], ["Rock"], 0.9)
    assert settings_for(v).min_confidence == AlbumSettings.from_dict({}, settings_for(v)).min_confidence
    album = {"pooling": "mean-log", "temperature": 2.0, "min_confidence": 0.7, "contradiction": {"own_min": 0.9}}
    v2 = Vocabulary("library", "probs_library", ["rock"], ["Rock"], 0.9, album=album)
    s = settings_for(v2)
    assert (s.pooling, s.temperature, s.min_confidence, s.contradiction.own_min) == ("mean-log", 2.0, 0.7, 0.9)
    assert settings_for(v2, user_min_confidence=0.5).min_confidence == 0.5
    assert Vocabulary.from_dict(v2.to_dict()) == v2
    assert "album" not in v.to_dict()  # models without album settings keep their metadata as it was
    with pytest.raises(ValueError):
        AlbumSettings(pooling="median")


@pytest.mark.parametrize("fmt", ["mp3", "flac", "m4a", "ogg"])
def test_read_tags_gives_album_artist_track_and_disc(fmt, tmp_path):
    """What grouping reads, in each tag family (MP4 keeps numbers as (n, total) pairs)."""
    from devtools.synth import EXTENSION, write_audio
    from genre_tagger.tagstore.tags import read_tags

    p = write_audio(tmp_path / f"t.{EXTENSION.get(fmt, fmt)}", fmt, seconds=1.0)
    if fmt == "mp3":
        from mutagen.id3 import ID3, TALB, TPE1, TPE2, TPOS, TRCK

        tag = ID3()
        for frame in (TPE1(text="A"), TALB(text="X"), TPE2(text="Band"), TRCK(text="3/12"), TPOS(text="2/2")):
            tag.add(frame)
        tag.save(p)
    elif fmt == "m4a":
        from mutagen.mp4 import MP4

        f = MP4(p)
        f["\xa9ART"], f["\xa9alb"], f["aART"], f["trkn"], f["disk"] = ["A"], ["X"], ["Band"], [(3, 12)], [(2, 2)]
        f.save()
    else:
        import mutagen

        f = mutagen.File(p)
        f["artist"], f["album"], f["albumartist"], f["tracknumber"], f["discnumber"] = "A", "X", "Band", "3/12", "2/2"
        f.save()
    t = read_tags(p)
    assert (t.artist, t.album, t.album_artist) == ("A", "X", "Band")
    assert t.track_number.split("/")[0] == "3" and t.disc_number.split("/")[0] == "2"


def test_gate_releases_loose_tracks_at_once_and_an_album_when_its_folder_is_complete():
    from genre_tagger.library.albums import AlbumGate

    s = AlbumSettings(MEAN, 1.0, 0.5)
    x = [t("A/X/01.mp3", "A", "X"), t("A/X/02.mp3", "A", "X"), t("A/X/Disc 2/01.mp3", "A", "X", disc="2")]
    loose = [t("D/01 a.mp3", "A"), t("D/song.mp3", "A"), t("D/02 b.mp3", "A")]  # not numbered: not one album
    gate = AlbumGate([r.path for r in x + loose], s)
    assert gate.add(x[0].path, x[0], top(rock=0.9, pop=0.1), "x0") == []  # held: its album folder is not complete
    assert gate.add(loose[0].path, loose[0], top(pop=0.9, rock=0.1), "l0") == []  # may still be one album
    out = gate.add(loose[1].path, loose[1], top(pop=0.9, rock=0.1), "l1")  # no number: the folder is not one album
    assert sorted(p for p, _ in out) == ["l0", "l1"] and all(d.basis == OWN_SINGLE for _, d in out)
    assert [p for p, _ in gate.add(loose[2].path, loose[2], top(pop=0.9, rock=0.1), "l2")] == ["l2"]
    assert gate.add(x[1].path, x[1], top(rock=0.7, pop=0.3), "x1") == []  # Disc 2 belongs to the same album folder
    out = dict(gate.add(x[2].path, None, [], "failed"))  # a failed file completes the folder too
    assert set(out) == {"x0", "x1"} and all(d.basis == FOLLOWS_ALBUM and d.tracks == 2 for d in out.values())
    assert gate.flush() == []


def test_gate_holds_an_artist_less_rip_until_its_folder_is_complete():
    from genre_tagger.library.albums import AlbumGate

    rip = [t(f"Rip/{n:02d}.wav") for n in (2, 3, 1)]  # out of order, as workers finish
    gate = AlbumGate([r.path for r in rip], AlbumSettings(MEAN, 1.0, 0.5))
    assert gate.add(rip[0].path, rip[0], top(jazz=0.6, blues=0.4), 0) == []
    assert gate.add(rip[1].path, rip[1], top(jazz=0.7, blues=0.3), 1) == []  # 02 and 03: 01 may still come
    out = dict(gate.add(rip[2].path, rip[2], top(blues=0.55, jazz=0.45), 2))
    assert set(out) == {0, 1, 2} and all(d.basis == FOLLOWS_ALBUM and d.tracks == 3 for d in out.values())
    # a gap once the folder is complete: every track decided on its own
    gap = [t(f"Gap/{n:02d}.wav") for n in (1, 2, 5)]
    gate = AlbumGate([r.path for r in gap], AlbumSettings(MEAN, 1.0, 0.5))
    out = [d for r in gap for _, d in gate.add(r.path, r, top(jazz=0.9, blues=0.1), r.path)]
    assert len(out) == 3 and all(d.basis == OWN_SINGLE for d in out)
    # another format shows up: released at once, without waiting for the folder
    mixed = [t("Mix/01.wav"), t("Mix/02.mp3"), t("Mix/03.wav")]
    gate = AlbumGate([r.path for r in mixed], AlbumSettings(MEAN, 1.0, 0.5))
    assert gate.add(mixed[0].path, mixed[0], top(jazz=0.9, blues=0.1), 0) == []
    assert sorted(p for p, _ in gate.add(mixed[1].path, mixed[1], top(jazz=0.9, blues=0.1), 1)) == [0, 1]
    # numbers a rip of this folder's size cannot have (00, or 07 of 3 files): released at once
    odd = [t("Odd/00.wav"), t("Odd/01.wav"), t("Odd/02.wav"), t("Big/07.wav"), t("Big/01.wav"), t("Big/02.wav")]
    gate = AlbumGate([r.path for r in odd], AlbumSettings(MEAN, 1.0, 0.5))
    assert [p for p, _ in gate.add(odd[0].path, odd[0], top(jazz=0.9, blues=0.1), 0)] == [0]
    assert [p for p, _ in gate.add(odd[1].path, odd[1], top(jazz=0.9, blues=0.1), 1)] == [1]  # the folder is not one album
    assert [p for p, _ in gate.add(odd[3].path, odd[3], top(jazz=0.9, blues=0.1), 3)] == [3]


def test_gate_releases_a_downloads_folder_as_soon_as_a_second_artist_shows():
    from genre_tagger.library.albums import AlbumGate

    d = [t("Downloads/01 a.mp3", "A"), t("Downloads/02 b.mp3", "B"), t("Downloads/03 c.mp3", "C")]
    gate = AlbumGate([r.path for r in d], AlbumSettings())
    assert gate.add(d[0].path, d[0], top(pop=0.9, rock=0.1), 0) == []
    assert sorted(p for p, _ in gate.add(d[1].path, d[1], top(pop=0.9, rock=0.1), 1)) == [0, 1]
    assert [p for p, _ in gate.add(d[2].path, d[2], top(pop=0.9, rock=0.1), 2)] == [2]


def test_gate_decides_an_album_spread_over_two_folders_with_all_its_tracks():
    from genre_tagger.library.albums import AlbumGate

    a = [t("A/X/01.mp3", "A", "X"), t("A/X/02.mp3", "A", "X"), t("A/X (bonus)/03.mp3", "A", "X")]
    gate = AlbumGate([r.path for r in a], AlbumSettings(MEAN, 1.0, 0.5, Contradiction(0.99, 0.0)))
    gate.add(a[0].path, a[0], top(rock=0.9, pop=0.1), 0)
    first = dict(gate.add(a[1].path, a[1], top(rock=0.6, pop=0.4), 1))
    assert first[0].tracks == 2 and dict(first[0].top)["rock"] == pytest.approx(0.75)
    (late,) = gate.add(a[2].path, a[2], top(pop=0.9, rock=0.1), 2)  # its own folder: pooled with the two before
    assert late[1].tracks == 3 and late[1].follows_album and dict(late[1].top)["rock"] == pytest.approx(1.6 / 3)


@pytest.mark.parametrize("vocabulary", ["library", "gtzan"])
def test_default_settings_are_the_committed_fit(vocabulary):
    """albums.DEFAULTS are what training/genre/albums_eval.py fitted for the bundled (v4) model."""
    import json

    from genre_tagger.library.albums import DEFAULTS

    name = "albums_v4.json" if vocabulary == "library" else "albums_v4_gtzan.json"
    fit = json.loads((Path(__file__).resolve().parents[1] / "results" / name).read_text())["shipped_settings"]
    d = DEFAULTS[vocabulary]
    assert (d.pooling, d.min_confidence, d.contradiction.to_dict()) == (fit["pooling"], fit["min_confidence"], fit["contradiction"])
    assert d.temperature == pytest.approx(fit["temperature"], abs=5e-4)


def test_fitted_album_settings_go_into_the_model_metadata_and_the_app_reads_them(tiny_model_path, tmp_path):
    """training.genre.album_settings writes albums_eval's shipped settings into a model's
    metadata; the app's settings_for then uses them instead of the v4 defaults."""
    import shutil

    from genre_tagger.library.albums import settings_for
    from genre_tagger.listen.modelmeta import ModelMeta
    from training.genre.album_settings import with_album_settings

    for f in (tiny_model_path.with_suffix(".json"), tiny_model_path.with_suffix(".onnx")):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / tiny_model_path.with_suffix(".json").name
    meta = ModelMeta.load(path)
    name = meta.vocabularies[0].name
    fitted = {"pooling": "mean-log", "temperature": 0.85, "min_confidence": 0.81, "contradiction": {"own_min": 0.95, "album_max": 0.2}}
    with_album_settings(meta, {name: fitted}).save(path)
    s = settings_for(ModelMeta.load(path).vocabulary(name))
    assert (s.pooling, s.temperature, s.min_confidence, s.contradiction.own_min) == ("mean-log", 0.85, 0.81, 0.95)
    with pytest.raises(KeyError):
        with_album_settings(meta, {"no-such-vocabulary": fitted})
