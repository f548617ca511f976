"""Executable reference models, one module per RFC: the RFC's conceptual data structures
as plain dataclasses and its rules as pure functions, for a reader with the RFC open.
The stack never imports these; the tests check the stack against them."""
