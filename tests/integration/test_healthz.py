"""/healthz: for the load balancer; no sign-in, no cookie, 503 when the database does not answer."""

from ais import create_app


def test_healthz_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "up"}
    assert "Set-Cookie" not in response.headers


def test_healthz_is_503_when_the_database_is_down(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            # Nothing listens on port 1 of loopback: the connection is refused at once.
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "down"
    assert "Set-Cookie" not in response.headers
