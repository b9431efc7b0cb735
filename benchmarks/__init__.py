"""The side-by-side speed comparisons of ``python -m tools.benchmark``, apart from the plugin:
``scenarios``, ``engine_settings``, ``measure``; ``plain_posenet``: the princeton-vl layout written
plainly, the reference. What ``tools/test.py --benchmark`` reports for a config and checkpoint
is the installed package's (``hourglass_plugin.model_benchmark``)."""
