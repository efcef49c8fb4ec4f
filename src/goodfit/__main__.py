"""`python -m goodfit` runs the command line."""
from goodfit.cli import main

main()
