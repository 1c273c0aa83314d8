import sys

from nesy.cli import main

sys.exit(main())
