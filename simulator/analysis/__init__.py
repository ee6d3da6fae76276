"""Questions asked of the engine.

Sweeps and Monte Carlo, calibration, sensitivity, and stockpile policy.
"""
