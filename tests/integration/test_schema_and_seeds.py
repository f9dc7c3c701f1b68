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
