import pytest

from contracts.catalogue import SERVICES
from servicekit.config import (
    CHORUS_SANDBOX_CREDENTIALS,
    DEFAULT_AMQP_URI,
    DEFAULT_HTTP_ADDRESS,
    OPERATOR_SANDBOX_CREDENTIALS,
    database_url,
    from_environment,
)


def test_an_empty_environment_runs_the_suite_on_one_machine():
    config = from_environment({})
    assert config == {
        "AMQP_URI": DEFAULT_AMQP_URI,
        "WEB_SERVER_ADDRESS": DEFAULT_HTTP_ADDRESS,
        # Each service's operations endpoint, 9101… in the catalogue's order (servicekit.ops).
        "OPS_ADDRESSES": {service: f"127.0.0.1:{9101 + position}"
                          for position, service in enumerate(SERVICES)},
        "DATA_DIR": "./var",
        "DATABASE_URL": None,
        "DATABASE_URLS": {},
        "ADMIN_USERNAME": None,
        "ADMIN_PASSWORD": None,
        "RPC_TIMEOUT": 10.0,
        # Per caller of the gateway (gateway/limits.py), far above what the bench sends.
        "RATE_LIMIT": 1000.0,
        "RATE_BURST": 2000,
        # No proxy is trusted: X-Forwarded-For is ignored, the peer is the client.
        "TRUSTED_PROXIES": [],
        # Nameko's own default: a silent broker link is given up after two missed beats.
        "HEARTBEAT": 60.0,
        "DB_MIGRATE_ON_START": True,
        "LOG_FORMAT": None,
        "LOG_LEVEL": "INFO",
        "max_workers": 10,
        "METROPOLE_SIRET": None,
        "BILLING_ROUND_SECONDS": 30.0,
        # Billing's Chorus Pro: the local sandbox (chorus_sandbox/tests/test_wiring.py).
        "CHORUS_API_URL": "http://127.0.0.1:8090",
        "CHORUS_TOKEN_URL": None,
        **CHORUS_SANDBOX_CREDENTIALS,
        "CHORUS_TIMEOUT": 10.0,
        "CHORUS_SANDBOX": True,
        "CHORUS_SANDBOX_ADDRESS": "127.0.0.1:8090",
        "CHORUS_SANDBOX_STEP_SECONDS": 2.0,
        # Convocation links: the service builds http://{WEB_SERVER_ADDRESS} without one.
        "PUBLIC_URL": None,
        "EADMIN_ROUND_SECONDS": 30.0,
        "ESERVICES_ROUND_SECONDS": 3600.0,
        "PARTICIPATION_ROUND_SECONDS": 60.0,
        "PROCUREMENT_SEAL_KEY": None,
        "EADMIN_ARCHIVAL_AGENCY": "FRAD034",
        "PREFECTURE_URL": "http://127.0.0.1:8091",
        "PREFECTURE_LOGIN": "communs-sandbox",
        "PREFECTURE_PASSWORD": "sandbox-prefecture-password",
        "PREFECTURE_TIMEOUT": 10.0,
        "PREFECTURE_SANDBOX": True,
        "PREFECTURE_SANDBOX_ADDRESS": "127.0.0.1:8091",
        "PREFECTURE_SANDBOX_STEP_SECONDS": 2.0,
        # Alerting's SMS and voice operator: the local one (operator_sandbox/tests/test_wiring.py).
        "OPERATOR_API_URL": "http://127.0.0.1:8092",
        "OPERATOR_VOICE_URL": None,
        **OPERATOR_SANDBOX_CREDENTIALS,
        "OPERATOR_SENDER": "TELEALERTE",
        "OPERATOR_VOICE_CLI": None,
        "OPERATOR_CALLBACK_URL": None,
        "OPERATOR_CALLBACK_TOKEN": None,
        "ALERTING_RETRY_SECONDS": 300.0,
        "ALERTING_RECEIPT_WAIT": 600.0,
        "ALERTING_DISPATCH_INTERVAL": 1.0,
        "OPERATOR_TIMEOUT": 10.0,
        "OPERATOR_SMS_SEGMENT_PRICE": "0.045",
        "OPERATOR_VOICE_MINUTE_PRICE": "0.12",
        "OPERATOR_SANDBOX": True,
        "OPERATOR_SANDBOX_ADDRESS": "127.0.0.1:8092",
        "OPERATOR_SANDBOX_DELAY_SECONDS": 2.0,
        "OPERATOR_SANDBOX_FAILURE_RATE": 0.0,
        # No SMTP server: convocations are refused with a 503 (services/eadmin/mail.py).
        "SMTP_HOST": None,
        "SMTP_PORT": 25,
        "SMTP_SENDER": "communs@localhost",
        "SMTP_STARTTLS": False,
        "SMTP_USERNAME": None,
        "SMTP_PASSWORD": None,
        "SMTP_TIMEOUT": 10.0,
    }
    assert DEFAULT_AMQP_URI == "amqp://guest:guest@127.0.0.1:5672/"
    assert DEFAULT_HTTP_ADDRESS == "127.0.0.1:8000"


