"""Alembic is the only way the schema is made; models and migrations never drift; seeds are idempotent."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from dispatch import migrate
from dispatch.db import make_engine, make_session_factory
from dispatch.models import metadata
from seeds import load_demo
from tests.conftest import fresh_database_url


def test_migrations_create_every_table_on_an_empty_database_and_match_the_models(tmp_path):
    url = fresh_database_url("migrations", tmp_path)
    engine = make_engine(url)
    try:
        migrate.upgrade(url)
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
        assert diff == [], f"models and migrations drifted apart: {diff}"
        migrate.downgrade(url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_loading_the_demo_data_twice_changes_nothing(tmp_path, base_settings):
    url = fresh_database_url("seeds", tmp_path)
    engine = make_engine(url)
    try:
        migrate.upgrade(url)
        factory = make_session_factory(engine)
        first = load_demo(factory, base_settings)
        assert first["users"] >= 40 and first["service_points"] == 7 and first["regions"] == 17

        def counts():
            with factory() as session:
                return {name: session.scalar(select(func.count()).select_from(table))
                        for name, table in metadata.tables.items()}

        before = counts()
        second = load_demo(factory, base_settings)
        assert second == {}
        assert counts() == before
    finally:
        engine.dispose()


def test_the_revisions_form_one_line_after_the_merge_of_the_domain_branches():
    """One head, and every revision after 0060 has exactly one parent: a new revision always
    extends the current head, so two revisions cannot both claim to follow the same one."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert scripts.get_heads() == [scripts.get_current_head()]
    after_merge = [r for r in scripts.walk_revisions() if r.revision > "0060"]
    assert all(isinstance(r.down_revision, str) for r in after_merge)
    parents = [r.down_revision for r in after_merge]
    assert len(parents) == len(set(parents)), "two revisions extend the same parent"


def test_the_operator_steps_the_schema_back_and_forward_with_the_dispatch_command(tmp_path, base_settings):
    """``dispatch db downgrade`` asks first, steps back one revision, and ``db upgrade`` returns
    to the head; ``db current`` says where the database is."""
    from dataclasses import replace

    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from dispatch.app import create_app
    from dispatch.cli import main

    url = fresh_database_url("cli_downgrade", tmp_path)
    app = create_app(replace(base_settings, database_url=url))
    info = ScriptInfo(create_app=lambda: app)

    def run(*args, answer=None):
        result = CliRunner().invoke(main, ["db", *args], obj=info, input=answer)
        return result.exit_code, result.output

    head = migrate.head()
    assert run("downgrade", "--yes")[0] != 0  # no schema yet: nothing to step back from
    code, output = run("upgrade")
    assert code == 0 and output.startswith("schema at head on "), output
    assert run("current")[1].strip() == f"{head} (head {head}, up to date)"
    code, output = run("downgrade", answer="n\n")
    assert code != 0 and "Aborted" in output and migrate.current(url) == head
    code, output = run("downgrade", answer="y\n")
    assert code == 0, output
    previous = migrate.current(url)
    assert previous and previous != head and f"(was {head})" in output
    assert run("current")[1].strip() == f"{previous} (head {head})"
    assert run("upgrade")[0] == 0 and migrate.current(url) == head
    code, output = run("downgrade", "--revision", "base", "--yes")
    assert code == 0 and migrate.current(url) is None, output
