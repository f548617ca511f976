"""One ``transitions`` graph per RFC state machine. See :mod:`tcpip6.stack.machines.graph`."""
