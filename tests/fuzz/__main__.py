from tests.fuzz.run import main

raise SystemExit(main())
