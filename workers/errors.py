"""The one exception root of hpsweep.

`HpsweepError` and its subclasses mean "the user asked for something that cannot be done":
the CLI prints their message on one line and exits non-zero, without a traceback. Any other
exception is a bug and keeps its traceback. Messages say the rule, the value and, where there
is one, the next step.
"""


class HpsweepError(Exception):
    """Root of every user-facing error."""


class OutputClosed(KeyboardInterrupt):
    """The reader of our standard output went away (`hpsweep run SPEC | head`): stop as Ctrl-C stops.

    A KeyboardInterrupt, so that it passes the `except Exception` of the libraries between the
    printing and the CLI (Ray Tune wraps a callback's exceptions in its own) and a sweep stops the
    way an interrupted one does: every finished pack saved, the same command resumes it.
    """


class DescriptorError(HpsweepError, ValueError):
    """A model description that cannot exist: bad densities, dims, budget or structure code."""


class TaskError(HpsweepError, ValueError):
    """An unknown task, a bad task parameter, or task data that cannot be read."""


class SpecError(HpsweepError, ValueError):
    """A sweep spec that does not validate."""


class StoreError(HpsweepError):
    """A results store that cannot be read or written."""


class AnalysisError(HpsweepError):
    """Results that cannot support the requested analysis or recommendation."""
