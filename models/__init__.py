"""The course's models, built from engine modules, and their registry."""
