"""The application API above the sans-I/O core: blocking sockets that let a driver run the
network while they wait, and asyncio transports and streams (:mod:`tcpip6.api.sockets`,
:mod:`tcpip6.api.stream`). The core (``tcpip6.stack``, ``tcpip6.wire``, ``tcpip6.spec``)
never imports this package."""
