"""Everything that touches files: the scenario schema and loader, input-output
and dependence tables, the on-disk structure cache and output writing."""
