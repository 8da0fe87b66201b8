"""The `biowire` command: `main` assembles the command groups (`database`, `sources`,
`pipeline`, `classifier`, with what they share in `common`), each importing what it needs
only when it runs, so that `biowire --help` starts at once."""
