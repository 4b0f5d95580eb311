"""Open data (Art. 1, fourth application): the shared portal's publishers, datasets, resources
and licences, never billed to communes (Art. 4)."""
