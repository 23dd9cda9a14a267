"""LeadApp: lead list hygiene for small contact centres."""

from __future__ import annotations

import os

from flask import Flask


def create_app(config_name: str | None = None, environ=None, **overrides) -> Flask:
    """Build the app: configuration, extensions, blueprints, CLI, error handlers.

    Nothing happens at import time; ``environ`` defaults to ``os.environ`` read now.
    Settings come from ``config.load_config`` (the environment overlaid on the defaults),
    then ``overrides``; among them ``DEDUP_SCOPE_LIMIT``, the most leads a dedup job's scope
    may hold (unset: 250,000, ``services.dedup.SCOPE_LIMIT``; ``bench/dedup.py`` raises it)."""
    from config import load_config

    environ = os.environ if environ is None else environ
    app = Flask(
        __name__,
        instance_path=environ.get("LEADAPP_INSTANCE") or None,
        instance_relative_config=True,
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_config(config_name, app.instance_path, environ))
    app.config.update(overrides)

    from leadapp import routing

    routing.init_app(app)  # before any route is added: <int:...> is bounded everywhere

    from leadapp.extensions import (
        csrf,
        db,
        htmx,
        limiter,
        login_manager,
        mail,
        migrate,
        redis_connection,
    )

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "migrations")),
    )
    csrf.init_app(app)
    mail.init_app(app)
    htmx.init_app(app)
    redis_connection.init_app(app)
    limiter.init_app(app)

    from leadapp import auth, errors, models, security, templating  # noqa: F401  (models)

    auth.init_app(app)
    login_manager.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    templating.init_app(app)

    from leadapp.admin.views import bp as admin_bp
    from leadapp.api import dialing as _dial_routes  # noqa: F401  (on api_bp)
    from leadapp.api.tokens import bp as tokens_bp
    from leadapp.api.views import bp as api_bp
    from leadapp.auth.views import bp as auth_bp
    from leadapp.campaigns import dialing as _dialing_pages  # noqa: F401  (campaigns_bp)
    from leadapp.campaigns.views import bp as campaigns_bp
    from leadapp.dedup.views import bp as dedup_bp
    from leadapp.imports.views import bp as imports_bp
    from leadapp.jobs.views import bp as jobs_bp
    from leadapp.leads.views import bp as leads_bp
    from leadapp.pools.views import bp as pools_bp

    for bp in (
        auth_bp,
        pools_bp,
        imports_bp,
        leads_bp,
        campaigns_bp,
        dedup_bp,
        admin_bp,
        jobs_bp,
        api_bp,
        tokens_bp,
    ):
        app.register_blueprint(bp)
    # The API authenticates each request by token, not by a session cookie: no CSRF there.
    csrf.exempt(api_bp)

    from leadapp import cli

    cli.init_app(app)
    from leadapp.services import pool_recount

    pool_recount.init_app(app)
    from leadapp import admission

    admission.init_app(app)  # last: it wraps the whole WSGI app
    return app
