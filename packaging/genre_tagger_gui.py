"""PyInstaller entry point: the GUI without arguments, the CLI with them."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # worker processes of the scanner in a frozen app
    from genre_tagger.cli import main

    sys.exit(main())
