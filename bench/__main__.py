"""`python -m bench`: run the benchmark (flags: `python -m bench --help`)."""

from bench.run import main

raise SystemExit(main())
