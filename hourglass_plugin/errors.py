"""Errors that blame the user's input (file, record, argument), shown without a traceback."""


class HourglassPluginError(Exception):
    """Base class: the tools print ``str(error)`` alone and exit 1 (traceback with --debug)."""


class CheckpointError(HourglassPluginError):
    """A checkpoint file that cannot be used: truncated, unsafe, or of another architecture."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint whose pickle names a global that could run code; nothing was executed."""


class UsageError(HourglassPluginError, ValueError):
    """A command-line argument or value that cannot be used (names the argument and value)."""


class ExportError(HourglassPluginError):
    """An exported graph that does not compute what the PyTorch model computes; nothing kept."""


class ConfigError(HourglassPluginError, ValueError):
    """A config whose parts do not fit together (names the config key and its value)."""


class DatasetError(HourglassPluginError, ValueError):
    """An annotation file, record or image that cannot be used (names the file and record)."""


class NonFiniteLossError(HourglassPluginError):
    """Training produced a NaN or infinite loss (or weights); names the last good checkpoint."""
