"""A local Chorus Pro: PISTE's OAuth token and the Chorus Pro routes billing calls, on one
machine, for tests, trials and demonstrations; never a deployment's Chorus Pro.

    python -m chorus_sandbox --address 127.0.0.1:8090   # alone
    communs run chorus-sandbox                          # the same, as a service of the suite
    communs run                                         # with the suite, if no Chorus Pro is set

``app`` is the WSGI application and its state, ``server`` runs it, ``testing`` is the pytest
plugin that gives tests a ``chorus_sandbox`` on a free port.
"""
