"""The Qt-free review model: statuses, decisions, re-evaluation, persistence."""

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from genre_tagger.library.policy import ERROR, WritePolicy
from genre_tagger.library.review import (
    ALREADY,
    FAILED,
    KEEPS,
    REJECTED,
    UNSURE,
    WILL_WRITE,
    WRITTEN,
    DecisionStore,
    Review,
    plural,
)


@dataclass
class FileResult:  # the fields of scanner.FileResult the review reads (keeps this test free of the model code)
    path: Path
    status: str
    top: list = field(default_factory=list)
    previous: list = field(default_factory=list)
    error: str = ""


def _result(path: Path, p: float = 0.9, previous=(), status="would-tag") -> FileResult:
    path.write_bytes(b"not audio; the review only looks at size and mtime")
    top = [("Rock", p), ("Pop", (1 - p) * 0.8), ("Jazz", (1 - p) * 0.2)]
    return FileResult(path, status, top=top, previous=list(previous))


@pytest.fixture()
def files(tmp_path):
    return {
        "sure": _result(tmp_path / "sure.mp3", 0.9),
        "unsure": _result(tmp_path / "unsure.mp3", 0.4),
        "tagged": _result(tmp_path / "tagged.mp3", 0.9, previous=["Classical"]),
        "same": _result(tmp_path / "same.mp3", 0.9, previous=["Rock"]),
        "broken": FileResult(tmp_path / "broken.mp3", ERROR, error="not an audio file, or a format genre-tagger cannot read"),
    }


def _review(files, tmp_path, **policy):
    r = Review(WritePolicy(min_confidence=0.5, **policy), DecisionStore(tmp_path / "review.sqlite3"))
    r.add(files.values())
    return r


def _cat(r: Review, name: str) -> str:
    return r.items[r.index_of(next(it.path for it in r.items if it.path.stem == name))].category


def test_statuses_in_plain_words(files, tmp_path):
    r = _review(files, tmp_path)
    assert [it.category for it in r.items] == [WILL_WRITE, UNSURE, KEEPS, ALREADY, FAILED]
    assert [it.new for it in r.items] == [["Rock"], [], ["Classical"], ["Rock"], []]
    assert r.items[4].error == "not an audio file, or a format genre-tagger cannot read"
    assert r.items[1].predicted == "Rock" and r.items[1].confidence == pytest.approx(0.4)
    assert [i for i, *_ in r.plan()] == [0]  # unsure, kept, unchanged and errors are never written by default


def test_unsure_needs_an_explicit_accept(files, tmp_path):
    r = _review(files, tmp_path)
    accepted, ask = r.accept([1])
    assert accepted == [1] and ask == []
    assert r.items[1].category == WILL_WRITE and r.items[1].new == ["Rock"]
    assert r.items[1].label == "Will write (accepted)"
    assert [i for i, *_ in r.plan()] == [0, 1]


def test_accept_never_silently_replaces_an_existing_genre(files, tmp_path):
    r = _review(files, tmp_path)
    accepted, ask = r.accept([2, 3])
    assert ask == [2]  # Classical -> Rock must be confirmed
    assert accepted == [3]  # already holds the guess: harmless
    assert r.items[2].category == KEEPS and r.items[2].new == ["Classical"]
    r.replace_with_prediction(ask)
    assert r.items[2].category == WILL_WRITE and r.items[2].new == ["Rock"]
    assert r.plan([2]) == [(2, r.items[2].path, ["Classical"], ["Rock"])]


def test_reject_and_set_genre(files, tmp_path):
    r = _review(files, tmp_path)
    r.reject([0])
    r.set_genre([1], ["Shoegaze", " ", "Shoegaze"])
    assert r.items[0].category == REJECTED and r.items[0].new == []
    assert r.items[1].category == WILL_WRITE and r.items[1].new == ["Shoegaze"]
    assert r.set_genre([4], ["Rock"]) == []  # an unreadable file cannot be decided on
    assert [i for i, *_ in r.plan()] == [1]
    r.clear_decision([0])
    assert r.items[0].category == WILL_WRITE


def test_settings_re_evaluate_without_a_rescan(files, tmp_path):
    r = _review(files, tmp_path)
    r.reject([0])
    changed = r.set_policy(WritePolicy(min_confidence=0.3, overwrite=True))
    assert sorted(changed) == [1, 2]
    assert _cat(r, "unsure") == WILL_WRITE
    assert r.items[2].new == ["Rock"] and _cat(r, "tagged") == WILL_WRITE
    assert _cat(r, "sure") == REJECTED  # decisions survive a settings change
    r.set_policy(WritePolicy(min_confidence=0.95))
    assert _cat(r, "sure") == REJECTED and _cat(r, "unsure") == UNSURE


