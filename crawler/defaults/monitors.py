"""Monitors and alerts (crawler/monitors; a rule's ``monitors:`` section; docs/service.md).

A rule's ``monitors:`` section sets ``MONITORS_RULES`` and ``MONITORS_INTERVAL``; the alerts
are the project's: ``MONITORS_ALERTS`` names the actions to run when a monitor fails, each
configured below, its secrets read from the environment variables named here (never from a
setting's value, so they stay out of settings dumps, logs and run records).
"""

from vocab.datadir import data_dir

MONITORS_RULES: dict = {}  # the checks (set by a rule's monitors: section); empty: off
MONITORS_INTERVAL = 0.0  # seconds between checks during a crawl; 0: at its end only
# A crawl with no new page or item for this long is stalled (set by monitors: stall:); 0: off.
MONITORS_STALL_AFTER = 0.0
MONITORS_STALL_STOP = False  # a stalled crawl is stopped (status stalled, exit 9)
# How the crawl may end (Spidermon's FinishReasonMonitor reads this).
SPIDERMON_EXPECTED_FINISH_REASONS = ["finished"]
# Alerts sent when a monitor fails: any of webhook, wecom, dingtalk, feishu, email.
MONITORS_ALERTS: list[str] = []
# Alert name -> Spidermon action class (add your own here, as STORE_BACKENDS).
MONITORS_ALERT_ACTIONS = {
    "webhook": "crawler.monitors.alerts.WebhookAlert",
    "wecom": "crawler.monitors.alerts.WeComAlert",
    "dingtalk": "crawler.monitors.alerts.DingTalkAlert",
    "feishu": "crawler.monitors.alerts.FeishuAlert",
    "email": "crawler.monitors.email.EmailAlert",
}
ALERT_TIMEOUT = 10.0  # seconds one alert may take to deliver
# More channels than the built-in ones (each alert type is a channel of its own name):
# name -> {"type": "wecom", "url_env": "OPS_WECOM_URL", "secret_env": ..., "to": [emails],
# "quiet_hours": "22:00-08:00"}; they name environment variables, never values.
ALERT_CHANNELS: dict = {}
# Routes: [{"match": {"rule": "gov_*", "tag": "gov", "table": "gov_sites"}, "to": ["ops"]}].
ALERT_ROUTES: list = []
# Channels and routes an admin adds in the dashboard: YAML, outside the repository (mode 0600).
ALERTS_FILE = str(data_dir / "alerts.yaml")
# The desk's state (failing checks, alerts held in quiet hours), shared by the machine's processes.
ALERTS_STATE = str(data_dir / "alerts.sqlite")
ALERT_DEDUP_WINDOW = 3600.0  # seconds: a check that keeps failing is alerted once per window
ALERT_QUIET_HOURS = ""  # "22:00-08:00": alerts held, one digest per channel after
ALERT_TIMEZONE = ""  # of the quiet hours (an IANA name); "": the machine's
ALERT_MAX_HELD = 500  # alerts held per channel at most (the oldest dropped, logged)
# A scheduled run not started this long after it was due, or still running this long past its
# timeout (else the next fire time), is alerted by the data service (checks schedule_start/_end).
ALERT_SCHEDULE_GRACE = 600.0
ALERT_FLUSH_INTERVAL = 60.0  # seconds between digests checks of the data service and scheduler
# Generic JSON webhook: the URL (from this environment variable) and an optional HMAC secret
# (X-Signature: sha256=<hex of HMAC-SHA256 of the body>).
ALERT_WEBHOOK_URL_ENV = "ALERT_WEBHOOK_URL"
ALERT_WEBHOOK_SECRET_ENV = "ALERT_WEBHOOK_SECRET"
# Group robots: the webhook URL (its key or token is the secret) and the signing secret.
ALERT_WECOM_URL_ENV = "ALERT_WECOM_URL"
ALERT_DINGTALK_URL_ENV = "ALERT_DINGTALK_URL"
ALERT_DINGTALK_SECRET_ENV = "ALERT_DINGTALK_SECRET"  # set: DingTalk's signed mode
ALERT_FEISHU_URL_ENV = "ALERT_FEISHU_URL"
ALERT_FEISHU_SECRET_ENV = "ALERT_FEISHU_SECRET"  # set: Feishu's signature check
# Email over SMTP.
ALERT_SMTP_HOST = "127.0.0.1"
ALERT_SMTP_PORT = 25
ALERT_SMTP_USER = None
ALERT_SMTP_PASSWORD_ENV = "ALERT_SMTP_PASSWORD"
ALERT_SMTP_STARTTLS = False
ALERT_SMTP_SSL = False
ALERT_EMAIL_FROM = "crawler@localhost"
ALERT_EMAIL_TO: list[str] = []

kinds = {"ALERT_SMTP_USER": "str", "MONITORS_RULES": "dict"}
choices: dict = {}
minimums = {
    "MONITORS_INTERVAL": 0,
    "MONITORS_STALL_AFTER": 0,
    "ALERT_TIMEOUT": 0.1,
    "ALERT_SMTP_PORT": 1,
    "ALERT_DEDUP_WINDOW": 0,
    "ALERT_MAX_HELD": 1,
    "ALERT_FLUSH_INTERVAL": 1,
    "ALERT_SCHEDULE_GRACE": 0,
}
