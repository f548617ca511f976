"""tcpip6: a user-space IPv6 host stack whose RFC state machines are explicit graphs."""

__version__ = "0.1.0"
