"""Models of the costs app."""
