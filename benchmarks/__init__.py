"""Speed and size measurements, apart from the plugin: ``model_benchmark`` (what
``tools/test.py --benchmark`` reports for a config and checkpoint) and the side-by-side
comparisons of ``tools/benchmark.py`` (``scenarios``, ``engine_settings``, ``measure``;
``plain_posenet``: the princeton-vl layout written plainly, the reference)."""
