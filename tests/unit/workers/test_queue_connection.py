"""The queue's Redis URL: credentials and TLS reach Arq's pool, and are never shown."""

from __future__ import annotations

import pytest

from cognition.errors import ConfigurationError
from cognition.settings import QueueSettings
from workers.queue import QueueUnreachable, redacted, redis_settings


def test_credentials_are_percent_decoded_and_tls_checks_the_server() -> None:
    settings = redis_settings(QueueSettings(redis_url="rediss://queue%40ops:p%2Fw%3Ad@redis.internal:6380/2"))

    assert (settings.host, settings.port, settings.database) == ("redis.internal", 6380, 2)
    assert (settings.username, settings.password) == ("queue@ops", "p/w:d")
    assert settings.ssl and settings.ssl_cert_reqs == "required" and settings.ssl_check_hostname


def test_tls_options_in_the_query_are_passed_on() -> None:
    url = "rediss://:pw@10.0.0.5:6379/0?ssl_ca_certs=/etc/redis/ca.pem&ssl_check_hostname=false"

    settings = redis_settings(QueueSettings(redis_url=url))

    assert settings.ssl_ca_certs == "/etc/redis/ca.pem" and settings.ssl_check_hostname is False


def test_a_plain_url_has_no_credentials_and_no_tls() -> None:
    settings = redis_settings(QueueSettings(redis_url="redis://127.0.0.1:6379/1"))

    assert (settings.username, settings.password, settings.ssl, settings.database) == (None, None, False, 1)


def test_workers_wait_for_redis_and_clients_do_not() -> None:
    queue = QueueSettings(redis_url="redis://127.0.0.1:6379/0")

    worker, client = redis_settings(queue), redis_settings(queue, patient=False)

    assert worker.conn_retries * worker.conn_retry_delay >= 60
    assert client.conn_retries == 0 and client.conn_timeout <= 2


def test_a_url_of_another_scheme_is_a_configuration_error_that_hides_the_password() -> None:
    with pytest.raises(ConfigurationError) as error:
        redis_settings(QueueSettings(redis_url="http://:hunter2@127.0.0.1:6379/0"))

    assert "hunter2" not in str(error.value) and "http://:***@127.0.0.1:6379/0" in str(error.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:hunter2@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("rediss://ops:hunter2@redis.internal:6380/0", "rediss://ops:***@redis.internal:6380/0"),
        ("redis://ops:hun%40ter2@[::1]:6379/0", "redis://ops:***@[::1]:6379/0"),
        ("redis://ops:hunter2@host:port/0", "redis://ops:***@host:port/0"),
        ("redis://127.0.0.1/0?password=hunter2&db=1", "redis://127.0.0.1/0?password=***&db=1"),
    ],
)
def test_redacted_hides_every_password(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_an_unreachable_queue_is_one_line_without_the_password() -> None:
    error = QueueUnreachable(
        "redis://:hunter2@127.0.0.1:1/0", ConnectionError("Error 111 connecting\nhunter2 refused")
    )

    assert (
        str(error)
        == "the queue is not reachable at redis://:***@127.0.0.1:1/0: Error 111 connecting *** refused"
    )


def test_without_a_redis_url_there_is_no_queue_and_its_users_are_told_which_variable_to_set() -> None:
    with pytest.raises(ConfigurationError) as error:
        redis_settings(QueueSettings())

    assert "set COGNITION_QUEUE__REDIS_URL" in str(error.value)
