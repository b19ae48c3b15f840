"""How much the test set-up installs: the size on disk of genre-tagger's [train,dev]
dependency closure, from the installed distributions' RECORD files.

    python devtools/install_size.py
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re

from packaging.requirements import Requirement


def closure(name: str, extras: tuple[str, ...] = ()) -> dict[str, int]:
    """{distribution: bytes on disk} for ``name`` (with ``extras``) and everything it requires."""
    sizes: dict[str, int] = {}

    def walk(dist: str, extras: tuple[str, ...] = ()) -> None:
        key = re.sub(r"[-_.]+", "-", dist).lower()
        if key in sizes:
            return
        try:
            d = md.distribution(dist)
        except md.PackageNotFoundError:
            return
        sizes[key] = sum(os.path.getsize(d.locate_file(f)) for f in d.files or [] if os.path.exists(d.locate_file(f)))
        for r in d.requires or []:
            req = Requirement(r)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras or ("",)):
                walk(req.name)

    walk(name, extras)
    return sizes


def main() -> None:
    sizes = closure("genre-tagger", ("train", "dev"))
    print(f"{len(sizes)} distributions, {sum(sizes.values()) / 1e9:.1f} GB on disk")
    for name, n in sorted(sizes.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {name:24s} {n / 1e6:6.0f} MB")


if __name__ == "__main__":
    main()
