import sys

from prefecture_sandbox.server import main

sys.exit(main())
