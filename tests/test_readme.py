"""The README as a newcomer reads it: what it promises must match the app."""

import re
from pathlib import Path

from genre_tagger.listen.model import load_info

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title_start: str) -> str:
    m = re.search(rf"^## {re.escape(title_start)}.*?$(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert m, f"README has no section '## {title_start}...'"
    return m.group(1)


def test_readme_names_every_genre_of_the_bundled_model():
    meta = load_info()
    vocab = meta.vocabulary(None)
    section = _section("The genres")
    missing = [g for g in vocab.display if g not in section]
    assert not missing, f"README's genre section lacks {missing}"


def test_first_command_uses_a_venv_and_a_dry_run():
    setup = _section("Set-up")
    first = re.search(r"```sh\n(.*?)\n```", setup, re.S).group(1)
    assert "python3 -m venv" in first and "--dry-run" in first
    assert first.index("--dry-run") > first.index("pip install")


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", _section("Set-up"), re.S)
    assert blocks[1].strip() in ci


def test_exit_codes_are_documented():
    from genre_tagger import cli

    for code in (cli.EXIT_OK, cli.EXIT_FILES_FAILED, cli.EXIT_USAGE, cli.EXIT_INTERRUPTED):
        assert re.search(rf"\b{code}\b", _section("Using it")), code