def test_each_variable_lands_in_its_config_key():
    config = from_environment(
        {
            "AMQP_URI": "amqp://suite:secret@rabbit:5672/communs",
            "COMMUNS_HTTP_ADDRESS": "0.0.0.0:8080",
            "COMMUNS_DATA_DIR": "/srv/communs",
            "COMMUNS_ADMIN_USERNAME": "ops",
            "COMMUNS_ADMIN_PASSWORD": "a long enough password",
            "COMMUNS_RPC_TIMEOUT": "2.5",
            "COMMUNS_LOG_FORMAT": "console",
            "COMMUNS_LOG_LEVEL": "DEBUG",
            "COMMUNS_MAX_WORKERS": "40",
            "COMMUNS_METROPOLE_SIRET": "24340001700006",
            "COMMUNS_BILLING_ROUND_SECONDS": "0.5",
            "COMMUNS_PUBLIC_URL": "https://services.montpellier3m.fr",
            "COMMUNS_EADMIN_ROUND_SECONDS": "0.25",
        }
    )
    assert config["AMQP_URI"] == "amqp://suite:secret@rabbit:5672/communs"
    assert config["WEB_SERVER_ADDRESS"] == "0.0.0.0:8080"
    assert config["DATA_DIR"] == "/srv/communs"
    assert (config["ADMIN_USERNAME"], config["ADMIN_PASSWORD"]) == ("ops", "a long enough password")
    assert config["RPC_TIMEOUT"] == 2.5
    assert (config["LOG_FORMAT"], config["LOG_LEVEL"]) == ("console", "DEBUG")
    assert config["max_workers"] == 40
    assert (config["METROPOLE_SIRET"], config["BILLING_ROUND_SECONDS"]) == ("24340001700006", 0.5)
    assert (config["PUBLIC_URL"], config["EADMIN_ROUND_SECONDS"]) == (
        "https://services.montpellier3m.fr", 0.25)


def test_by_default_each_service_has_a_sqlite_file_under_the_data_dir(tmp_path):
    config = from_environment({"COMMUNS_DATA_DIR": str(tmp_path / "var")})
    urls = {service: database_url(config, service) for service in SERVICES}
    assert urls["billing"] == f"sqlite:///{tmp_path}/var/db/billing.sqlite3"
    assert len(set(urls.values())) == len(SERVICES)
    assert (tmp_path / "var" / "db").is_dir()


def test_a_relative_data_dir_is_resolved_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert database_url(from_environment({}), "identity") == (
        f"sqlite:///{tmp_path}/var/db/identity.sqlite3"
    )


def test_the_suite_url_names_each_services_database_through_its_template(tmp_path):
    config = from_environment(
        {
            "COMMUNS_DATA_DIR": str(tmp_path),
            "COMMUNS_DATABASE_URL": "postgresql://communs@db:5432/communs_{service}",
        }
    )
    assert database_url(config, "billing") == "postgresql://communs@db:5432/communs_billing"
    assert database_url(config, "eadmin") == "postgresql://communs@db:5432/communs_eadmin"
    assert not (tmp_path / "db").exists()


def test_a_services_own_url_overrides_the_suites_for_that_service_only():
    config = from_environment(
        {
            "COMMUNS_DATABASE_URL": "postgresql://communs@db:5432/communs_{service}",
            "IDENTITY_DATABASE_URL": "postgresql://identity@vault-db:5432/identity",
            "UNKNOWN_DATABASE_URL": "postgresql://nobody@db/nothing",
        }
    )
    assert config["DATABASE_URLS"] == {"identity": "postgresql://identity@vault-db:5432/identity"}
    assert database_url(config, "identity") == "postgresql://identity@vault-db:5432/identity"
    assert database_url(config, "billing") == "postgresql://communs@db:5432/communs_billing"