def test_relabel_in_another_vocabulary_without_a_rescan(files, tmp_path):
    r = _review(files, tmp_path)

    def rename(result):  # e.g. another vocabulary or a user's genre names: new (top, tags) per result
        return [("Rock & Roll" if g == "Rock" else g, p) for g, p in result.top], []

    changed = r.set_policy(r.policy, rename)
    assert r.items[0].new == ["Rock & Roll"] and r.items[0].predicted == "Rock & Roll"
    assert 0 in changed and 4 not in changed  # an unreadable file has nothing to relabel
    assert r.items[3].category == KEEPS  # "Rock" is no longer the guess: it keeps its genre


def test_an_unsure_guess_never_touches_an_existing_genre(files, tmp_path):
    r = _review(files, tmp_path)
    r.set_policy(WritePolicy(min_confidence=0.95))
    assert r.items[2].category == KEEPS  # unsure, and Classical stays whatever is decided
    r.set_policy(WritePolicy(min_confidence=0.95, overwrite=True))
    assert r.items[2].category == UNSURE and r.plan() == []


def test_max_genres_never_adds_a_genre_below_the_threshold(files, tmp_path):
    r = _review(files, tmp_path, max_genres=3)
    assert r.items[0].new == ["Rock"]  # Pop 0.08 and Jazz 0.02 are below 0.5
    r.set_policy(WritePolicy(min_confidence=0.05, max_genres=3))
    assert r.items[0].new == ["Rock", "Pop"]


def test_decisions_survive_a_rescan_and_a_restart(files, tmp_path):
    r = _review(files, tmp_path)
    r.reject([0])
    r.accept([1])
    r.set_genre([2], ["Baroque"])
    r.store.close()
    again = _review(files, tmp_path)  # new store object, as after a restart; same files
    assert [it.label for it in again.items[:3]] == [REJECTED, "Will write (accepted)", "Will write (your genre)"]
    assert again.items[2].new == ["Baroque"]
    # a file changed since the decision: the decision no longer applies
    p = files["sure"].path
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    third = _review(files, tmp_path)
    assert third.items[0].category == WILL_WRITE and third.items[1].label == "Will write (accepted)"


def test_write_results_update_the_items(files, tmp_path):
    r = _review(files, tmp_path)
    r.accept([1])
    r.mark_written(files["sure"].path, ["Rock"])
    r.mark_failed(files["unsure"].path, "file is read-only")
    assert r.items[0].category == WRITTEN and r.items[0].current == ["Rock"]
    assert r.items[1].category == FAILED and r.items[1].error == "file is read-only"
    assert r.plan() == []  # neither the written nor the failed file is written again
    r.mark_restored(str(files["sure"].path.parent / ".." / files["sure"].path.parent.name / "sure.mp3"), [])  # same file, other spelling
    assert r.items[0].category == WILL_WRITE and r.items[0].current == []
    # the written file's decision is spent: a rescan does not bring "accepted" back
    assert DecisionStore(tmp_path / "review.sqlite3").get_many([r.items[0].key]) == {}


def _stored(tmp_path) -> set[str]:
    store = DecisionStore(tmp_path / "review.sqlite3")
    try:
        return {os.fsdecode(bytes(row[0])) for row in store.db.execute("SELECT path FROM decisions")}
    finally:
        store.close()


def _decide_all(folder: Path, names: list[str], tmp_path) -> Review:
    """Files under ``folder``, each with a decision stored; returns their review."""
    results = []
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        results.append(_result(folder / name))
    r = Review(WritePolicy(), DecisionStore(tmp_path / "review.sqlite3"))
    r.add(results)
    r.reject(range(len(results)))
    return r


def test_a_finished_scan_forgets_the_decisions_of_deleted_files(tmp_path):
    lib, other = tmp_path / "lib", tmp_path / "lib2"  # lib2: a sibling whose name begins like lib's
    _decide_all(lib, ["kept.mp3", "deleted.mp3", "Album/deleted.flac", "hidden.mp3"], tmp_path)
    _decide_all(other, ["deleted.mp3"], tmp_path)
    for p in (lib / "deleted.mp3", lib / "Album" / "deleted.flac", other / "deleted.mp3"):
        p.unlink()
    rescan = Review(WritePolicy(), DecisionStore(tmp_path / "review.sqlite3"))
    rescan.add([_result(lib / "kept.mp3")])  # what the scan of lib saw (hidden.mp3 exists, but unseen)
    assert rescan.forget_missing([lib]) == 2
    assert _stored(tmp_path) == {str(lib / "kept.mp3"), str(lib / "hidden.mp3"), str(other / "deleted.mp3")}
    assert rescan.forget_missing([lib]) == 0


