"""absl binaries: thin wiring of flags to engine/, models/ and data/."""
