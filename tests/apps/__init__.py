"""The tools: ping6, tracert6, ttcp and the simple services, on simnet and loopback."""