@pytest.mark.parametrize(
    "setting, migrate",
    [
        (None, True),
        ("", True),
        ("true", True),
        ("1", True),
        ("Yes", True),
        ("on", True),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("no", False),
        (" off ", False),
    ],
)
def test_migrate_on_start_reads_yes_and_no(setting, migrate):
    environ = {} if setting is None else {"COMMUNS_MIGRATE_ON_START": setting}
    assert from_environment(environ)["DB_MIGRATE_ON_START"] is migrate


def test_the_smtp_variables_land_in_the_mail_keys():
    config = from_environment(
        {
            "COMMUNS_SMTP_HOST": "smtp.montpellier3m.fr",
            "COMMUNS_SMTP_PORT": "587",
            "COMMUNS_SMTP_SENDER": "Conseil municipal <convocations@laverune.fr>",
            "COMMUNS_SMTP_STARTTLS": "true",
            "COMMUNS_SMTP_USERNAME": "convocations",
            "COMMUNS_SMTP_PASSWORD": "smtp secret",
            "COMMUNS_SMTP_TIMEOUT": "2.5",
        }
    )
    assert {key: value for key, value in config.items() if key.startswith("SMTP_")} == {
        "SMTP_HOST": "smtp.montpellier3m.fr",
        "SMTP_PORT": 587,
        "SMTP_SENDER": "Conseil municipal <convocations@laverune.fr>",
        "SMTP_STARTTLS": True,
        "SMTP_USERNAME": "convocations",
        "SMTP_PASSWORD": "smtp secret",
        "SMTP_TIMEOUT": 2.5,
    }


def test_the_operator_variables_land_in_the_operator_keys():
    config = from_environment(
        {
            "COMMUNS_OPERATOR_API_URL": "https://eu.sms.api.sinch.com",
            "COMMUNS_OPERATOR_VOICE_URL": "https://calling-euc1.api.sinch.com",
            "COMMUNS_OPERATOR_LOGIN": "plan-3m",
            "COMMUNS_OPERATOR_PASSWORD": "api token",
            "COMMUNS_OPERATOR_VOICE_KEY": "voice-app",
            "COMMUNS_OPERATOR_VOICE_SECRET": "voice secret",
            "COMMUNS_OPERATOR_SENDER": "MONTPELLIER",
            "COMMUNS_OPERATOR_VOICE_CLI": "+33467000000",
            "COMMUNS_OPERATOR_CALLBACK_URL": "https://services.montpellier3m.fr/receipts",
            "COMMUNS_OPERATOR_CALLBACK_TOKEN": "c0ffee",
            "COMMUNS_OPERATOR_TIMEOUT": "4.5",
            "COMMUNS_OPERATOR_SMS_SEGMENT_PRICE": "0.0395",
            "COMMUNS_OPERATOR_VOICE_MINUTE_PRICE": "0.10",
            "COMMUNS_OPERATOR_SANDBOX_ADDRESS": "127.0.0.1:9092",
            "COMMUNS_OPERATOR_SANDBOX_DELAY_SECONDS": "0.5",
            "COMMUNS_OPERATOR_SANDBOX_FAILURE_RATE": "0.1",
        }
    )
    assert {key: value for key, value in config.items() if key.startswith("OPERATOR_")} == {
        "OPERATOR_API_URL": "https://eu.sms.api.sinch.com",
        "OPERATOR_VOICE_URL": "https://calling-euc1.api.sinch.com",
        "OPERATOR_LOGIN": "plan-3m",
        "OPERATOR_PASSWORD": "api token",
        "OPERATOR_VOICE_KEY": "voice-app",
        "OPERATOR_VOICE_SECRET": "voice secret",
        "OPERATOR_SENDER": "MONTPELLIER",
        "OPERATOR_VOICE_CLI": "+33467000000",
        "OPERATOR_CALLBACK_URL": "https://services.montpellier3m.fr/receipts",
        "OPERATOR_CALLBACK_TOKEN": "c0ffee",
        "OPERATOR_TIMEOUT": 4.5,
        "OPERATOR_SMS_SEGMENT_PRICE": "0.0395",
        "OPERATOR_VOICE_MINUTE_PRICE": "0.10",
        # A real operator is set: `communs run` starts no sandbox.
        "OPERATOR_SANDBOX": False,
        "OPERATOR_SANDBOX_ADDRESS": "127.0.0.1:9092",
        "OPERATOR_SANDBOX_DELAY_SECONDS": 0.5,
        "OPERATOR_SANDBOX_FAILURE_RATE": 0.1,
    }


