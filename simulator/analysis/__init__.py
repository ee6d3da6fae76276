"""Questions asked of the engine: sweeps and Monte Carlo, calibration,
sensitivity, and stockpile policy."""
