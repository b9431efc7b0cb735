"""Preparing a run from a config, the one way every tool does it (:mod:`.prepare`), the checks
it makes (:mod:`.checks`), what the command line sets in the config (:mod:`.config`) and
the process group where mmengine cannot join it (:mod:`.distributed`)."""
from .checks import build_model, check_input_size, check_model
from .config import input_size_from_config, set_work_dir
from .distributed import init_distributed
from .prepare import Prepared, build_runner, prepare_run

__all__ = ['Prepared', 'build_model', 'build_runner', 'check_input_size', 'check_model',
           'init_distributed', 'input_size_from_config', 'prepare_run', 'set_work_dir']
