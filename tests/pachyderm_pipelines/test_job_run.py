"""One MLflow run per Pachyderm job: the election of the job's run by racing datums, the datum
states and the status they give the run, against the tests' real MLflow tracking server."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlflow import MlflowClient
from mlflow.entities import ViewType

from fraud_detection.tracking.pachyderm_job_run import (
    FAILED,
    FINISHED,
    RUNNING,
    JobRunError,
    PachydermJob,
    datum_tag,
    elect_job_run,
    end_datum,
    job_status,
    settle_status,
    start_datum,
)
from fraud_detection.tracking.stale_runs import PID, end_stale_runs

pytestmark = pytest.mark.integration


@pytest.fixture
def store(mlflow_server):
    """A client of the real server and an experiment of this test's own."""
    client = MlflowClient(mlflow_server.url)
    return client, client.create_experiment(f"job-runs-{uuid.uuid4().hex}")


def _job() -> PachydermJob:
    return PachydermJob(uuid.uuid4().hex, "aggregate", uuid.uuid4().hex)


def _runs(client, experiment, job, view=ViewType.ACTIVE_ONLY):
    return client.search_runs([experiment], job.search, run_view_type=view)


def test_two_racers_creating_at_once_agree_on_one_run_and_the_loser_deletes_its_own(store):
    client, experiment = store
    job, start = _job(), threading.Barrier(2)
    chosen: list[str] = []

    def racer() -> None:
        own = MlflowClient(client.tracking_uri)  # each worker has its own client
        start.wait()
        chosen.append(elect_job_run(own, experiment, job, settle=0.5))

    threads = [threading.Thread(target=racer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [active] = _runs(client, experiment, job)
    assert chosen == [active.info.run_id] * 2
    assert active.data.tags["pachyderm.job_id"] == job.job_id
    assert active.data.tags["pachyderm.output_commit"] == job.output_commit
    assert active.info.run_name == f"aggregate@{job.job_id}"
    created = _runs(client, experiment, job, ViewType.ALL)
    assert len(created) in (1, 2)  # 2: both created, and the later one deleted its own
    assert {r.info.lifecycle_stage for r in created} - {"active"} <= {"deleted"}


def test_a_racer_whose_older_run_lands_late_wins_and_the_newer_run_is_deleted(store):
    """The interleaving searches alone cannot decide: racer A searched and found nothing,
    created its run; racer B's run, started a moment earlier, reaches the store only while
    A waits. A's deciding search comes after the settle time and picks B's older run."""
    client, experiment = store
    job, now = _job(), time.time()
    late: list[str] = []

    def wait(seconds: float) -> None:  # while A waits, B's create arrives
        assert 0 < seconds <= 2.0
        late.append(client.create_run(experiment, start_time=int(now * 1000) - 1,
                                      tags=job.tags).info.run_id)

    winner = elect_job_run(client, experiment, job, clock=lambda: now, sleep=wait)
    assert [winner] == late
    [active] = _runs(client, experiment, job)
    assert active.info.run_id == winner
    [deleted] = _runs(client, experiment, job, ViewType.DELETED_ONLY)
    assert deleted.info.run_id != winner


def test_a_later_datum_resumes_the_job_run_instead_of_making_one(store):
    client, experiment = store
    job = _job()
    first = elect_job_run(client, experiment, job, settle=0.0)
    slept: list[float] = []
    assert elect_job_run(client, experiment, job, sleep=slept.append) == first
    assert slept == [] or max(slept) <= 2.0
    assert len(_runs(client, experiment, job, ViewType.ALL)) == 1


def test_the_run_is_running_while_a_datum_runs_failed_if_one_failed_else_finished(store):
    client, experiment = store
    run = elect_job_run(client, experiment, _job(), settle=0.0)
    start_datum(client, run, "a", "split@c0ffee:/shards/shard=0")
    start_datum(client, run, "b", "split@c0ffee:/shards/shard=1")
    assert end_datum(client, run, "a", FINISHED) == RUNNING  # b still runs elsewhere
    assert client.get_run(run).info.status == RUNNING
    assert end_datum(client, run, "b", FAILED, "ValueError: bad shard") == FAILED
    tags = client.get_run(run).data.tags
    assert tags[datum_tag("a")] == FINISHED and tags[datum_tag("b")] == FAILED
    assert tags[f"{datum_tag('b')}.error"] == "ValueError: bad shard"
    assert tags[f"{datum_tag('a')}.input"] == "split@c0ffee:/shards/shard=0"
    assert client.get_run(run).info.status == FAILED
    # pachd retries the failed datum (datumTries): once it succeeds, the job succeeded
    start_datum(client, run, "b", "split@c0ffee:/shards/shard=1")
    assert client.get_run(run).data.tags[datum_tag("b")] == RUNNING
    assert end_datum(client, run, "b", FINISHED) == FINISHED
    assert client.get_run(run).info.status == FINISHED


def _two_running_datums(client, experiment) -> str:
    """A job's run with datums a and b running."""
    run = elect_job_run(client, experiment, _job(), settle=0.0)
    start_datum(client, run, "a", None)
    start_datum(client, run, "b", None)
    return run


def test_a_finished_datum_ending_after_a_failed_one_cannot_hide_it(store):
    """The MLflow hook of the finishing datum wrote FINISHED last; settling restores FAILED."""
    client, experiment = store
    run = _two_running_datums(client, experiment)
    end_datum(client, run, "b", FAILED)
    client.set_terminated(run, FINISHED)  # what datum a's MLflow hook does when a ends
    assert end_datum(client, run, "a", FINISHED) == FAILED
    assert client.get_run(run).info.status == FAILED


def test_the_stale_run_check_never_ends_a_job_run_between_datums(store):
    client, experiment = store
    run = _two_running_datums(client, experiment)
    # datum a's process names itself while it runs: the check sees a live process
    assert end_stale_runs(client, [experiment]) == []
    # a ended (its process is gone), b runs on another worker: nothing left to judge
    end_datum(client, run, "a", FINISHED)
    assert PID not in client.get_run(run).data.tags
    assert end_stale_runs(client, [experiment]) == []
    assert client.get_run(run).info.status == RUNNING


def test_settling_an_unchanged_run_writes_once(store):
    client, experiment = store
    run = elect_job_run(client, experiment, _job(), settle=0.0)
    start_datum(client, run, "a", None)
    client.set_tag(run, datum_tag("a"), FINISHED)
    assert settle_status(client, run) == FINISHED == client.get_run(run).info.status


_STATES = st.sampled_from([RUNNING, FINISHED, FAILED])


@given(st.dictionaries(st.text("0123456789abcdef", min_size=1, max_size=64), _STATES),
       st.dictionaries(st.sampled_from(["pachyderm.job_id", "kedro.pid", "error"]),
                       st.sampled_from([RUNNING, FAILED, "x"])))
def test_the_status_is_failed_if_any_datum_failed_else_running_while_any_runs(states, other):
    tags = {**other, **{datum_tag(d): s for d, s in states.items()},
            **{f"{datum_tag(d)}.input": FAILED for d in states}}  # inputs never count
    expected = (FAILED if FAILED in states.values()
                else RUNNING if RUNNING in states.values() else FINISHED)
    assert job_status(tags) == expected


@given(st.text(min_size=0, max_size=20).filter(
    lambda s: not s or any(not (c.isascii() and (c.isalnum() or c in "-_")) for c in s)))
def test_a_job_or_pipeline_id_that_could_break_the_search_is_refused(bad):
    with pytest.raises(JobRunError, match="PACH_JOB_ID"):
        PachydermJob(bad, "aggregate")
    with pytest.raises(JobRunError, match="PPS_PIPELINE_NAME"):
        PachydermJob("0" * 32, bad)
