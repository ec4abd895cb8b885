"""Help texts shipped with the application (read with importlib.resources)."""
