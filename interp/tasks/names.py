"""How tasks are named on the command line: the built-in names and the ``prompts:FILE`` form."""

TASKS = ("ioi", "factual")  # plus the prompts:FILE form, and gsm8k / gsm8k:FILE
PREFIX = "prompts:"  # the user's own file: prompts:FILE (interp.tasks.custom)
