"""The host: MSR IPv6's conceptual data structures and the send/receive paths (sans-I/O)."""
