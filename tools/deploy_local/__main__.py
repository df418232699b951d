import sys

from tools.deploy_local.driver import main

sys.exit(main())
