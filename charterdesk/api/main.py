"""The REST API (django-ninja) under /api/v1/, OpenAPI at /api/docs."""

from ninja import NinjaAPI

api = NinjaAPI(title="Charterdesk API", version="1", urls_namespace="api-v1", docs_url="/docs")
