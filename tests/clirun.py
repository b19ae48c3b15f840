"""Running the command line inside a test (shared by the CLI test modules)."""

from genre_tagger import cli


def run(args, capsys):
    """``genre-tagger ARGS`` in this process: (exit code, stdout, stderr)."""
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def scan_args(model, *extra):
    """Scan options for the tests: the given model, classified in this process."""
    return ["--model", str(model), "--workers", "1", *extra]
