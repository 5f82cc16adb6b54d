"""Layer modules: the building blocks models are composed from."""
