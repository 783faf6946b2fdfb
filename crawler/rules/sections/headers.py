"""``headers:``: HTTP headers sent with every request of the rule's crawl (a start's own
``headers:`` add to them for what that start leads to). Values are templated with ``{arg}``,
and ``${NAME}`` takes a secret from the environment, so no key is written in a rule file."""

from __future__ import annotations

from types import MappingProxyType

from crawler.rules.compile_context import BuildContext
from crawler.rules.envvars import env_refs
from crawler.rules.sections import Section
from crawler.rules.yamlpos import Path

HEADERS = {
    "type": "object",
    "description": "HTTP headers for every request of this crawl (pagination and links "
    "included); {arg} takes a rule argument, ${NAME} an environment variable.",
    "propertyNames": {"pattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"},
    "additionalProperties": {"type": "string"},
}


def check_header_values(ctx: BuildContext, headers: dict, path: Path) -> None:
    """Templates must use declared arguments; ``${NAME}`` must be set (a warning here: the
    crawl refuses to start without it)."""
    for name, value in headers.items():
        ctx.check_template(value, path + (name,))
        for var in env_refs(value):
            if var not in ctx.env.environ:
                ctx.warning(path + (name,), f"environment variable {var} is not set")


def build(ctx: BuildContext) -> MappingProxyType:
    headers = ctx.data.get("headers")
    if not isinstance(headers, dict) or ctx.broken(("headers",)):
        return MappingProxyType({})
    check_header_values(ctx, headers, ("headers",))
    return MappingProxyType(dict(headers))


SECTION = Section(
    name="headers",
    order=15,
    properties={"headers": {"$ref": "#/$defs/headers"}},
    defs={"headers": HEADERS},
    build=build,
)
