"""Names of the musicnn taggers' features, shared by the library chain.

Per window each tagger (MSD_musicnn, MTT_musicnn) gives 50 tag logits and a 200-d
penultimate embedding: :data:`DIMS` names these blocks, :func:`block_names` their features
in order, :data:`TAG_NAMES` the tags. :data:`EVIDENCE` says which tags are a genre's own
evidence (an evidence head lets such a genre read only them, keeping the taggers'
real-music knowledge: ``library_experiments.evidence_mask``, ``fusion_experiments``);
:data:`EXTRA_GENRES` the taggers' other genre-like tags, shown by the app as tags.

(Until the v3 chain was retired this was ``heads.py``, with the GTZAN-only head
``GenreHead``; see ``results/head_selection.md``.)
"""

from __future__ import annotations

from .musicnn import MSD_LABELS, MTT_LABELS

TAG_NAMES = [f"msd:{t}" for t in MSD_LABELS] + [f"mtt:{t}" for t in MTT_LABELS]

# tag evidence per genre (names in TAG_NAMES); genres absent here learn from everything
EVIDENCE = {
    "blues": ["msd:blues"],
    "classical": ["mtt:classical", "mtt:classic"],
    "country": ["msd:country", "mtt:country"],
    "hiphop": ["msd:Hip-Hop"],
    "jazz": ["msd:jazz"],
    "metal": ["msd:metal", "msd:heavy metal", "mtt:metal"],
    "pop": ["msd:pop", "mtt:pop"],
    "rock": ["msd:rock", "mtt:rock", "msd:classic rock", "msd:hard rock"],
}

# the taggers' other genre-like tags, offered as a richer vocabulary (display names)
EXTRA_GENRES = {
    "msd:electronic": "Electronic", "msd:electronica": "Electronica", "msd:electro": "Electro",
    "msd:dance": "Dance", "msd:House": "House", "mtt:techno": "Techno", "msd:ambient": "Ambient",
    "mtt:new age": "New Age", "msd:folk": "Folk", "msd:punk": "Punk", "msd:soul": "Soul",
    "msd:rnb": "R&B", "msd:funk": "Funk", "msd:indie": "Indie", "msd:alternative": "Alternative",
    "msd:alternative rock": "Alternative Rock", "msd:indie rock": "Indie Rock", "msd:indie pop": "Indie Pop",
    "msd:classic rock": "Classic Rock", "msd:hard rock": "Hard Rock", "msd:heavy metal": "Heavy Metal",
    "msd:Progressive rock": "Progressive Rock", "msd:easy listening": "Easy Listening",
    "msd:chillout": "Chillout", "msd:experimental": "Experimental", "mtt:opera": "Opera",
    "mtt:choral": "Choral", "mtt:indian": "Indian", "msd:oldies": "Oldies",
}  # fmt: skip

# the tagger blocks (cached per window, feature order of the heads) and their widths
DIMS = {"msd_logits": 50, "mtt_logits": 50, "msd_embedding": 200, "mtt_embedding": 200}


def block_names(blocks) -> list[str]:
    """Feature names of the tagger blocks ``blocks`` (keys of :data:`DIMS`), in order:
    tag logits as in :data:`TAG_NAMES`, embedding dimensions as ``"<block>[i]"``."""
    names: list[str] = []
    for block in blocks:
        if block.endswith("_logits"):
            names += TAG_NAMES[:50] if block.startswith("msd") else TAG_NAMES[50:]
        else:
            names += [f"{block}[{i}]" for i in range(DIMS[block])]
    return names
