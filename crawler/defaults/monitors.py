"""Monitors and alerts (crawler/monitors; a rule's ``monitors:`` section; docs/service.md).

A rule's ``monitors:`` section sets ``MONITORS_RULES`` and ``MONITORS_INTERVAL``; the alerts
are the project's: ``MONITORS_ALERTS`` names the actions to run when a monitor fails, each
configured below, its secrets read from the environment variables named here (never from a
setting's value, so they stay out of settings dumps, logs and run records).
"""

MONITORS_RULES: dict = {}  # the checks (set by a rule's monitors: section); empty: off
MONITORS_INTERVAL = 0.0  # seconds between checks during a crawl; 0: at its end only
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
minimums = {"MONITORS_INTERVAL": 0, "ALERT_TIMEOUT": 0.1, "ALERT_SMTP_PORT": 1}
