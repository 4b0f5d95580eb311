"""A local prefecture: the S2LOW routes e-administration calls, with the prefecture and the
public accountant behind them, on one machine, for tests, trials and demonstrations; never a
deployment's transmission platform.

    python -m prefecture_sandbox --address 127.0.0.1:8091   # alone
    communs run prefecture-sandbox                          # the same, as a service of the suite
    communs run                                             # with the suite, if no platform is set

``app`` is the WSGI application and its state, ``server`` runs it, ``testing`` is the pytest
plugin that gives tests a ``prefecture_sandbox`` on a free port.
"""
