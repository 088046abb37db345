"""One module per `zssar` sub-command; see zssar/cli.py."""
