"""A property-based fuzz of the planner's JSON API from its own OpenAPI schema.

schemathesis generates requests for every operation (valid and invalid bodies, paths and
queries) and sends them to the application in-process; no answer may be a 500, and every
answer must be one the schema documents (status code, content type, body shape). The run is
bounded (a fixed number of examples per operation, derandomised) so it takes well under a
minute and fails the same way every time.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import Future
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mediamix.app.server import create_app
from mediamix.app.store import Store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EXAMPLES_PER_OPERATION = 10
RESPONSES = [
    {"name": "tv", "family": "log1p", "params": {"a": 20.0}, "reference_spend": 50.0},
    {"name": "search", "family": "log1p", "params": {"a": 10.0}, "reference_spend": 50.0},
]


class NoJobs:
    """An executor that never runs a fit: uploads the fuzz gets right stay queued."""

    def submit(self, *_args, **_kwargs) -> Future:
        return Future()

    def shutdown(self, *_args, **_kwargs) -> None:
        pass


def _app():
    home = Path(tempfile.mkdtemp(prefix="mediamix-fuzz-"))
    store = Store(f"sqlite:///{home / 'store.db'}", home / "home")
    run = store.create_run("fuzz", status="done", responses=RESPONSES)
    store.save_scenario(
        run.id,
        "plan",
        problem={"budget": 100.0, "channels": [{"name": "tv"}, {"name": "search"}]},
        plan={"kpi": 1.0, "allocation": {"tv": 60.0, "search": 40.0}},
    )
    return create_app(store, executor=NoJobs(), max_upload_bytes=64 * 1024)


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_500_or_an_undocumented_answer(case) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
