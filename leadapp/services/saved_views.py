"""Saved views of the pool grid: a user's filters, copied, shared with the account or
starred as the default."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from leadapp.domain.names import clean_name
from leadapp.extensions import db
from leadapp.models import (
    SavedView,
    User,
)
from leadapp.services import audit
from leadapp.services.pool_grid import GridFilters
from leadapp.services.pools import NotYours, PoolError

VIEW_NAME_MAX = 120


# ---------------------------------------------------------------------------------------
# Saved views


def _check_view_name(name: str) -> str:
    name = clean_name(name)  # as it will be stored
    if not name:
        raise PoolError("Give the view a name.")
    if len(name) > VIEW_NAME_MAX:
        raise PoolError(f"A view name can have at most {VIEW_NAME_MAX} characters.")
    return name


def visible_views(user: User) -> tuple[list[SavedView], list[SavedView]]:
    """The user's own views, and the views others of the account share."""
    views = db.session.scalars(
        sa.select(SavedView)
        .where(sa.or_(SavedView.user_id == user.id, SavedView.shared.is_(True)))
        .order_by(sa.func.lower(SavedView.name), SavedView.id)
    ).all()
    return [v for v in views if v.user_id == user.id], [v for v in views if v.user_id != user.id]


def users_by_ids(ids: Iterable[int]) -> list[User]:
    ids = list(ids)
    return list(db.session.scalars(sa.select(User).where(User.id.in_(ids)))) if ids else []


def can_see(user: User, view: SavedView) -> bool:
    return view.user_id == user.id or view.shared


def _own(user: User, view: SavedView) -> None:
    if view.user_id != user.id:
        raise NotYours("Only the person who saved this view can change it; copy it instead.")


def default_view(user: User) -> SavedView | None:
    return db.session.scalar(
        sa.select(SavedView).where(SavedView.user_id == user.id, SavedView.starred.is_(True))
    )


def save_view(user: User, name: str, filters: GridFilters) -> SavedView:
    view = SavedView(
        account_id=user.account_id,
        user_id=user.id,
        name=_check_view_name(name),
        filters=filters.to_dict(),
    )
    db.session.add(view)
    db.session.flush()
    audit.record(user.account_id, user.id, "view.saved", view, name=view.name)
    return view


def copy_view(user: User, view: SavedView) -> SavedView:
    if not can_see(user, view):
        raise NotYours("This view is not shared with you.")
    name = f"Copy of {view.name}"[:VIEW_NAME_MAX]
    copy = SavedView(
        account_id=user.account_id, user_id=user.id, name=name, filters=dict(view.filters or {})
    )
    db.session.add(copy)
    db.session.flush()
    audit.record(user.account_id, user.id, "view.copied", copy, source=view.id)
    return copy


def set_shared(user: User, view: SavedView, shared: bool) -> None:
    _own(user, view)
    view.shared = shared
    audit.record(user.account_id, user.id, "view.shared" if shared else "view.unshared", view)
    db.session.flush()


def set_starred(user: User, view: SavedView, starred: bool) -> None:
    """Star one of the user's own views as their default (unstars the others)."""
    _own(user, view)
    if starred:
        db.session.execute(
            sa.update(SavedView)
            .where(SavedView.user_id == user.id, SavedView.id != view.id)
            .values(starred=False)
            .execution_options(synchronize_session="fetch")
        )
    view.starred = starred
    audit.record(user.account_id, user.id, "view.starred" if starred else "view.unstarred", view)
    db.session.flush()


def delete_view(user: User, view: SavedView) -> None:
    _own(user, view)
    audit.record(user.account_id, user.id, "view.deleted", view, name=view.name)
    db.session.delete(view)
    db.session.flush()