def test_a_root_inside_another_forgets_each_decision_once(tmp_path):
    lib = tmp_path / "lib"
    _decide_all(lib, ["kept.mp3", "Album/deleted.flac", "Album/kept.flac"], tmp_path)
    (lib / "Album" / "deleted.flac").unlink()
    rescan = Review(WritePolicy(), DecisionStore(tmp_path / "review.sqlite3"))
    rescan.add([_result(lib / "kept.mp3"), _result(lib / "Album" / "kept.flac")])
    assert rescan.forget_missing([lib, lib / "Album"]) == 1  # under both roots, counted and deleted once
    assert _stored(tmp_path) == {str(lib / "kept.mp3"), str(lib / "Album" / "kept.flac")}


def test_an_unmounted_or_empty_root_forgets_nothing(tmp_path):
    disk, share = tmp_path / "disk", tmp_path / "share"
    _decide_all(disk, ["a.mp3", "b.mp3"], tmp_path)
    _decide_all(share, ["c.mp3"], tmp_path)
    for p in (disk / "a.mp3", disk / "b.mp3", share / "c.mp3"):
        p.unlink()
    disk.rmdir()  # gone: unmounted
    empty = Review(WritePolicy(), DecisionStore(tmp_path / "review.sqlite3"))  # a scan that found nothing
    assert empty.forget_missing([disk, share]) == 0  # share/ is there, but empty (an unmounted mount point)
    assert len(_stored(tmp_path)) == 3


def test_a_write_is_named_by_what_it_writes(files, tmp_path):
    r = _review(files, tmp_path)  # sure.mp3 (0) will get the model's Rock
    assert r.write_name([0]) == "Wrote the model's genres (reviewed in the app)"
    r.replace_with_prediction([2])  # tagged.mp3: Classical -> the model's guess, asked for: still the model's
    assert r.write_name([0, 2]) == "Wrote the model's genres (reviewed in the app)"
    r.set_genre([1], ["Jazz"])
    assert r.write_name([1]) == "Set genre by hand: Jazz (reviewed in the app)"
    assert r.write_name([0, 1, 2]) == "Wrote the model's genres and genres set by hand: Jazz (reviewed in the app)"
    r.set_genre([0], ["Blues", "Soul"])
    r.set_genre([2], ["Jazz"])
    assert r.write_name([0, 1, 2]) == "Set genres by hand: Blues; Soul, Jazz (reviewed in the app)"


def test_run_names():
    from genre_tagger.library.run_names import app_write_name, run_title

    assert app_write_name(0, [["A"], ["B"], ["C"], ["D"], ["E"], ["A"]]) == "Set genres by hand: A, B, C and 2 more (reviewed in the app)"
    assert run_title("gui write") == "Wrote genres (reviewed in the app)"  # every app write before names said what they wrote
    assert run_title("scan /music --dry-run") == "scan /music --dry-run"


def test_plural():
    assert plural(1, "file") == "1 file" and plural(0, "file") == "0 files" and plural(2, "entry", "entries") == "2 entries"


def test_decision_store_reads_many_files_in_batches(tmp_path):
    from genre_tagger.library.review import REJECT, SET, Decision

    store = DecisionStore(tmp_path / "review.sqlite3")
    keys = [(f"/m/{i:04d}.mp3".encode(), i, 10 * i) for i in range(1203)]  # more than two batches of 500
    store.put_many((k, Decision(SET, ("Jazz",)) if k[1] % 2 else Decision(REJECT)) for k in keys)
    got = store.get_many(keys + [(b"/m/0001.mp3", 2, 10), (b"/m/unknown.mp3", 1, 1)])  # a changed file, an unknown one
    assert len(got) == 1203
    assert got[keys[1202]] == Decision(REJECT) and got[keys[1201]] == Decision(SET, ("Jazz",))
    store.close()


# -- albums ---------------------------------------------------------------------------


@dataclass
class AlbumResult(FileResult):  # + what album grouping reads
    artist: str = ""
    album: str = ""
    album_artist: str = ""
    track_number: str = ""


