"""`python -m spacy_spanbert`: the command line (see cli.py)."""

from .cli import app

app()
