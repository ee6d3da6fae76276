"""Pure model equations: arrays in, arrays out; no files, no scenario schema.

- :mod:`~simulator.model.supply`: the material layer's step loop (numpy);
  :mod:`~simulator.model.supply_numba`: the same loop compiled;
- :mod:`~simulator.model.economy`: the supply-constrained input-output economy;
- :mod:`~simulator.model.profiles`: time profiles of a restriction on the step grid;
- :mod:`~simulator.model.material`: runs the material layer, compiled or in numpy.
"""
