"""`manage.py check --deploy` passes, warning-free, on a realistic production environment."""

from tests.deploy.environments import manage, production_environment


def test_check_deploy_has_no_warnings_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_environment())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


def test_check_deploy_catches_a_plain_http_configuration():
    # The same check run on the local, TLS-less configuration of `make staging` does warn:
    # the test above would notice a setting that lost its secure default.
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=production_environment(DJANGO_HTTPS="0"),
    )

    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr
