"""The canonical genre table: ids, display names and the names that map to each id.

Defined once here and used by the app and the trainer. The table is the one the
real-music evaluation set uses (``realmusic/README.md``): a genre *name* (from a tag,
a model, a user) maps to a canonical *id* case-insensitively; a name that is in no row
counts as itself. The display name of an id (what is written into tags) is the first
name of its row, e.g. ``hiphop`` → "Hip-Hop", ``rnb`` → "R&B".
"""

from __future__ import annotations

# id -> names (first = display name); the order is the canonical order of the ids
SYNONYMS: dict[str, tuple[str, ...]] = {
    "blues": ("Blues",),
    "classical": ("Classical", "Orchestral", "Opera", "Baroque", "Chamber Music"),
    "country": ("Country", "Bluegrass", "Americana"),
    "disco": ("Disco",),
    "electronic": ("Electronic", "Electronica", "Electro", "Dance", "House", "Techno", "Trance", "EDM",
                   "Drum and Bass", "Dubstep", "IDM", "Breakbeat", "Downtempo", "Trip Hop"),
    "hiphop": ("Hip-Hop", "Hip Hop", "Rap", "Trap"),
    "jazz": ("Jazz", "Swing", "Bebop", "Jazz Fusion"),
    "metal": ("Metal", "Heavy Metal", "Death Metal", "Black Metal", "Thrash Metal"),
    "pop": ("Pop", "Indie Pop", "Synthpop", "Dance-Pop"),
    "reggae": ("Reggae", "Ska", "Dub", "Dancehall"),
    "rock": ("Rock", "Alternative", "Alternative Rock", "Indie", "Indie Rock", "Classic Rock", "Hard Rock",
             "Progressive Rock", "Psychedelic Rock", "Grunge", "Post-Rock", "Pop Rock"),
    "punk": ("Punk", "Punk Rock", "Hardcore"),
    "rnb": ("R&B", "RnB", "Soul", "Funk", "Rhythm and Blues", "Neo-Soul"),
    "folk": ("Folk", "Singer-Songwriter"),
    "latin": ("Latin", "Salsa", "Reggaeton", "Bossa Nova", "Tango"),
    "world": ("World", "World Music"),
    "ambient": ("Ambient", "New Age", "Chillout"),
    "soundtrack": ("Soundtrack", "Film Score", "Score"),
    "religious": ("Gospel", "Christian", "Religious"),
    "experimental": ("Experimental", "Avant-Garde"),
    "easylistening": ("Easy Listening", "Lounge"),
}  # fmt: skip

GENRE_IDS: tuple[str, ...] = tuple(SYNONYMS)
DISPLAY: dict[str, str] = {gid: names[0] for gid, names in SYNONYMS.items()}

# the ten classes of GTZAN (the seed report's vocabulary), in the seed's order
GTZAN_GENRES: tuple[str, ...] = (
    "blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock",
)  # fmt: skip

_BY_NAME: dict[str, str] = {name.lower(): gid for gid, names in SYNONYMS.items() for name in names}
_BY_NAME.update({gid: gid for gid in SYNONYMS})  # an id is a name of itself ("hiphop", "rnb")


def genre_id(name: str) -> str:
    """Canonical id of a genre name (case-insensitive); an unknown name counts as itself."""
    key = name.strip().lower()
    return _BY_NAME.get(key, key)


def display_name(gid: str) -> str:
    """Display name of a canonical id ("rnb" → "R&B"); an unknown id is returned as is."""
    return DISPLAY.get(gid, gid)


def canonical_names(genres: list[str], mapping: dict[str, str] | None = None) -> list[str]:
    """Existing genres in the canonical table's spelling: every name of a row becomes its
    display name ("Hip Hop", "hiphop", "Rap" → "Hip-Hop"; "Electronica" → "Electronic"),
    then the user's ``mapping`` (lower-case name → their name, as ``--map`` gives it);
    a name in no row is kept as it is. Duplicates that result are dropped, order kept."""
    mapping = mapping or {}
    out: list[str] = []
    for g in genres:
        gid = genre_id(g)
        name = DISPLAY.get(gid, g)
        name = mapping.get(name.lower(), mapping.get(gid, name))
        if name not in out:
            out.append(name)
    return out


def spelling_changes(genres_of_files: list[list[str]], mapping: dict[str, str] | None = None) -> dict[str, str]:
    """{existing name: canonical name} for every name of ``genres_of_files`` that normalising changes."""
    out: dict[str, str] = {}
    for genres in genres_of_files:
        for g in genres:
            new = canonical_names([g], mapping)
            if new != [g]:
                out[g] = new[0]
    return out
