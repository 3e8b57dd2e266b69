"""Cleaning heuristics as data: boilerplate lines, dateline regexes. No logic lives here."""
