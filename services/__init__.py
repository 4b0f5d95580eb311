"""One package per service of the suite; services never import each other."""
