"""What the tests share, in one place: paths (:mod:`.paths`), configs, models and checkpoints
(:mod:`.models`), malicious pickles (:mod:`.pickles`), and running the tools (:mod:`.processes`).
:mod:`.pause_points` and :mod:`.record_losses` are imported by training processes the tests
start, through their configs' ``custom_imports``."""
