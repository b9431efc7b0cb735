"""The command-line tools. Each runs as a script, ``python tools/<name>.py``; the three that use
the repository's own modules besides the plugin (``demo``, ``make_synthetic_mpii`` and
``benchmark``: ``demo_kit/``, ``benchmarks/``) run from the repository's root as modules,
``python -m tools.<name>``, which makes those importable as they are."""
