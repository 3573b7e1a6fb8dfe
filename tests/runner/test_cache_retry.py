"""Step cache and retry: what reruns, what is reused, and that reuse starts no kernel."""

from __future__ import annotations

import nbformat

from jupyter_kf.models import RunRequest, RunStatus

CHAIN = [
    ("base = 2", ["step:a"]),
    ("doubled = base * 2", ["step:b"]),
    ("tripled = base * 3", ["step:c"]),
    ("total = doubled + tripled", ["step:d"]),
    ("total", ["pipeline-metrics"]),
]


def statuses(run) -> dict[str, str]:
    return {s.name: s.status.value for s in run.steps}


def test_unchanged_rerun_is_all_cached_without_a_kernel(service, make_notebook, nb_dir, kernel_starts):
    make_notebook(CHAIN, "chain.ipynb", nb_dir)
    first = service.run(RunRequest(notebook="chain.ipynb"))
    assert first.status == RunStatus.succeeded, first.error
    assert len(kernel_starts) >= 4  # one per step (plus, at most, an unused pre-started one)
    kernel_starts.clear()

    again = service.run(RunRequest(notebook="chain.ipynb"))
    assert again.status == RunStatus.succeeded
    assert set(statuses(again).values()) == {"cached"}
    assert all(s.cached_from == first.id for s in again.steps)
    assert kernel_starts == []  # nothing ran, not even a speculative kernel
    assert again.metrics == {"total": 10}
    store = service.store_of(again.id)
    # The reused executed notebooks and values are in the new run's folder.
    assert store.step_notebook_path(again.id, "d").is_file()
    assert (store.values_dir(again.id, "b") / "manifest.json").is_file()

    forced = service.run(RunRequest(notebook="chain.ipynb", cache=False))
    assert set(statuses(forced).values()) == {"succeeded"}
    assert len(kernel_starts) >= 4


def test_no_cache_does_not_read_the_cache_but_records_for_later_runs(service, make_notebook, nb_dir):
    make_notebook(CHAIN, "chain.ipynb", nb_dir)
    forced = service.run(RunRequest(notebook="chain.ipynb", cache=False))
    assert set(statuses(forced).values()) == {"succeeded"}
    again = service.run(RunRequest(notebook="chain.ipynb"))
    assert set(statuses(again).values()) == {"cached"}, statuses(again)
    assert all(s.cached_from == forced.id for s in again.steps)


def test_the_configured_cache_default_applies_to_runs(make_notebook, nb_dir, settings):
    """JUPYTER_KF_CACHE=false / KfConfig.cache=False: a run that does not ask reads no cache; one
    that asks for the cache still gets it."""
    from jupyter_kf.service import PipelineService

    make_notebook(CHAIN, "chain.ipynb", nb_dir)
    service = PipelineService(nb_dir, settings.with_overrides(cache=False))
    try:
        first = service.run(RunRequest(notebook="chain.ipynb"))
        assert first.cache is False and set(statuses(first).values()) == {"succeeded"}
        second = service.run(RunRequest(notebook="chain.ipynb"))
        assert second.cache is False and set(statuses(second).values()) == {"succeeded"}
        asked = service.run(RunRequest(notebook="chain.ipynb", cache=True))
        assert set(statuses(asked).values()) == {"cached"}
    finally:
        service.close()


def test_changed_step_reruns_itself_and_dependents(service, make_notebook, nb_dir):
    path = make_notebook(CHAIN, "chain.ipynb", nb_dir)
    first = service.run(RunRequest(notebook="chain.ipynb"))
    assert first.status == RunStatus.succeeded

    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source = "tripled = base * 30"  # step c
    nbformat.write(nb, path)
    second = service.run(RunRequest(notebook="chain.ipynb"))
    assert statuses(second) == {"a": "cached", "b": "cached", "c": "succeeded", "d": "succeeded"}
    assert second.metrics == {"total": 64}

    (nb_dir / "unrelated.txt").write_text("x")  # the data volume changed: every key covers it
    third = service.run(RunRequest(notebook="chain.ipynb"))
    assert set(statuses(third).values()) == {"succeeded"}