def _track(folder: Path, name: str, top, album="X", artist="A", previous=()) -> AlbumResult:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"not audio")
    return AlbumResult(folder / name, "would-tag", top=top, previous=list(previous), artist=artist, album=album)


@pytest.fixture()
def album_review(tmp_path):
    from genre_tagger.library.albums import AlbumSettings, Contradiction

    x = tmp_path / "A" / "X"
    results = [
        _track(x, "01.mp3", [("Rock", 0.9), ("Pop", 0.05), ("Jazz", 0.05)]),
        _track(x, "02.mp3", [("Pop", 0.55), ("Rock", 0.4), ("Jazz", 0.05)]),  # alone: Pop, unsure at .6
        _track(x, "03.mp3", [("Jazz", 0.97), ("Rock", 0.01), ("Pop", 0.02)]),  # contradicts the album
        _track(tmp_path / "Singles", "s.mp3", [("Pop", 0.55), ("Rock", 0.45), ("Jazz", 0.0)], album=""),
    ]
    settings = AlbumSettings("mean", 1.0, 0.4, Contradiction(0.9, 0.05))
    r = Review(WritePolicy(min_confidence=0.6), DecisionStore(tmp_path / "review.sqlite3"), albums=settings)
    r.add(results[:2])
    r.add(results[2:])  # the album grows in a second batch (a scan adds results as they come)
    return r


def test_review_decides_per_album_with_its_own_threshold(album_review):
    r = album_review
    first, second, bonus, single = r.items
    assert second.album_decision.follows_album and second.predicted == "Rock"  # mean rock .437 >= the album's .4
    assert second.category == WILL_WRITE and second.new == ["Rock"] and second.result.top[0][0] == "Pop"
    assert bonus.album_decision.basis == "own-contradicts" and bonus.new == ["Jazz"]
    assert single.album is None and single.category == UNSURE  # .55 < the track threshold .6
    (key,) = r.album_keys()
    assert r.album_indices(key) == [0, 1, 2] and first.album.name == "A — X"
    assert 0 in r.last_changed or 1 in r.last_changed  # the second batch changed the album's first tracks


def test_review_album_accept_reject_and_a_track_override(album_review):
    r = album_review
    (key,) = r.album_keys()
    assert sorted(r.reject_album(key)) == [0, 1, 2]
    assert all(r.items[i].category == REJECTED for i in (0, 1, 2))
    r.set_genre([1], ["Indie"])  # one track overridden after the album's decision
    assert r.items[1].new == ["Indie"] and r.items[0].category == REJECTED
    done, ask = r.accept_album(key)
    assert sorted(done) == [0, 1, 2] and ask == []
    assert [r.items[i].new for i in (0, 1, 2)] == [["Rock"], ["Rock"], ["Jazz"]]
    r.reject([2])
    assert r.items[2].category == REJECTED and r.items[0].category == WILL_WRITE


def test_review_albums_off_is_per_track_and_album_threshold_follows_settings(album_review):
    from genre_tagger.library.albums import AlbumSettings

    r = album_review
    changed = r.set_policy(r.policy, albums=None)
    assert 1 in changed and r.items[1].category == UNSURE and r.items[1].album_decision is None  # Pop .55 < .6
    r.set_policy(r.policy, albums=AlbumSettings("mean", 1.0, 0.5))  # the album (rock .437) is now unsure too
    assert r.items[1].album_decision.follows_album and r.items[1].category == UNSURE


def test_a_changed_file_is_decided_again_by_its_album(album_review):
    """The write's recheck (a file changed since the scan) evaluates the track as the
    review did: by its album's probabilities and threshold, not by its own."""
    exp = album_review.expectation(1)  # follows the album (Rock .437 >= .4); alone it would be unsure Pop
    assert exp.redecide([]) == ["Rock"]
    assert exp.redecide(["Rock"]) == ["Rock"]  # already holds it: left unchanged


def test_scanner_expectation_uses_the_albums_probabilities():
    from genre_tagger.library.scanner import FileResult as ScanResult
    from genre_tagger.library.scanner import expectation

    res = ScanResult(Path("/x.mp3"), "tagged", top=[("Pop", 0.55), ("Rock", 0.45)], album_top=[("Rock", 0.8), ("Pop", 0.2)])
    assert expectation(res, WritePolicy(min_confidence=0.6), res.album_top).redecide([]) == ["Rock"]
    assert expectation(res, WritePolicy(min_confidence=0.6)).redecide([]) is None  # its own: unsure
