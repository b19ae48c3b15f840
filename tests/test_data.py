import pytest

from training.data import (
    filtered_split,
    find_clips,
    grouped_folds,
    partition_groups,
    read_split,
    stem_of_audio,
    stem_of_image,
    stratified_split,
)


def test_name_mapping():
    assert stem_of_image("x/images_original/blues/blues00012.png") == "blues/blues.00012"
    assert stem_of_audio("d/hiphop/hiphop.00095.opus") == "hiphop/hiphop.00095"
    with pytest.raises(ValueError):
        stem_of_image("blues.00012.png")


def test_split_files_and_partition_groups(tmp_path):
    (tmp_path / "train_filtered.txt").write_text("blues/blues.00001.wav\nrock/rock.00002\n\n# c\n")
    (tmp_path / "valid_filtered.txt").write_text("jazz.00003\n")
    (tmp_path / "test_filtered.txt").write_text("pop/pop.00004\n")
    assert read_split(tmp_path / "valid_filtered.txt") == ["jazz/jazz.00003"]
    sp = filtered_split(tmp_path)
    assert sp["train"] == ["blues/blues.00001", "rock/rock.00002"]
    assert partition_groups(["pop/pop.00004", "rock/rock.00002", "x/x.00009"], sp) == ["test", "train", "none"]
    (tmp_path / "bad.txt").write_text("not a stem\n")
    with pytest.raises(ValueError):
        read_split(tmp_path / "bad.txt")


def test_find_clips_layout(tmp_path):
    for g, n in [("blues", 3), ("rock", 2)]:
        (tmp_path / g).mkdir()
        for i in range(n):
            (tmp_path / g / f"{g}.{i:05d}.wav").write_bytes(b"")
    (tmp_path / "rock" / "notes.txt").write_text("x")
    clips = find_clips(tmp_path)
    assert [c.stem for c in clips] == [f"blues/blues.{i:05d}" for i in range(3)] + [f"rock/rock.{i:05d}" for i in range(2)]
    with pytest.raises(FileNotFoundError):
        find_clips(tmp_path / "rock")


def test_stratified_split_is_seeded_and_stratified():
    labels = ["a"] * 50 + ["b"] * 10
    tr, va, te = stratified_split(labels, (0.6, 0.2, 0.2), seed=3)
    assert stratified_split(labels, (0.6, 0.2, 0.2), seed=3) == (tr, va, te)
    assert sorted(tr + va + te) == list(range(60))
    assert sum(labels[i] == "b" for i in te) == 2 and sum(labels[i] == "a" for i in te) == 10


def test_grouped_folds_keep_groups_together():
    groups = [f"g{i // 3}" for i in range(30)]
    folds = grouped_folds(groups, 4, seed=0)
    assert sorted(i for f in folds for i in f) == list(range(30))
    for f in folds:
        others = {groups[i] for g in folds if g is not f for i in g}
        assert not {groups[i] for i in f} & others
