"""Everything that touches files.

The scenario schema and loader, input-output and the physical use table, the
shipped posterior, the on-disk structure cache and output writing.
"""
