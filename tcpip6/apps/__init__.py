"""Applications and tools built on the stack."""
