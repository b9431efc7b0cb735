"""Preparing a run from a config, the one way every tool does it (:mod:`.prepare`), the checks
it makes (:mod:`.checks`) and what the command line sets in the config (:mod:`.config`)."""
from .checks import build_model, check_input_size, check_model
from .config import input_size_from_config, set_launcher, set_work_dir
from .prepare import Prepared, build_runner, prepare_run

__all__ = ['Prepared', 'build_model', 'build_runner', 'check_input_size', 'check_model',
           'input_size_from_config', 'prepare_run', 'set_launcher', 'set_work_dir']
