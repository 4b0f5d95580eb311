import sys

from operator_sandbox.server import main

sys.exit(main())
