"""The exceptions fellegi raises: every library error is a :class:`FellegiError`."""


class FellegiError(Exception):
    """Base class of every error fellegi raises; the message says what is wrong, where, and the fix."""


class SettingsError(FellegiError, ValueError):
    """Invalid settings or model: the message names the key path (e.g. ``comparison[2].levels[1]``)."""


class InputError(FellegiError, ValueError):
    """Unusable input records: the message names the source, the row or line, and the column."""


class OptionError(FellegiError, ValueError):
    """A run option out of range or inconsistent (threshold, min_probability, threads, ...)."""


class DataError(FellegiError, ValueError):
    """The inputs cannot support what was asked (no truth column, an unknown record, ...)."""


class DatasetError(FellegiError, LookupError):
    """A shipped dataset is unknown, missing or fails its checksum."""


class FellegiIOError(FellegiError, OSError):
    """A file could not be read or written."""


class ChartError(FellegiError):
    """A chart could not be drawn."""


class InternalError(FellegiError, RuntimeError):
    """A bug in fellegi (never a problem with the input): please report it."""


class EngineError(FellegiError, RuntimeError):
    """The distributed engine (Ballista, ``--engine``) failed or could not be reached."""


class CancelledError(FellegiError):
    """The run was stopped between two phases (Ctrl-C raises ``KeyboardInterrupt`` instead)."""
