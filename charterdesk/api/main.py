"""The REST API (django-ninja) under /api/v1/, OpenAPI at /api/docs. docs/api.md is the guide."""

from ninja import NinjaAPI

from . import errors, needs, openapi
from .auth import TokenAuth
from .customers import router as customers
from .groups import router as groups
from .people import me_router
from .people import router as people
from .search import router as search
from .tickets import router as tickets


class CharterdeskApi(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """The document django-ninja writes, made exact (openapi.py) for the protocol in force."""
        from charterdesk.library.versions import protocol_of, version_in_force

        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        version = version_in_force()
        return openapi.exact(document, protocol_of(version) if version else None)


api = CharterdeskApi(
    title="Charterdesk API",
    version="1",
    description=(
        "The help desk's REST API. Authenticate with a personal API token "
        "(`Authorization: Bearer <token>`, created at /tokens/). Every endpoint enforces the same "
        "role permissions as the desk's pages, before it reads the request: without a valid token "
        "401, without the permission (`x-permissions` on each operation) 403, whatever the body. "
        "See docs/api.md."
    ),
    urls_namespace="api-v1",
    docs_url="/docs",
    auth=TokenAuth(),
)
errors.install(api)

for prefix, router in (
    ("/v1/tickets", tickets),
    ("/v1/customers", customers),
    ("/v1/groups", groups),
    ("/v1/people", people),
    ("/v1/me", me_router),
    ("/v1/search", search),
):
    # Before add_router: each operation's own auth (token, then permission) must be set when
    # ninja binds the router, or the API's default (the token alone) takes its place.
    needs.guard(router, prefix)
    api.add_router(prefix, router)
needs.check_every_need_is_used()
