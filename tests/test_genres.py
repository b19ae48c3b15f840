"""The canonical genre table (genre_tagger/genres.py)."""

from genre_tagger.genres import DISPLAY, GENRE_IDS, GTZAN_GENRES, SYNONYMS, display_name, genre_id


def test_names_map_to_ids_case_insensitively():
    assert genre_id("Hip Hop") == genre_id("RAP") == genre_id("hiphop") == "hiphop"
    assert genre_id("Drum and Bass") == "electronic"
    assert genre_id(" soul ") == "rnb"
    assert genre_id("New Age") == "ambient"
    assert genre_id("Polka") == "polka"  # a name in no row counts as itself


def test_display_names_are_the_first_name_of_each_row():
    assert display_name("rnb") == "R&B" and display_name("hiphop") == "Hip-Hop"
    assert display_name("electronic") == "Electronic" and display_name("unknown") == "unknown"
    for gid in GENRE_IDS:
        assert genre_id(DISPLAY[gid]) == gid


def test_gtzan_ten_are_canonical_and_every_name_has_one_id():
    assert len(GTZAN_GENRES) == 10 and set(GTZAN_GENRES) <= set(GENRE_IDS)
    names = [n.lower() for row in SYNONYMS.values() for n in row]
    assert len(names) == len(set(names))


def test_canonical_names_of_existing_spellings():
    from genre_tagger.genres import canonical_names, spelling_changes

    assert canonical_names(["Hip Hop", "hiphop", "Electronica", "Polka", "rock"]) == ["Hip-Hop", "Electronic", "Polka", "Rock"]
    assert canonical_names(["Hip Hop"], {"hip-hop": "Rap"}) == ["Rap"]
    assert canonical_names(["Jazz"]) == ["Jazz"]
    assert spelling_changes([["Hip Hop", "Jazz"], ["RnB"]]) == {"Hip Hop": "Hip-Hop", "RnB": "R&B"}
