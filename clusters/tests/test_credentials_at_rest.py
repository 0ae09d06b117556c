from django.db import connection

from clusters.tests.factories import ClusterFactory


def test_cluster_token_is_stored_encrypted_and_read_back_plain(db):
    cluster = ClusterFactory(api_token="s3cr3t-token-value")
    with connection.cursor() as cursor:
        cursor.execute("select api_token from clusters_cluster where id = %s", [cluster.id])
        (raw,) = cursor.fetchone()
    assert "s3cr3t" not in raw
    cluster.refresh_from_db()
    assert cluster.api_token == "s3cr3t-token-value"


def test_credentials_are_not_in_the_audit_trail(db):
    cluster = ClusterFactory(api_token="s3cr3t-token-value")
    event = cluster.events.first()
    assert event is not None
    assert not hasattr(event, "api_token")
