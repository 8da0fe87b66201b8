"""The `biowire` command: `main` assembles the sub-commands, each importing what it needs
only when it runs, so that `biowire --help` starts at once."""
