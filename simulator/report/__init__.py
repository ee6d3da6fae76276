"""The one-file HTML briefing behind ``resim report``.

::

    from simulator.report import build_report, write_report
    html = build_report([simulator.load_scenario()], durations=[3, 6, 12, 24])
    write_report("brief.html", html)

:func:`band_of` (``simulator.report.band``) is the one place bands come from:
the run's own band (posterior draws of the calibrated parameters, with the scenario's [uncertainty]).
"""

from simulator.report.band import Band, Interval, band_of
from simulator.report.builder import build_report, check_out_file, write_report

__all__ = ["Band", "Interval", "band_of", "build_report", "check_out_file", "write_report"]
