"""``python -m tcpip6 ...``"""

from tcpip6.cli import main

raise SystemExit(main())
