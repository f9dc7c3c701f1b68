"""``python -m seeds``: load the demo data into DATABASE_URL (after ``dispatch db upgrade``)."""

from dispatch.config import Settings
from dispatch.db import make_engine, make_session_factory
from seeds import load_demo

if __name__ == "__main__":
    settings = Settings.from_env()
    summary = load_demo(make_session_factory(make_engine(settings.database_url)), settings)
    print("demo data: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
