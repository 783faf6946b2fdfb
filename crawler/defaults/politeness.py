"""One politeness budget per host, shared by every crawl that uses it (crawler/politeness/;
docs/templates.md#one-budget-per-host)."""

# Requests per second to any one host, and requests in flight to it at once, across every crawl
# sharing the budget (0: no limit). A rule may set both for the hosts it crawls.
HOST_RATE = 0.0
HOST_CONCURRENCY = 0
# Hosts with a budget of their own: {"www.example.gov.cn": {"rate": 1, "concurrency": 1}}.
HOST_BUDGETS: dict[str, dict[str, float]] = {}
# The Redis every process shares the budget through; empty: a distributed crawl's REDIS_URL,
# else the budget is kept in the crawl's own process (shared by the crawls of one process).
HOST_BUDGET_REDIS_URL = ""
HOST_BUDGET_REDIS_PREFIX = "crawler:budget:"
# Answers that pause their host for everyone: Retry-After's time when it gives one (at most
# HOST_BUDGET_SLOW_MAX seconds), else HOST_BUDGET_SLOW_SECONDS; a ban does too.
HOST_BUDGET_SLOW_STATUSES = [429, 503]
HOST_BUDGET_SLOW_SECONDS = 30.0
HOST_BUDGET_SLOW_MAX = 600.0

rule_safe = {"HOST_RATE", "HOST_CONCURRENCY"}
minimums = {
    "HOST_RATE": 0,
    "HOST_CONCURRENCY": 0,
    "HOST_BUDGET_SLOW_SECONDS": 0,
    "HOST_BUDGET_SLOW_MAX": 0,
}
