"""The batch engine.

Parameter tables, the engine joining the two model layers, chunked and
parallel execution, and results as arrays and tidy tables.
"""
