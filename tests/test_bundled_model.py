"""The bundled model as the README's main command uses it, and its packaging."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from devtools.synth import write_audio
from genre_tagger import cli
from genre_tagger.genres import GTZAN_GENRES
from genre_tagger.listen.model import Classifier, load_info

ROOT = Path(__file__).resolve().parents[1]


def test_bundled_metadata_is_consistent():
    info = load_info()  # checks format 2, front-end, windows, input shape and the ONNX sha256
    assert info.path.parent == ROOT / "models"  # this tree's model, also in a git worktree of an editable install
    gtzan = info.vocabulary("gtzan")
    assert gtzan.genres == list(GTZAN_GENRES)
    assert gtzan.display_name("hiphop") == "Hip-Hop"
    assert info.onnx_path.stat().st_size < 20e6
    assert set(info.tag_display) <= set(info.tags)
    assert gtzan.accuracy["fault-filtered-test"]["n"] > 0


def test_bundled_model_classifies_a_file(tmp_path, capsys):
    f = write_audio(tmp_path / "song.flac", "flac", seconds=12.0)
    c = Classifier(threads=1).classify_file(f)
    assert c.windows == load_info().windows.count
    for name, probs in c.probs.items():
        assert abs(sum(probs.values()) - 1.0) < 1e-4, name
    code = cli.main(["--scan", str(tmp_path), "--workers", "1", "-q"])
    assert code == 0


@pytest.mark.packaging
def test_wheel_ships_the_model(tmp_path):
    pytest.importorskip("setuptools")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
                        "-w", str(tmp_path)], capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    (whl,) = tmp_path.glob("genre_tagger-*.whl")
    assert whl.stat().st_size < 5e6  # v5's ONNX is 4.2 MB
    names = zipfile.ZipFile(whl).namelist()
    from genre_tagger.listen.model import DEFAULT_MODEL_NAME

    shipped = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("genre_tagger/models/") and not n.endswith(".py"))
    assert shipped == [f"{DEFAULT_MODEL_NAME}.json", f"{DEFAULT_MODEL_NAME}.onnx"]  # not v4's, kept in models/ for comparisons
    assert "genre_tagger/gui/main_window.py" in names
    assert not any(n.startswith(("training/", "tests/", "devtools/")) or "synth" in n for n in names)  # no fixture generator


def test_help_does_not_import_heavy_modules():
    code = "import sys; from genre_tagger import cli; cli.build_parser().format_help(); " \
           "print(sorted(m for m in ('numpy', 'onnxruntime', 'PySide6', 'torch', 'mutagen') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
