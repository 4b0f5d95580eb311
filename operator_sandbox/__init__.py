"""A local SMS and voice operator: Sinch's SMS REST API (batches, delivery reports, replies)
and its Voice API's text-to-speech callouts, on one machine, for tests, trials and
demonstrations; never a deployment's operator.

    python -m operator_sandbox --address 127.0.0.1:8092   # alone
    communs run operator-sandbox                          # the same, as a service of the suite
    communs run                                           # with the suite, if no operator is set

``app`` is the WSGI application and its state, ``server`` runs it, ``testing`` is the pytest
plugin that gives tests an ``operator_server`` on a free port. The client is
``services.alerting.operator``, whose docstring names the documentation followed.
"""
