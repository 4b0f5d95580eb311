import sys

from chorus_sandbox.server import main

sys.exit(main())