@pytest.mark.parametrize("name, value", [
    ("COMMUNS_OPERATOR_SMS_SEGMENT_PRICE", "4,5 centimes"),
    ("COMMUNS_OPERATOR_SMS_SEGMENT_PRICE", "-0.01"),
    ("COMMUNS_OPERATOR_VOICE_MINUTE_PRICE", "NaN"),
    ("COMMUNS_OPERATOR_SANDBOX_FAILURE_RATE", "1.5"),
    ("COMMUNS_OPERATOR_SANDBOX_FAILURE_RATE", "half"),
    ("COMMUNS_OPERATOR_SANDBOX", "maybe"),
])
def test_an_operator_setting_that_makes_no_sense_is_refused(name, value):
    with pytest.raises(ValueError, match=name):
        from_environment({name: value})


def test_smtp_starttls_refuses_a_value_that_is_neither_yes_nor_no():
    with pytest.raises(ValueError, match="COMMUNS_SMTP_STARTTLS='maybe'"):
        from_environment({"COMMUNS_SMTP_STARTTLS": "maybe"})


def test_migrate_on_start_refuses_a_value_that_is_neither_yes_nor_no():
    # A typo must not silently mean "migrate", which replicas would race on.
    with pytest.raises(ValueError, match="COMMUNS_MIGRATE_ON_START='flase'"):
        from_environment({"COMMUNS_MIGRATE_ON_START": "flase"})


def test_the_environment_of_the_process_is_read_when_none_is_given(monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/elsewhere")
    monkeypatch.setenv("COMMUNS_DATA_DIR", "/srv/elsewhere")
    config = from_environment()
    assert (config["AMQP_URI"], config["DATA_DIR"]) == (
        "amqp://guest:guest@127.0.0.1:5672/elsewhere",
        "/srv/elsewhere",
    )


def test_the_ops_addresses_take_a_common_host_and_one_services_own():
    addresses = from_environment({"COMMUNS_OPS_HOST": "0.0.0.0",
                                  "COMMUNS_BILLING_OPS_ADDRESS": "10.0.0.7:9203"})["OPS_ADDRESSES"]
    assert addresses["identity"] == "0.0.0.0:9101"
    assert addresses["accessibility"] == "0.0.0.0:9110"
    assert addresses["billing"] == "10.0.0.7:9203"
    assert len(set(addresses.values())) == len(SERVICES)


def test_the_heartbeat_of_consumer_connections_is_set_from_the_environment():
    # The fault tests shorten it, to see a blackholed broker link noticed in seconds.
    assert from_environment({"COMMUNS_HEARTBEAT": "5"})["HEARTBEAT"] == 5.0


def test_the_gateways_rate_limit_and_burst_are_read_from_the_environment():
    config = from_environment({"COMMUNS_RATE_LIMIT": "2.5", "COMMUNS_RATE_BURST": "10"})
    assert (config["RATE_LIMIT"], config["RATE_BURST"]) == (2.5, 10)


@pytest.mark.parametrize("name, value", [
    ("COMMUNS_RATE_LIMIT", "0"),
    ("COMMUNS_RATE_LIMIT", "-5"),
    ("COMMUNS_RATE_LIMIT", "nan"),
    ("COMMUNS_RATE_LIMIT", "inf"),
    ("COMMUNS_RATE_LIMIT", "a thousand"),
    ("COMMUNS_RATE_BURST", "0"),
    # A burst is a number of requests: a whole one.
    ("COMMUNS_RATE_BURST", "1.5"),
])
def test_a_rate_limit_that_would_let_no_one_through_is_refused(name, value):
    with pytest.raises(ValueError, match=f"{name}={value!r}"):
        from_environment({name: value})


def test_the_trusted_proxies_are_networks_read_from_the_environment():
    config = from_environment({"COMMUNS_TRUSTED_PROXIES": " 10.0.0.0/8,192.0.2.7 ,,"
                                                          "2001:DB8::1/64"})
    assert config["TRUSTED_PROXIES"] == ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/64"]


@pytest.mark.parametrize("value", ["10.0.0.0/33", "proxy.example", "10.0.0.0/8;192.0.2.7"])
def test_a_trusted_proxy_that_is_no_network_is_refused(value):
    with pytest.raises(ValueError, match="COMMUNS_TRUSTED_PROXIES"):
        from_environment({"COMMUNS_TRUSTED_PROXIES": value})
