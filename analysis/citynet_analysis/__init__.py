"""citynet_analysis: read citynet run files and analyse them.

Quick start::

    from citynet_analysis import open_run
    from citynet_analysis.report import report

    run = open_run("world.h5")
    run.series_wide()              # adopters per solution, indexed by time
    report("world.h5", "world_report")
"""
from .readers import CitynetInputError, Run, Sweep, open_any, open_run, open_sweep

__version__ = "0.1.0"

__all__ = ["CitynetInputError", "Run", "Sweep", "open_any", "open_run", "open_sweep"]
