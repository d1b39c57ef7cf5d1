"""`python -m ui [--index DIR] [--source DIR] [--host H] [--port N] [--auth user:pass]`: the same
as `qa serve`, with the same options and error handling."""
import sys

from qa.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
