"""The deployment's file and environment, read in-process: precedence between them and over the
project's settings, checks against the settings catalog at file:line:column, secrets as
references only, and the CRAWLER_ variables that are not settings."""

from __future__ import annotations

from pathlib import Path

import pytest

import crawler.settings
from crawler.config import apply_deployment, config_path, load_deployment
from crawler.config.environment import NOT_SETTINGS, PREFIX
from crawler.config.secrets import HIDDEN, redact
from crawler.defaults import catalog

PROJECT = {n: getattr(crawler.settings, n) for n in dir(crawler.settings) if n.isupper()}


def deployment(tmp_path: Path, text: str | None, **environ: str):
    env = dict(environ)
    env.setdefault("CRAWLER_STATE_DIR", str(tmp_path / "state"))
    if text is not None:
        path = tmp_path / "crawler.yaml"
        path.write_text(text, encoding="utf-8")
        env["CRAWLER_CONFIG"] = str(path)
    return load_deployment(PROJECT, env)


def test_the_file_over_the_project_and_the_environment_over_the_file(tmp_path):
    found = deployment(
        tmp_path,
        "# the deployment\nLOG_LEVEL: WARNING\nRETRY_TIMES: 4\nHOST_BUDGETS: {a.gov: {rate: 1}}\n",
        CRAWLER_RETRY_TIMES="6",
        CRAWLER_SIGNIN_PROVIDERS='{"corp": {"dialect": "standard", "client_id": "c"}}',
        CRAWLER_PLUGIN_MODULES='["my.plugins"]',
        CRAWLER_RUN_ID="",
    )
    assert found.problems == [] and found.warnings == []
    path = tmp_path / "crawler.yaml"
    assert found.values["LOG_LEVEL"] == "WARNING"
    assert found.origins["LOG_LEVEL"].where == f"{path}:2:1"
    assert found.values["RETRY_TIMES"] == 6  # typed as the setting's type
    assert found.origins["RETRY_TIMES"].where == "environment CRAWLER_RETRY_TIMES"
    assert found.values["HOST_BUDGETS"] == {"a.gov": {"rate": 1}}
    assert found.values["SIGNIN_PROVIDERS"]["corp"]["client_id"] == "c"
    assert found.values["PLUGIN_MODULES"] == ["my.plugins"]
    assert found.values["RUN_ID"] is None  # empty: unset, for a setting that may be None
    assert (found.from_file, found.from_environment) == (3, 4)


def test_applied_over_the_settings_module_or_stopping_with_exit_status_2(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("CRAWLER_STATE_DIR", str(tmp_path))
    (tmp_path / "crawler.yaml").write_text("LOG_LEVEL: ERROR\n")  # found in the state dir
    monkeypatch.delenv("CRAWLER_CONFIG", raising=False)
    assert config_path({"CRAWLER_STATE_DIR": str(tmp_path)}) == tmp_path / "crawler.yaml"
    namespace = {"LOG_LEVEL": "INFO", "BOT_NAME": "crawler"}
    apply_deployment(namespace)
    assert namespace == {"LOG_LEVEL": "ERROR", "BOT_NAME": "crawler"}
    (tmp_path / "crawler.yaml").write_text("LOG_LEVEL: LOUD\nRETRY_TIMES: x\n")
    with pytest.raises(SystemExit) as stopped:
        apply_deployment({"LOG_LEVEL": "INFO"})
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'crawler.yaml'}:1:1: LOG_LEVEL: must be one of CRITICAL, ERROR, WARNING, "
        "INFO, DEBUG; got 'LOUD'",
        f"{tmp_path / 'crawler.yaml'}:2:1: RETRY_TIMES: expected an integer, got 'x'",
    ]


def test_nothing_to_read_is_nothing_done(tmp_path):
    found = load_deployment(PROJECT, {"CRAWLER_STATE_DIR": str(tmp_path), "PATH": "/bin"})
    assert (found.path, found.values, found.problems) == (None, {}, [])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("RETRY_TIMES: 3\nSTORE_BATCH_SIZE: 0\n", ":2:1: STORE_BATCH_SIZE: must be at least 1; got 0"),
        ("\nDOWNLOAD_DELEY: 1\n", ":2:1: DOWNLOAD_DELEY: unknown setting (did you mean 'DOWNLOAD_DELAY'?)"),
        ("SIGNIN_PROVIDERS: [a]\n", ":1:1: SIGNIN_PROVIDERS: expected a mapping, got ['a']"),
        ("LOG_LEVEL: [unclosed\n", ":2:1: invalid YAML: while parsing a flow sequence"),
        ("- LOG_LEVEL\n", ":1:1: expected a mapping of setting names to values"),
        ("a: !!python/name:os.system x\n", ":1:4: YAML tag '!!python/name:os.system' is not allowed here"),
    ],
)  # fmt: skip
def test_a_wrong_file_is_one_line_per_problem_at_its_position(tmp_path, text, problem):
    found = deployment(tmp_path, text)
    assert len(found.problems) == 1, found.problems
    assert found.problems[0].startswith(f"{tmp_path / 'crawler.yaml'}{problem}")


def test_a_missing_file_named_by_crawler_config_is_a_problem(tmp_path):
    found = load_deployment(PROJECT, {"CRAWLER_CONFIG": str(tmp_path / "nope.yaml")})
    assert found.problems == [
        f"{tmp_path / 'nope.yaml'}: cannot read the deployment file: No such file or directory"
    ]


