"""The library application: finds a library's files, scans them (listening + tags), decides
what to write (:mod:`.policy`, :mod:`.review`), hands the writes to the tag store, and
reports (:mod:`.report`, :mod:`.playlists`, :mod:`.progress`). Used by the CLI and the GUI,
imports no Qt."""
