"""Imported by the forkserver of `newsflow process --jobs` before it forks the jobs.

Loading the language model there (~0.5 s of CPU) gives each job a copy-on-write share of
it; each job loaded its own copy before, while the parent loaded a third it never used.
"""

from service.stages.tag import load_language_model

load_language_model()