def test_an_inline_secret_is_refused_at_its_line(tmp_path):
    found = deployment(
        tmp_path,
        "STORE_URI: mongodb://bob:hunter2@db:27017/items\n"
        "SIGNIN_PROVIDERS:\n"
        "  corp: {dialect: standard, client_id: c, client_secret: hunter2}\n"
        "FTP_PASSWORD: hunter2\n"
        "ALERT_EMAIL_FROM: crawler@example.com\n"  # an address, no secret
        # placeholders filled where they are used: the environment's, a leased account's
        "SESSION_LOGIN_FORM: {user: '{account.username}', password: '{account.password}'}\n"
        "SESSION_COOKIES_FILES: ['${COOKIES_HOME}/a.json']\n",
    )
    where = tmp_path / "crawler.yaml"
    assert [p.split(" written inline")[0] for p in found.problems] == [
        f"{where}:1:1: STORE_URI: a URL with a password",
        f"{where}:3:43: SIGNIN_PROVIDERS: a secret at 'corp.client_secret'",
        f"{where}:4:1: FTP_PASSWORD: a secret",
    ]
    assert all("{env: VARIABLE}" in p for p in found.problems)
    assert not any("hunter2" in p for p in found.problems)


def test_secrets_from_references_are_used_and_hidden(tmp_path):
    secret_file = tmp_path / "secrets" / "ftp.password"
    secret_file.parent.mkdir()
    secret_file.write_text("from-a-file\n")
    found = deployment(
        tmp_path,
        "STORE_URI: {env: MY_STORE}\n"
        "FTP_PASSWORD: {file: secrets/ftp.password}\n"  # relative to the file
        "NODES: {a: {url: 'http://10.0.0.7:6800', password: {env: NODE_PW}}}\n",
        MY_STORE="mongodb://bob:hunter2@db/items",
        NODE_PW="node-secret",
    )
    assert found.problems == [] and found.warnings == []  # MY_STORE, NODE_PW: no settings
    assert found.values["STORE_URI"] == "mongodb://bob:hunter2@db/items"
    assert found.values["FTP_PASSWORD"] == "from-a-file"
    assert found.values["NODES"]["a"]["password"] == "node-secret"
    nodes = found.origins["NODES"]
    assert redact("NODES", found.values["NODES"], nodes.hidden)["a"] == {
        "url": "http://10.0.0.7:6800",
        "password": HIDDEN,
    }
    hidden = found.origins["STORE_URI"].hidden
    assert redact("STORE_URI", found.values["STORE_URI"], hidden) == HIDDEN


def test_a_reference_that_cannot_be_followed_is_a_problem(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"x" * 70_000)
    checkout_file = Path(crawler.settings.__file__)
    found = deployment(
        tmp_path,
        "STORE_URI: {env: UNSET_VARIABLE_OF_THE_TEST}\n"
        f"FTP_PASSWORD: {{file: {checkout_file}}}\n"
        f"TELNETCONSOLE_PASSWORD: {{file: {big}}}\n"
        "RETRY_TIMES: {env: NOT_A_NUMBER}\n",
        NOT_A_NUMBER="many",
    )
    messages = [p.split(": ", 2)[2] for p in found.problems]
    assert messages == [
        "environment variable UNSET_VARIABLE_OF_THE_TEST is not set",
        f"secret file {checkout_file} is inside the project's checkout: keep secrets outside it",
        f"secret file {big} is larger than 65536 bytes",
        "expected an integer (from {env: NOT_A_NUMBER})",  # the value is not repeated
    ]


def test_environment_variables_typed_checked_and_the_others_warned_about(tmp_path):
    found = deployment(
        tmp_path,
        None,
        CRAWLER_LOG_LEVEL="LOUD",
        CRAWLER_HOST_BUDGETS="{not json",
        CRAWLER_STORE_URL="sqlite:///x.db",  # a typo
        CRAWLER_DATA_DIR="/d",  # the platform's own, not settings
        CRAWLER_SERVICE_TOKENS="t" * 20,
        CRAWLER_SETTINGS="-s X=1",
    )
    assert found.problems == [
        'environment variable CRAWLER_HOST_BUDGETS: expected a JSON object, e.g. {"NAME": "VALUE"}',
        "environment variable CRAWLER_LOG_LEVEL: must be one of CRITICAL, ERROR, WARNING, INFO, "
        "DEBUG; got 'LOUD'",
    ]
    assert found.warnings == [
        "environment variable CRAWLER_STORE_URL is not a setting "
        "(did you mean 'CRAWLER_STORE_URI'?)"
    ]


def test_variables_settings_name_are_no_settings_of_their_own(tmp_path):
    found = deployment(
        tmp_path,
        "ALERT_CHANNELS: {ops: {type: wecom, url_env: CRAWLER_OPS_WECOM}}\n",
        CRAWLER_OPS_WECOM="https://qyapi.weixin.qq.com/x",
        CRAWLER_SESSION_SECRET="s" * 40,
    )
    assert found.warnings == [] and found.problems == []


def test_the_platforms_own_variables_name_no_setting():
    names = set(catalog().names())
    assert [v for v in NOT_SETTINGS if v.removeprefix(PREFIX) in names] == []


def test_the_example_of_the_documentation_is_a_good_deployment_file(tmp_path):
    doc = (Path(__file__).resolve().parents[3] / "docs" / "configuration.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    found = deployment(
        tmp_path,
        example,
        CRAWLER_MONGO_URI="mongodb://crawler:pw@10.0.0.6:27017/crawler",
        CRAWLER_REDIS_URI="redis://:pw@10.0.0.5:6379/0",
    )
    assert found.problems == [] and found.warnings == []
    assert found.values["STORE_URI"].startswith("mongodb://crawler:pw@")
    assert set(found.values["SIGNIN_PROVIDERS"]) == {"wechat", "gitlab"}
    assert found.values["ALERT_SMTP_PORT"] == 587
