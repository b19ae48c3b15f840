"""Listening: a file's audio → log-mel patches → the genre model's probabilities.

Decoding (:mod:`.audio`), the one front end shared with training (:mod:`.frontend`), where
the windows sit (:mod:`.windows`), the audio → patches pipeline (:mod:`.pipeline`), the
model's metadata (:mod:`.modelmeta`) and the ONNX classifier (:mod:`.model`). Knows nothing
of tags, journals or scans."""
