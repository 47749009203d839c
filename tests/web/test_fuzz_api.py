"""Schemathesis over /api/v1/openapi.json: generated requests for every operation, against the
real app and models. Bounded (FF_FUZZ_EXAMPLES per operation, default 30, as in the probe that found the 5xx of issue 12) so it stays quick.

Checks: no 5xx, every status code and content type documented, every response body valid
against its schema. Requests carry the token header (as a script would); the guard itself is
tested in test_security.py.
"""
from __future__ import annotations

import os

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="needs schemathesis (pip install -e '.[test]')")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.specs.openapi import checks as oa_checks  # noqa: E402

from schemathesis import checks as core_checks  # noqa: E402

EXAMPLES = int(os.environ.get("FF_FUZZ_EXAMPLES", "30"))


@pytest.fixture(scope="module")
def fuzz_app(web_analyzer, tmp_path_factory):
    from facial_feedback.web import create_app

    app = create_app({"TESTING": True, "ANALYZER": web_analyzer, "JOB_WORKERS": 1},
                     instance_path=str(tmp_path_factory.mktemp("fuzz-instance")))
    yield app
    app.extensions["facial_feedback"].jobs.shutdown()


CHECKS = [core_checks.not_a_server_error, oa_checks.status_code_conformance,
          oa_checks.content_type_conformance, oa_checks.response_schema_conformance]


def test_no_5xx_and_no_schema_violation(fuzz_app):
    from hypothesis import given

    from facial_feedback.web.guard import TOKEN_HEADER

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    headers = {TOKEN_HEADER: fuzz_app.config["_FF_TOKEN"]}
    failures, ran = [], []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            resp = case.call_and_validate(headers=headers, checks=CHECKS)
            ran.append((operation.label, resp.status_code))

        try:
            run()
        except Exception as e:  # hypothesis re-raises the smallest failing case
            failures.append(f"{operation.label}: {str(e)[:1500]}")
    import collections

    print(collections.Counter(ran))
    assert len({label for label, _ in ran}) >= 19, sorted(set(ran))
    assert not failures, "\n\n".join(failures)
