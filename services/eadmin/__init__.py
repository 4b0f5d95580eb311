"""E-administration service of the suite (Art. 1, first application): the commune's signing
certificates, acts signed along a circuit and transmitted to the prefecture (@ctes), accounting
pieces sent to the public accountant (Hélios), council convocations, and the electronic
archive. ``service.py`` holds the entrypoints; the rules are in the modules beside it."""
