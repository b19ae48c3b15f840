"""The tag storage engine: reads and writes the genre field of audio files, never their
audio, every write journaled before the file is touched and undoable byte-exactly.

Tag families (:mod:`.tags`, byte views in :mod:`.rawtags`), the planned file
(:mod:`.overlay`), the audio payload check (:mod:`.payload`), block moves (:mod:`.shift`),
the write-ahead journal (:mod:`.journal`), applying a write (:mod:`.write`), crash recovery
(:mod:`.recover`), undo (:mod:`.undo`), the steps these share (:mod:`.steps`), the writer
thread (:mod:`.writethread`) and atomic small files (:mod:`.atomic`). Knows nothing of
models, scans or policies: it is told which genres go into which file."""
