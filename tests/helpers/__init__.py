"""What the tests share, in one place: paths (:mod:`.paths`), configs, models and checkpoints
(:mod:`.models`), malicious pickles (:mod:`.pickles`), running the tools (:mod:`.processes`), the
long runs that tests check (:mod:`.runs`, made in the background by :mod:`.background`), and the
requirement files (:mod:`.requirements`). :mod:`.pause_points` and :mod:`.record_losses` are
imported by training processes the tests start, through their configs' ``custom_imports``."""