def test_retry_reruns_only_failed_and_downstream(service, make_notebook, nb_dir, monkeypatch):
    make_notebook(
        [
            ("base = 2", ["step:a"]),
            (
                "import os\n"
                "if not os.environ.get('KF_TEST_FIXED'):\n"
                "    raise RuntimeError('not yet')\n"
                "fixed = base + 1",
                ["step:flaky"],
            ),
            ("other = base * 5\nopen('side-file.txt', 'w').write(str(other))", ["step:other"]),
            ("final = fixed + other", ["step:last"]),
        ],
        "retry.ipynb",
        nb_dir,
    )
    monkeypatch.delenv("KF_TEST_FIXED", raising=False)
    failed = service.run(RunRequest(notebook="retry.ipynb"))
    assert failed.status == RunStatus.failed
    assert statuses(failed) == {"a": "succeeded", "flaky": "failed", "other": "succeeded", "last": "skipped"}

    monkeypatch.setenv("KF_TEST_FIXED", "1")  # step kernels inherit this process's environment
    retried = service.wait(service.retry(failed.id).id)
    assert retried.status == RunStatus.succeeded, retried.error
    assert retried.retry_of == failed.id
    assert statuses(retried) == {"a": "cached", "flaky": "succeeded", "other": "cached", "last": "succeeded"}
    assert retried.step("a").cached_from == failed.id and retried.step("other").cached_from == failed.id
    # Files written by the reused steps are in the retry's working folder too.
    work = service.store_of(retried.id).work_dir(retried.id)
    assert (work / "side-file.txt").read_text() == "10"


def test_retry_runs_the_fixed_notebook_and_reuses_only_unchanged_steps(service, make_notebook, nb_dir):
    path = make_notebook(
        [
            ("base = 2", ["step:a"]),
            ("raise RuntimeError('bug')\nfixed = base + 1", ["step:buggy"]),
            ("other = base * 5", ["step:other"]),
            ("final = fixed + other", ["step:last"]),
            ("final", ["pipeline-metrics"]),
        ],
        "fixme.ipynb",
        nb_dir,
    )
    failed = service.run(RunRequest(notebook="fixme.ipynb"))
    assert statuses(failed) == {"a": "succeeded", "buggy": "failed", "other": "succeeded", "last": "skipped"}

    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = "fixed = base + 1"  # the fix
    nb.cells[2].source = "other = base * 6"  # an edit to a step that had succeeded
    nbformat.write(nb, path)
    retried = service.wait(service.retry(failed.id).id)
    assert retried.status == RunStatus.succeeded, retried.error
    assert statuses(retried) == {
        "a": "cached",
        "buggy": "succeeded",
        "other": "succeeded",
        "last": "succeeded",
    }
    assert retried.metrics == {"final": 15}


def test_files_passed_through_prev_edges_survive_caching(service, make_notebook, nb_dir):
    path = make_notebook(
        [
            ("with open('data.txt', 'w') as f:\n    f.write('v1')", ["step:writer"]),
            ("with open('data.txt') as f:\n    content = f.read()", ["step:reader", "prev:writer"]),
            ("content", ["pipeline-metrics"]),
        ],
        "files.ipynb",
        nb_dir,
    )
    first = service.run(RunRequest(notebook="files.ipynb"))
    assert first.status == RunStatus.succeeded, first.error
    assert first.metrics == {"content": "v1"}

    def edit(index: int, source: str) -> None:
        nb = nbformat.read(path, as_version=4)
        nb.cells[index].source = source
        nbformat.write(nb, path)

    edit(1, "with open('data.txt') as f:\n    content = f.read() + '!'")
    second = service.run(RunRequest(notebook="files.ipynb"))
    # The writer is reused from the cache; the file it wrote is back in the new working folder.
    assert statuses(second) == {"writer": "cached", "reader": "succeeded"}, second.error
    assert second.metrics == {"content": "v1!"}

    edit(0, "with open('data.txt', 'w') as f:\n    f.write('v2')")
    third = service.run(RunRequest(notebook="files.ipynb"))
    # The reader's code did not change, but what it reads did: it runs again.
    assert statuses(third) == {"writer": "succeeded", "reader": "succeeded"}
    assert third.metrics == {"content": "v2!"}
    assert not (nb_dir / "data.txt").exists()  # all of it happened in the runs' folders


SET_OF_STRINGS = [
    ("import os", ["imports"]),
    # rerun every time (caching off); what it produces is the same set each time
    (
        "names = {f'name-{i}' for i in range(40)}\nseed = os.environ.get('PYTHONHASHSEED')",
        ["step:make", "cache:disabled"],
    ),
    ("count = len(names)\nprint('seed', seed)", ["step:use"]),
    ("count", ["pipeline-metrics"]),
]


def test_a_set_of_strings_pickles_the_same_in_every_run(service, make_notebook, nb_dir, monkeypatch):
    """Kernels forked from a fork server share its hash seed; a new fork server per run (as each
    `jupyter kf run` process has) must not change how a set of strings pickles."""
    from jupyter_kf.kernels import close_fork_servers

    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    make_notebook(SET_OF_STRINGS, "sets.ipynb", nb_dir)
    close_fork_servers()
    first = service.run(RunRequest(notebook="sets.ipynb"))
    assert first.status == RunStatus.succeeded, first.error
    close_fork_servers()  # the next run's kernels come from a new fork server
    again = service.run(RunRequest(notebook="sets.ipynb"))
    assert statuses(again) == {"make": "succeeded", "use": "cached"}
    assert "seed 0" in service.step_log(first.id, "use")
