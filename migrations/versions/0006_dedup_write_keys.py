"""Cheaper bulk writes for imports and dedup runs, and tighter account integrity: leads
point at their pool by (account, pool), moves and golden changes at their job by (account,
job) — one foreign-key check per row instead of two, and a row can only belong to a pool or
job of its own account; a move keeps its from-pool id without a foreign key (the audit trail
outlives a deleted pool); indexes on account_id alone dropped where every other index of
the table already starts with it.

Reviewed by hand: the unique (account_id, id) constraints come first (the new foreign keys
need them) and go last; on SQLite the tables are rebuilt with foreign keys off (env.py).
A lead whose account differs from its pool's makes the upgrade fail: that is data to fix.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 07:34:37.659120

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dedup_jobs', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_dedup_jobs_account_id'), ['account_id', 'id'])

    with op.batch_alter_table('lead_pools', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_lead_pools_account_id'), ['account_id', 'id'])

    with op.batch_alter_table('dedup_golden_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dedup_golden_changes_account_id'))
        batch_op.drop_constraint(batch_op.f('fk_dedup_golden_changes_account_id_accounts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_dedup_golden_changes_dedup_job_id_dedup_jobs'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_dedup_golden_changes_account_id_dedup_jobs'), 'dedup_jobs', ['account_id', 'dedup_job_id'], ['account_id', 'id'], ondelete='CASCADE')

    with op.batch_alter_table('dedup_moves', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dedup_moves_account_id'))
        batch_op.drop_constraint(batch_op.f('fk_dedup_moves_dedup_job_id_dedup_jobs'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_dedup_moves_account_id_accounts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_dedup_moves_from_pool_id_lead_pools'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_dedup_moves_account_id_dedup_jobs'), 'dedup_jobs', ['account_id', 'dedup_job_id'], ['account_id', 'id'], ondelete='CASCADE')

    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leads_account_id'))
        batch_op.drop_constraint(batch_op.f('fk_leads_pool_id_lead_pools'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_leads_account_id_accounts'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_leads_account_id_lead_pools'), 'lead_pools', ['account_id', 'pool_id'], ['account_id', 'id'], ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_leads_account_id_lead_pools'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_leads_account_id_accounts'), 'accounts', ['account_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_leads_pool_id_lead_pools'), 'lead_pools', ['pool_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_leads_account_id'), ['account_id'], unique=False)

    # Moves of pools deleted since cannot take their foreign key back.
    op.execute(
        "UPDATE dedup_moves SET from_pool_id = NULL "
        "WHERE from_pool_id IS NOT NULL AND from_pool_id NOT IN (SELECT id FROM lead_pools)"
    )
    with op.batch_alter_table('dedup_moves', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dedup_moves_account_id_dedup_jobs'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_dedup_moves_from_pool_id_lead_pools'), 'lead_pools', ['from_pool_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_dedup_moves_account_id_accounts'), 'accounts', ['account_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_dedup_moves_dedup_job_id_dedup_jobs'), 'dedup_jobs', ['dedup_job_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_dedup_moves_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('dedup_golden_changes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dedup_golden_changes_account_id_dedup_jobs'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_dedup_golden_changes_dedup_job_id_dedup_jobs'), 'dedup_jobs', ['dedup_job_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_dedup_golden_changes_account_id_accounts'), 'accounts', ['account_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_dedup_golden_changes_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('dedup_jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_dedup_jobs_account_id'), type_='unique')

    with op.batch_alter_table('lead_pools', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_lead_pools_account_id'), type_='unique')
