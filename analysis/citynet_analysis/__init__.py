"""citynet_analysis: read citynet run files and analyse them.

Quick start::

    from citynet_analysis import open_run, report
    run = open_run("world.h5")
    run.series_wide()          # adopters per solution, indexed by time
    report("world.h5", "world_report")
"""
from .readers import CitynetInputError, Run, Sweep, open_any, open_run, open_sweep

__version__ = "0.1.0"


def report(path, out_dir=None, **kwargs):
    """See :func:`citynet_analysis.report.report`."""
    from .report import report as _report
    return _report(path, out_dir, **kwargs)


def compare(path_a, path_b, out_dir=None):
    """See :func:`citynet_analysis.report.compare`."""
    from .report import compare as _compare
    return _compare(path_a, path_b, out_dir)


__all__ = ["CitynetInputError", "Run", "Sweep", "open_any", "open_run", "open_sweep", "report",
           "compare"]
