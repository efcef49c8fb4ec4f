"""Reports: what the diagnosis, comparison and weights found, as terminal text, HTML and JSON."""
