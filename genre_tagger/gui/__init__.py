"""The PySide6 desktop app: a thin layer over the Qt-free core (no tagging logic here)."""
