import sys

from zssar.cli import main

sys.exit(main())
